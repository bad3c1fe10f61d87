import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { entities } from './entities';
import { migrations } from './migrations';

export interface DatabaseTarget {
  /** postgres://… or, for the embedded database, a unix socket directory */
  url?: string;
  socketDir?: string;
  poolSize?: number;
}

/** A DataSource on PostgreSQL (DATABASE_URL) or on the embedded PGlite socket. Never synchronizes. */
export function createDataSource(target: DatabaseTarget): DataSource {
  const where = target.url ? { url: target.url } : { host: target.socketDir, port: 5432, username: 'postgres', database: 'postgres' };
  return new DataSource({
    type: 'postgres',
    ...where,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    extra: { max: target.poolSize ?? 10, connectionTimeoutMillis: 10_000 },
    logging: false,
  });
}
