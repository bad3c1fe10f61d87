import crypto from 'node:crypto';
// the memory limiter alone: the package's index loads every store adapter (~9 MiB of RSS)
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory';
import { IsNull, MoreThan, type DataSource } from 'typeorm';
import type { AuditService } from '../audit/audit.service';
import { AppError, notFound } from '../errors';
import { ApiToken } from './api-token.entity';
import { DUMMY_HASH, verifyPassword } from './password';
import type { CredentialEvents } from './credential-events';
import type { Principal } from './principal';
import { Session } from './session.entity';
import { User } from './user.entity';

export type AuthService = ReturnType<typeof createAuthService>;

const SESSION_DAYS = 14;
const FAILURES_PER_ACCOUNT_AND_IP = 5;
const FAILURES_PER_IP = 30;
const BLOCK_SECONDS = 15 * 60;
const LAST_USED_RESOLUTION_MS = 60_000;

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const toPrincipal = (u: User, via: Principal['via']): Principal => ({
  userId: u.id,
  role: u.role,
  email: u.email,
  name: u.name,
  locale: u.locale,
  via,
});

export function createAuthService(deps: {
  ds: DataSource;
  sessionSecret: string;
  audit: AuditService;
  credentials?: Pick<CredentialEvents, 'changed'>;
}) {
  const { ds, sessionSecret, audit, credentials } = deps;
  const hmac = (token: string) => crypto.createHmac('sha256', sessionSecret).update(token).digest('hex');
  const byAccountAndIp = new RateLimiterMemory({
    points: FAILURES_PER_ACCOUNT_AND_IP,
    duration: BLOCK_SECONDS,
    blockDuration: BLOCK_SECONDS,
  });
  const byIp = new RateLimiterMemory({ points: FAILURES_PER_IP, duration: 3600, blockDuration: BLOCK_SECONDS });

  async function blockedFor(key: string, limiter: RateLimiterMemory, points: number): Promise<number> {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= points ? Math.ceil(res.msBeforeNext / 1000) : 0;
  }

  return {
    /** Verifies credentials; returns a new session token (the cookie value) and the principal. */
    async login(emailInput: string, password: string, ip: string, userAgent: string | null) {
      const email = emailInput.trim().toLowerCase();
      const accountKey = `${email}|${ip}`;
      const wait = Math.max(
        await blockedFor(accountKey, byAccountAndIp, FAILURES_PER_ACCOUNT_AND_IP),
        await blockedFor(ip, byIp, FAILURES_PER_IP),
      );
      if (wait > 0) {
        throw new AppError('rate-limited', `Too many failed logins; try again in ${wait} s`, { retryAfterSeconds: wait });
      }
      const user = await ds.getRepository(User).findOneBy({ email });
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok || !user.active) {
        await Promise.all([byAccountAndIp.penalty(accountKey, 1), byIp.penalty(ip, 1)]);
        await audit.record(null, 'auth.login-failed', 'user', user?.id ?? null, { email }, ip);
        throw new AppError('unauthenticated', 'Wrong email or password');
      }
      await byAccountAndIp.delete(accountKey);
      const token = crypto.randomBytes(32).toString('base64url');
      const expiresAt = new Date(Date.now() + SESSION_DAYS * 86400_000);
      await ds.getRepository(Session).insert({ tokenHash: hmac(token), userId: user.id, expiresAt, ip, userAgent });
      const principal = toPrincipal(user, 'session');
      await audit.record(principal, 'auth.login', 'user', user.id, {}, ip);
      return { token, expiresAt, principal };
    },

    async logout(token: string): Promise<void> {
      const [ended] = (await ds.query(`DELETE FROM sessions WHERE token_hash = $1 RETURNING user_id`, [hmac(token)])) as [
        { user_id: string }[],
        number,
      ];
      for (const row of ended) credentials?.changed(row.user_id);
    },

    async fromSession(token: string): Promise<Principal | null> {
      const session = await ds.getRepository(Session).findOneBy({ tokenHash: hmac(token), expiresAt: MoreThan(new Date()) });
      if (!session) return null;
      const user = await ds.getRepository(User).findOneBy({ id: session.userId, active: true });
      return user ? toPrincipal(user, 'session') : null;
    },

    async fromApiToken(token: string): Promise<Principal | null> {
      const repo = ds.getRepository(ApiToken);
      const row = await repo.findOneBy({ tokenHash: sha256(token), revokedAt: IsNull() });
      if (!row) return null;
      const user = await ds.getRepository(User).findOneBy({ id: row.userId, active: true });
      if (!user) return null;
      // last use to the minute: one write per token and minute, not one per request (concurrent
      // requests with one token would queue on its row lock)
      const now = Date.now();
      if (!row.lastUsedAt || now - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
        await repo.update({ id: row.id }, { lastUsedAt: new Date(now) });
      }
      return toPrincipal(user, 'token');
    },

    /** A new bearer token, shown once. It acts as `userId` (default: its creator). */
    async createApiToken(actor: Principal, name: string, userId?: string) {
      const owner = userId ?? actor.userId;
      if (!(await ds.getRepository(User).existsBy({ id: owner }))) throw notFound('User');
      const token = `ct_${crypto.randomBytes(32).toString('base64url')}`;
      const row = await ds.getRepository(ApiToken).save({ name, tokenHash: sha256(token), userId: owner, createdBy: actor.userId });
      await audit.record(actor, 'token.create', 'api_token', row.id, { name, userId: owner });
      return { id: row.id, name, userId: owner, token, createdAt: row.createdAt.toISOString() };
    },

    async listApiTokens() {
      const rows = await ds.getRepository(ApiToken).find({ order: { createdAt: 'DESC' } });
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        userId: r.userId,
        createdAt: r.createdAt.toISOString(),
        lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
        revokedAt: r.revokedAt?.toISOString() ?? null,
      }));
    },

    async revokeApiToken(actor: Principal, id: string): Promise<void> {
      const [revoked] = (await ds.query(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING user_id`, [
        id,
      ])) as [{ user_id: string }[], number];
      if (!revoked.length) throw notFound('API token');
      credentials?.changed(revoked[0]!.user_id);
      await audit.record(actor, 'token.revoke', 'api_token', id);
    },
  };
}
