import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import 'reflect-metadata';
import { createDataSource } from '../../src/db/data-source';
import { migrate } from '../../src/db/database';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded';
import { createLogger } from '../../src/logger';

/**
 * Integration tests run on DATABASE_URL when set (a PostgreSQL database of their own), else on the
 * embedded PGlite, started here: PGlite does not start inside a Jest worker. Either way the schema
 * comes from the migrations, never from synchronize. Workers find the database through env.
 */
export default async function globalSetup(): Promise<void> {
  const logger = createLogger('warn');
  let embedded: EmbeddedDatabase | undefined;
  if (!process.env.DATABASE_URL) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-test-'));
    embedded = await openEmbeddedDatabase(dir, logger);
    process.env.CALLTRACK_TEST_SOCKET_DIR = embedded.socketDir;
    (globalThis as { __embedded?: EmbeddedDatabase; __embeddedDir?: string }).__embedded = embedded;
    (globalThis as { __embeddedDir?: string }).__embeddedDir = dir;
  }
  const ds = createDataSource(process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { socketDir: embedded!.socketDir });
  await ds.initialize();
  await migrate(ds, logger);
  await ds.destroy();
  process.stdout.write(`\n[calltrack tests] database: ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}\n`);
}
