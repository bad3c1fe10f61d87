/**
 * Operational errors carry a code; http/error-handler.ts maps every code to one HTTP status.
 * Anything else reaching the handler is a programmer error (500, logged with its stack).
 */
export type ErrorCode = 'validation' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'rate-limited' | 'unavailable';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError('not-found', `${what} not found`);
export const conflict = (message: string) => new AppError('conflict', message);
export const forbidden = (message = 'Forbidden') => new AppError('forbidden', message);
export const invalid = (message: string, details?: unknown) => new AppError('validation', message, details);

export function assertUnreachable(value: never): never {
  throw new Error(`Unreachable: ${String(value)}`);
}
