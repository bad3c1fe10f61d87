import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, assertUnreachable, type ErrorCode } from '../errors';
import type { Logger } from '../logger';

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'validation':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not-found':
      return 404;
    case 'conflict':
      return 409;
    case 'rate-limited':
      return 429;
    case 'unavailable':
      return 503;
    default:
      return assertUnreachable(code);
  }
}

export const notFoundRoute: RequestHandler = (req, _res, next) => {
  // originalUrl: under app.use('/api', …) req.path has lost its mount prefix
  next(new AppError('not-found', `No route ${req.method} ${req.originalUrl.split('?')[0]}`));
};

/** The one place an error becomes an HTTP answer: `{ error: { code, message, details? } }`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof AppError) {
      if (err.code === 'rate-limited' && typeof err.details === 'object' && err.details && 'retryAfterSeconds' in err.details) {
        res.setHeader('Retry-After', String((err.details as { retryAfterSeconds: number }).retryAfterSeconds));
      }
      res.status(statusOf(err.code)).json({ error: { code: err.code, message: err.message, details: err.details } });
      return;
    }
    // body-parser: malformed JSON, too large, wrong charset
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'validation', message: `Malformed JSON body: ${e.message}` } });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: { code: 'validation', message: e.message ?? 'Bad request' } });
      return;
    }
    // a unique constraint lost a race that the service's existence check could not see: a conflict, not a 500
    const pg = (err as { driverError?: { code?: string; constraint?: string } }).driverError;
    if (pg?.code === '23505') {
      res.status(409).json({ error: { code: 'conflict', message: `Already exists (${pg.constraint ?? 'unique constraint'})` } });
      return;
    }
    (req.log ?? logger).error({ err }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: 'Internal server error' } });
  };
}
