import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createDataSource } from './data-source';
import { embeddedServerRunning, openEmbeddedDatabase, type EmbeddedDatabase } from './embedded';

export interface Database {
  ds: DataSource;
  kind: 'postgres' | 'embedded';
  close(): Promise<void>;
}

/**
 * Opens the configured database: PostgreSQL at DATABASE_URL, else the embedded one in DATA_DIR.
 * `role: 'server'` opens the embedded database itself (and serves it on its socket);
 * `role: 'cli'` connects through a running server's socket, or opens DATA_DIR itself under its lock.
 */
export async function openDatabase(config: Config, logger: Logger, role: 'server' | 'cli'): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let ds: DataSource;
  if (config.database.url) {
    ds = createDataSource({ url: config.database.url });
  } else if (role === 'cli' && (await embeddedServerRunning(config.dataDir))) {
    ds = createDataSource({ socketDir: config.dataDir, poolSize: 2 });
  } else {
    embedded = await openEmbeddedDatabase(config.dataDir, logger);
    ds = createDataSource({ socketDir: embedded.socketDir, poolSize: role === 'cli' ? 2 : 10 });
  }
  try {
    await ds.initialize();
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  return {
    ds,
    kind: config.database.url ? 'postgres' : 'embedded',
    async close() {
      if (ds.isInitialized) await ds.destroy();
      await embedded?.stop();
    },
  };
}

const MIGRATION_LOCK = 4_201_337;

/** Applies pending migrations, one process at a time (a PostgreSQL advisory lock). */
export async function migrate(ds: DataSource, logger: Logger): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    for (const m of applied) logger.info({ migration: m.name }, 'migration applied');
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
