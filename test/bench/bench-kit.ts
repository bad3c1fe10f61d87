/** What the benchmarks share: percentiles and a throwaway PostgreSQL database. */

/**
 * A benchmark's throwaway database: `DATABASE_URL` names the server to use (default the local one;
 * its own database is never touched), `BENCH_DB` the database dropped and created again.
 */
export function benchDatabase(fallback: string): { name: string; url: string; adminUrl: string } {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = process.env.BENCH_DB ?? fallback;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error('BENCH_DB must be a plain lower-case identifier');
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return { name, url: u.toString(), adminUrl };
}

/** p50, p99 and max of the samples (nearest rank). */
export function percentiles(values: Float64Array): { p50: number; p99: number; max: number } {
  if (!values.length) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = values.slice().sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

/** Drops and creates the database of `url` (a plain lower-case name); returns its drop. */
export async function recreateDatabase(url: string): Promise<() => Promise<void>> {
  const { Client } = await import('pg');
  const name = new URL(url).pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected database name ${name}`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const c = new Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await run(`CREATE DATABASE ${name}`);
  return () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
