import type { Locale, Role } from './user.entity';

/** Who is asking: the authenticated user behind a session cookie or an API token. */
export interface Principal {
  userId: string;
  role: Role;
  email: string;
  name: string;
  locale: Locale;
  via: 'session' | 'token';
}

export const seesEverything = (p: Principal) => p.role === 'admin' || p.role === 'supervisor';
