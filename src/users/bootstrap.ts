import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';
import type { UsersService } from './users.service';

export const FIRST_ADMIN_EMAIL = 'admin@calltrack.local';

/**
 * On an empty database: creates the first admin with a random password and prints it once —
 * the only secret calltrack ever logs. Returns the password (tests and the demo use it).
 */
export async function ensureFirstAdmin(users: UsersService, logger: Logger): Promise<string | null> {
  if ((await users.count()) > 0) return null;
  const password = crypto.randomBytes(12).toString('base64url');
  await users.create(null, { email: FIRST_ADMIN_EMAIL, name: 'Administrator', password, role: 'admin', locale: 'uk' });
  logger.warn(
    { email: FIRST_ADMIN_EMAIL, oneTimePassword: password },
    'FIRST START: created the admin account. Log in with this one-time password and change it (PATCH /api/users/:id or the Users page). It is not shown again.',
  );
  return password;
}

/** SESSION_SECRET from env, else one generated once and kept in DATA_DIR (mode 600). */
export function resolveSessionSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'session-secret');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = crypto.randomBytes(48).toString('base64url');
  fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
