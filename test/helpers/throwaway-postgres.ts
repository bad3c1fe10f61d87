import crypto from 'node:crypto';
import { Client } from 'pg';

/**
 * A fresh PostgreSQL database on the local server (DATABASE_URL's server, else 127.0.0.1:5432 as
 * postgres), for tests that need real PostgreSQL semantics (advisory locks across sessions).
 */
export async function createThrowawayDatabase(prefix = 'calltrack_e2e'): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  admin.pathname = '/postgres';
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
