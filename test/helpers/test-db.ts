import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../src/db/data-source';

/** A DataSource on the test database prepared by global-setup (migrations already applied). */
export async function openTestDataSource(poolSize = 4): Promise<DataSource> {
  const url = process.env.DATABASE_URL;
  const socketDir = process.env.CALLTRACK_TEST_SOCKET_DIR;
  if (!url && !socketDir) throw new Error('No test database: run the tests through jest (global-setup prepares it)');
  const ds = createDataSource(url ? { url, poolSize } : { socketDir, poolSize });
  await ds.initialize();
  return ds;
}
