import type { RequestHandler } from 'express';
import { AppError } from '../errors';
import type { AuthService } from '../users/auth.service';
import type { Principal } from '../users/principal';
import type { Role } from '../users/user.entity';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
      sessionToken?: string;
    }
  }
}

export const SESSION_COOKIE = 'calltrack_session';

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Resolves the principal from `Authorization: Bearer …` or the session cookie; never rejects. */
export function authenticate(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      req.principal = (await auth.fromApiToken(header.slice(7).trim())) ?? undefined;
      if (!req.principal) return next(new AppError('unauthenticated', 'Invalid or revoked API token'));
      return next();
    }
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token) {
      req.sessionToken = token;
      req.principal = (await auth.fromSession(token)) ?? undefined;
    }
    next();
  };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Cookie-authenticated writes need no CSRF token: the cookie is SameSite=Lax, bodies are JSON only
 * (a cross-site form cannot send application/json without a CORS preflight, which we never allow),
 * and a present Origin header must be our own host.
 */
export const sameOriginWrites: RequestHandler = (req, _res, next) => {
  if (!UNSAFE.has(req.method) || req.principal?.via !== 'session') return next();
  const origin = req.headers.origin;
  if (origin) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== req.headers.host) return next(new AppError('forbidden', 'Cross-origin request refused'));
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > 0 && !req.is('application/json')) {
    return next(new AppError('validation', 'Request bodies must be JSON (Content-Type: application/json)'));
  }
  next();
};

export const requireAuth: RequestHandler = (req, _res, next) =>
  next(req.principal ? undefined : new AppError('unauthenticated', 'Log in first'));

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) return next(new AppError('unauthenticated', 'Log in first'));
    if (!roles.includes(req.principal.role)) return next(new AppError('forbidden', `Only ${roles.join(' or ')} may do this`));
    next();
  };
}

/** The principal of an authenticated route (requireAuth ran before). */
export function principal(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new AppError('unauthenticated', 'Log in first');
  return req.principal;
}
