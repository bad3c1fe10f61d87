import path from 'node:path';
import { getCountries, type CountryCode } from 'libphonenumber-js/min';
import { z } from 'zod';

/**
 * Environment → validated, typed, frozen configuration. Parsed once at boot; a bad value throws a
 * ConfigError naming the variable (main.ts turns it into exit code 1).
 */

const port = z.coerce.number<string | undefined>().int().min(0).max(65535);
const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const url = (protocols: string[]) =>
  optional.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')})` },
  );
const countries = new Set<string>(getCountries());
/** An ORIGINATE_ALLOW entry: an E.164 prefix ending in `*` (`+380*`, `+*` for anything), or one exact number. */
const ALLOW_PATTERN = /^\+(?:\d{0,15}\*|\d{1,15})$/;

const schema = z.object({
  PORT: optional.pipe(port.default(3000)),
  HOST: optional.pipe(z.string().default('0.0.0.0')),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATA_DIR: optional.pipe(z.string().default('./data')),
  DEFAULT_COUNTRY: optional.pipe(
    z
      .string()
      .default('UA')
      .transform((v) => v.toUpperCase())
      .refine((v) => countries.has(v), { message: 'must be an ISO 3166 country code such as UA' }),
  ),
  AMI_HOST: optional,
  AMI_PORT: optional.pipe(port.default(5038)),
  AMI_USERNAME: optional,
  AMI_SECRET: optional,
  ARI_URL: url(['http:', 'https:']),
  ARI_USERNAME: optional,
  ARI_PASSWORD: optional,
  ARI_APP: optional.pipe(z.string().default('calltrack')),
  ORIGINATE_ALLOW: optional.refine(
    (v) =>
      v === undefined ||
      v
        .split(',')
        .map((p) => p.trim())
        .every((p) => ALLOW_PATTERN.test(p)),
    { message: 'must be comma-separated E.164 prefixes ending in * or exact E.164 numbers, e.g. +380*,+48*' },
  ),
  SESSION_SECRET: optional.refine((v) => v === undefined || v.length >= 32, {
    message: 'must be at least 32 characters',
  }),
  RECORDINGS_DIR: optional,
  RECORDINGS_SOURCE_DIR: optional,
  RECORDINGS_RETENTION_DAYS: optional.pipe(z.coerce.number<string | undefined>().int().min(0).default(0)),
  RECORDINGS_DELETE_FROM_PBX: optional.pipe(z.enum(['true', 'false']).default('false')),
  REDIS_URL: url(['redis:', 'rediss:']),
  LOG_LEVEL: optional.pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  TRUST_PROXY: optional.pipe(z.enum(['true', 'false']).default('false')),
  STALE_CALL_SECONDS: optional.pipe(
    z.coerce
      .number<string | undefined>()
      .int()
      .min(60)
      .default(4 * 3600),
  ),
});

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  readonly http: { readonly port: number; readonly host: string; readonly trustProxy: boolean };
  readonly database: { readonly url: string | undefined };
  readonly dataDir: string;
  readonly defaultCountry: CountryCode;
  readonly ami: { readonly host: string; readonly port: number; readonly username: string; readonly secret: string } | undefined;
  readonly ari: { readonly url: string; readonly username: string; readonly password: string; readonly app: string } | undefined;
  /** Click-to-call destinations (E.164 prefixes `+380*` or exact numbers); undefined: national numbers of defaultCountry. */
  readonly originateAllow: readonly string[] | undefined;
  readonly sessionSecret: string | undefined;
  readonly recordingsDir: string;
  /** Recordings fetched from this directory (shared with Asterisk) when ARI is not configured. */
  readonly recordingsSourceDir: string | undefined;
  /** Stored recordings are deleted after this many days (0: kept forever). */
  readonly recordingsRetentionDays: number;
  /** Delete a recording from Asterisk once its copy here is verified. */
  readonly recordingsDeleteFromPbx: boolean;
  readonly redisUrl: string | undefined;
  readonly logLevel: string;
  readonly staleCallSeconds: number;
}

function requireTogether(env: Record<string, unknown>, names: string[]): void {
  const set = names.filter((n) => env[n] !== undefined);
  if (set.length > 0 && set.length < names.length) {
    const missing = names.find((n) => env[n] === undefined)!;
    throw new ConfigError(missing, `is required when ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set`);
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const env = parsed.data;
  requireTogether(env, ['AMI_HOST', 'AMI_USERNAME', 'AMI_SECRET']);
  requireTogether(env, ['ARI_URL', 'ARI_USERNAME', 'ARI_PASSWORD']);
  const dataDir = path.resolve(env.DATA_DIR);
  return Object.freeze({
    http: Object.freeze({ port: env.PORT, host: env.HOST, trustProxy: env.TRUST_PROXY === 'true' }),
    database: Object.freeze({ url: env.DATABASE_URL }),
    dataDir,
    defaultCountry: env.DEFAULT_COUNTRY as CountryCode,
    ami: env.AMI_HOST
      ? Object.freeze({ host: env.AMI_HOST, port: env.AMI_PORT, username: env.AMI_USERNAME!, secret: env.AMI_SECRET! })
      : undefined,
    ari: env.ARI_URL
      ? Object.freeze({ url: env.ARI_URL, username: env.ARI_USERNAME!, password: env.ARI_PASSWORD!, app: env.ARI_APP })
      : undefined,
    originateAllow: env.ORIGINATE_ALLOW ? Object.freeze(env.ORIGINATE_ALLOW.split(',').map((p) => p.trim())) : undefined,
    sessionSecret: env.SESSION_SECRET,
    recordingsDir: path.resolve(env.RECORDINGS_DIR ?? path.join(dataDir, 'recordings')),
    recordingsSourceDir: env.RECORDINGS_SOURCE_DIR ? path.resolve(env.RECORDINGS_SOURCE_DIR) : undefined,
    recordingsRetentionDays: env.RECORDINGS_RETENTION_DAYS,
    recordingsDeleteFromPbx: env.RECORDINGS_DELETE_FROM_PBX === 'true',
    redisUrl: env.REDIS_URL,
    logLevel: env.LOG_LEVEL,
    staleCallSeconds: env.STALE_CALL_SECONDS,
  });
}
