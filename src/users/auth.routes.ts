import { Router, type CookieOptions } from 'express';
import { principal, requireAuth, SESSION_COOKIE } from '../http/auth.middleware';
import { parse } from '../http/validate';
import type { AuthService } from './auth.service';
import { loginBody, updateMeBody } from './users.dto';
import type { UsersService } from './users.service';

export function authRoutes(deps: { auth: AuthService; users: UsersService }): Router {
  const { auth, users } = deps;
  const router = Router();
  const cookie = (secure: boolean, expires?: Date): CookieOptions => ({
    httpOnly: true,
    sameSite: 'lax',
    secure, // only behind HTTPS (req.secure honours TRUST_PROXY)
    path: '/',
    ...(expires && { expires }),
  });

  router.post('/api/auth/login', async (req, res) => {
    const body = parse(loginBody, req.body, 'body');
    const {
      token,
      expiresAt,
      principal: p,
    } = await auth.login(body.email, body.password, req.ip ?? 'unknown', req.get('user-agent') ?? null);
    res.cookie(SESSION_COOKIE, token, cookie(req.secure, expiresAt));
    res.json({ user: await users.get(p.userId) });
  });

  router.post('/api/auth/logout', async (req, res) => {
    if (req.sessionToken) await auth.logout(req.sessionToken);
    res.clearCookie(SESSION_COOKIE, cookie(req.secure));
    res.status(204).end();
  });

  router.get('/api/me', requireAuth, async (req, res) => {
    res.json({ user: await users.get(principal(req).userId), via: principal(req).via });
  });

  router.patch('/api/me', requireAuth, async (req, res) => {
    res.json({ user: await users.updateMe(principal(req), parse(updateMeBody, req.body, 'body')) });
  });

  return router;
}
