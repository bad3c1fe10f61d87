/**
 * Database benchmark on PostgreSQL at production scale: `npm run bench:db`
 * (= `node -r @swc-node/register test/bench/db.bench.ts [flags]`).
 *
 * Creates a throwaway database (calltrack_bench; dropped and recreated), applies the real
 * migrations, seeds 1M contacts and 5M calls set-based (test/bench/db-seed.ts), then times the real
 * code paths: contact lookup by phone (`matchNumber`) and the calls list (`createCallsRepository
 * (ds).list`, and `GET /api/calls` over HTTP for one case) as a supervisor and as managers.
 *
 *   DATABASE_URL     admin connection (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_DB         database name (default calltrack_bench)
 *   --keep           reuse an already-seeded bench database (pending migrations are applied)
 *                    and keep it afterwards; without it the database is dropped at the end
 *   --seed-only      stop after seeding
 *   --contacts=N --calls=N   seed size (default 1,000,000 and 5,000,000)
 *   --n=N            iterations per calls-list case (default 300), --lookups=N (default 5000)
 *   --case-budget-ms=N   stop a case after this long (default 60,000; it then fails)
 *
 * Prints a table (metric, n, p50, p99, max, target, PASS/FAIL) and exits 1 when a target is
 * missed. Latencies include this machine's noise: the first row is a bare `SELECT 1` for scale.
 * Not part of `npm test`.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { createCallsRepository, decodeCursor, encodeCursor, type CallFilters, type Cursor } from '../../src/calls/calls.repository';
import { matchNumber } from '../../src/contacts/contact-matcher';
import { createDataSource } from '../../src/db/data-source';
import { migrate } from '../../src/db/database';
import { createLogger } from '../../src/logger';
import { wire } from '../../src/main';
import { hashPassword } from '../../src/users/password';
import type { Principal } from '../../src/users/principal';
import type { Role } from '../../src/users/user.entity';
import { benchDatabase } from './bench-kit';
import {
  BENCH_PASSWORD,
  e164Of,
  emailOf,
  PHONE,
  RARE_MANAGER,
  roleOf,
  seed,
  SUPERVISOR,
  TYPICAL_MANAGER,
  PART_TIME_MANAGER,
  SINGLE_QUEUE_MANAGER,
  USERS,
  type SeedSize,
  type SeedStep,
} from './db-seed';

// ---------------------------------------------------------------------------------------------
// arguments

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const numArg = (name: string, fallback: number) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  const v = a ? Number(a.slice(name.length + 3).replace(/_/g, '')) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const KEEP = flag('keep');
const SEED_ONLY = flag('seed-only');
const size: SeedSize = {
  contacts: numArg('contacts', 1_000_000),
  calls: numArg('calls', 5_000_000),
  organizations: 0,
};
size.organizations = Math.max(10, Math.round(size.contacts / 50));
const PAGE_N = numArg('n', 300);
const LOOKUP_N = numArg('lookups', 5000);
/** a case that is still running after this long stops early (and fails: too few iterations) */
const CASE_BUDGET_MS = numArg('case-budget-ms', 60_000);

const { name: BENCH_DB, url: benchUrl, adminUrl: ADMIN_URL } = benchDatabase('calltrack_bench');
const SEED_TAG = `calltrack-bench contacts=${size.contacts} calls=${size.calls} v2`;

// ---------------------------------------------------------------------------------------------
// timing

interface Row {
  metric: string;
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 target in ms; null for a row shown for scale only */
  target: number | null;
  note?: string;
}
const rows: Row[] = [];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

/** Times `fn` `n` times after `warmup` untimed runs; stops early past the case budget. */
async function measure(metric: string, target: number | null, n: number, warmup: number, fn: (i: number) => Promise<void>, minN = n) {
  const started = performance.now();
  for (let i = 0; i < warmup && performance.now() - started < CASE_BUDGET_MS / 4; i++) await fn(i);
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (performance.now() - t0 > CASE_BUDGET_MS) break;
  }
  times.sort((a, b) => a - b);
  const row: Row = {
    metric,
    n: times.length,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    max: times[times.length - 1] ?? NaN,
    target,
    note: times.length < minN ? `stopped after ${(CASE_BUDGET_MS / 1000).toFixed(0)} s` : undefined,
  };
  rows.push(row);
  process.stderr.write(`  ${metric}: n=${row.n} p50=${row.p50.toFixed(3)} p99=${row.p99.toFixed(3)} max=${row.max.toFixed(3)} ms\n`);
  return row;
}

const pass = (r: Row) => r.target === null || (r.p99 < r.target && !r.note);

function printTable() {
  const head = ['metric', 'n', 'p50 ms', 'p99 ms', 'max ms', 'target p99', 'result'];
  const body = rows.map((r) => [
    r.metric,
    String(r.n),
    r.p50.toFixed(3),
    r.p99.toFixed(3),
    r.max.toFixed(3),
    r.target === null ? '-' : `< ${r.target} ms`,
    r.target === null ? '(scale)' : pass(r) ? 'PASS' : `FAIL${r.note ? ` (${r.note})` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

/** A small deterministic PRNG (mulberry32), so every run asks for the same numbers. */
function prng(seedValue: number) {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// database

async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** true when an already-seeded database of the same size can be reused (--keep) */
async function prepareDatabase(): Promise<boolean> {
  return withAdmin(async (c) => {
    const existing = await c.query<{ tag: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS tag FROM pg_database WHERE datname = $1`,
      [BENCH_DB],
    );
    if (KEEP && existing.rows[0]?.tag === SEED_TAG) return true;
    if (existing.rowCount) {
      process.stderr.write(`dropping database ${BENCH_DB}\n`);
      await c.query(`DROP DATABASE ${BENCH_DB} WITH (FORCE)`);
    }
    await c.query(`CREATE DATABASE ${BENCH_DB}`);
    return false;
  });
}

async function dropDatabase() {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`));
}

const principalOf = (u: number, role: Role = roleOf(u) as Role): Principal => ({
  userId: crypto
    .createHash('md5')
    .update(`bench-user:${u}`)
    .digest('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
  role,
  email: emailOf(u),
  name: `Bench User ${u}`,
  locale: 'uk',
  via: 'session',
});

/** The SQL and parameters of the main query `list()` runs (the one that selects the calls' columns). */
async function captureListQuery(ds: DataSource, run: () => Promise<unknown>): Promise<[string, unknown[]]> {
  const seen: [string, unknown[]][] = [];
  const original = ds.query.bind(ds);
  const spy = async (sql: string, params?: unknown[]) => {
    seen.push([sql, params ?? []]);
    return original(sql, params);
  };
  Object.defineProperty(ds, 'query', { value: spy, configurable: true, writable: true });
  try {
    await run();
  } finally {
    delete (ds as unknown as Record<string, unknown>).query;
  }
  const main = seen.find(([sql]) => /AS started_at_text/.test(sql));
  if (!main) throw new Error('list() made no calls query');
  return main;
}

async function explain(ds: DataSource, title: string, run: () => Promise<unknown>) {
  const [sql, params] = await captureListQuery(ds, run);
  const plan: { 'QUERY PLAN': string }[] = await ds.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
  console.log(`\n--- EXPLAIN (ANALYZE, BUFFERS): ${title}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const logger = createLogger('warn');
  const t0 = performance.now();
  console.log(
    `calltrack db bench: ${size.contacts.toLocaleString('en')} contacts, ${size.calls.toLocaleString('en')} calls on ${BENCH_DB}`,
  );

  const reused = await prepareDatabase();
  const ds = createDataSource({ url: benchUrl, poolSize: 4 });
  await ds.initialize();
  let server: http.Server | undefined;
  try {
    const tMigrate = performance.now();
    const applied = await migrate(ds, logger);
    console.log(
      `migrations: ${applied.length ? applied.join(', ') : 'none pending'} (${((performance.now() - tMigrate) / 1000).toFixed(1)} s)`,
    );

    let seedSeconds: number | null = null;
    let seedSteps: SeedStep[] = [];
    if (reused) {
      console.log(`reusing the seeded database ${BENCH_DB} (--keep)`);
    } else {
      const tSeed = performance.now();
      seedSteps = await seed(
        async () => {
          const c = new Client({ connectionString: benchUrl });
          await c.connect();
          return c;
        },
        size,
        await hashPassword(BENCH_PASSWORD),
        (s) =>
          process.stderr.write(
            `  seeded ${s.name.padEnd(26)} ${(s.rows === null ? '' : `${s.rows.toLocaleString('en')} rows`).padStart(16)} ${(s.ms / 1000).toFixed(1).padStart(6)} s\n`,
          ),
      );
      seedSeconds = (performance.now() - tSeed) / 1000;
      await ds.query(`COMMENT ON DATABASE ${BENCH_DB} IS '${SEED_TAG}'`);
    }

    if (SEED_ONLY) return;
    const [{ shared_buffers: shared }] = (await ds.query(`SHOW shared_buffers`)) as [{ shared_buffers: string }];
    const sizes: { table: string; rows: string; size: string }[] = await ds.query(
      `SELECT c.relname AS table, c.reltuples::bigint::text AS rows, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname IN ('contacts', 'phones', 'calls', 'call_legs', 'recordings')
        ORDER BY pg_total_relation_size(c.oid) DESC`,
    );
    const [{ dbsize }] = (await ds.query(`SELECT pg_size_pretty(pg_database_size(current_database())) AS dbsize`)) as [{ dbsize: string }];

    // ---- for scale: one bare round trip through the same pool ---------------------------------
    await measure('SELECT 1 through the same pool', null, 2000, 200, async () => {
      await ds.query('SELECT 1');
    });

    // ---- contact lookup by phone ------------------------------------------------------------
    process.stderr.write('measuring contact lookup (matchNumber)\n');
    const rnd = prng(20260101);
    const existing: string[] = [];
    const missing: string[] = [];
    for (let i = 0; i < LOOKUP_N; i++) {
      // four in five a contact's own phone, one in five an organization's
      existing.push(
        rnd() < 0.8 ? e164Of(1 + Math.floor(rnd() * size.contacts)) : e164Of(PHONE.org + 1 + Math.floor(rnd() * size.organizations)),
      );
    }
    for (let i = 0; i < Math.max(2000, Math.round(LOOKUP_N / 2)); i++) missing.push(e164Of(PHONE.missing + 1 + Math.floor(rnd() * 1e8)));
    let wrong = 0;
    await measure('matchNumber: existing number', 1, existing.length, 500, async (i) => {
      const r = await matchNumber(ds, existing[i % existing.length]!);
      if (r.match === 'none') wrong++;
    });
    await measure('matchNumber: missing number', 1, missing.length, 200, async (i) => {
      const r = await matchNumber(ds, missing[i % missing.length]!);
      if (r.match !== 'none') wrong++;
    });
    if (wrong) console.log(`WARNING: ${wrong} lookups returned an unexpected match`);

    // ---- calls list -------------------------------------------------------------------------
    process.stderr.write('measuring GET /api/calls (repository list)\n');
    const repo = createCallsRepository(ds);
    const supervisor = principalOf(SUPERVISOR);
    const manager = principalOf(TYPICAL_MANAGER);
    const partTimer = principalOf(PART_TIME_MANAGER);
    const singleQueue = principalOf(SINGLE_QUEUE_MANAGER);
    const rare = principalOf(RARE_MANAGER);
    const agentUser = principalOf(11).userId;
    // how many calls each manager may see (for the labels; the access rule, spelled out as a UNION)
    const visible = async (p: Principal) => {
      const [{ n }] = (await ds.query(
        `SELECT count(*)::int AS n FROM (SELECT id FROM calls WHERE agent_user_id = $1
           UNION SELECT call_id FROM call_legs WHERE user_id = $1
           UNION SELECT c.id FROM calls c JOIN contacts o ON o.id = c.contact_id WHERE o.owner_id = $1) x`,
        [p.userId],
      )) as [{ n: number }];
      return n;
    };
    const label = async (p: Principal, what: string) => {
      const n = await visible(p);
      return `manager, ${what} (${n >= 10_000 ? `${Math.round(n / 1000)}k` : n} calls)`;
    };
    const mFull = await label(manager, 'full time + ring group');
    const mSingle = await label(singleQueue, 'full time, no ring group');
    const mPart = await label(partTimer, 'part time');
    const mRare = await label(rare, 'few calls');

    // cursors around the middle of the data: every 1000th row from OFFSET calls/2
    const mid = Math.floor(size.calls / 2);
    const cursorRows: { started_at_text: string; id: string }[] = await ds.query(
      `SELECT started_at::text AS started_at_text, id FROM calls ORDER BY started_at DESC, id DESC OFFSET $1 LIMIT 20000`,
      [mid],
    );
    const cursors: Cursor[] = cursorRows
      .filter((_, i) => i % 1000 === 0)
      .map((r) => ({ startedAt: r.started_at_text, id: r.id }))
      // through the API's own encoding, as a client sends it back
      .map((c) => decodeCursor(encodeCursor(c)));

    const short = new Map<string, number>();
    const page = (label: string, p: Principal, f: CallFilters, deep: boolean) =>
      measure(`calls list: ${label}${deep ? ', deep page' : ', first page'}`, 20, PAGE_N, 30, async (i) => {
        const res = await repo.list(p, f, 50, deep ? cursors[i % cursors.length] : undefined);
        if (res.items.length < 50) short.set(label, res.items.length);
      });
    await page('supervisor', supervisor, {}, false);
    await page('supervisor', supervisor, {}, true);
    await page(mFull, manager, {}, false);
    await page(mFull, manager, {}, true);
    await page(mSingle, singleQueue, {}, false);
    await page(mSingle, singleQueue, {}, true);
    await page(mPart, partTimer, {}, false);
    await page(mPart, partTimer, {}, true);
    await page(mRare, rare, {}, false);
    await page(mRare, rare, {}, true);
    await page('supervisor, missed=true', supervisor, { missed: true }, false);
    await page('supervisor, missed=true', supervisor, { missed: true }, true);
    await page('supervisor, agent=full-time user', supervisor, { agentUserId: agentUser }, false);
    await page('supervisor, agent=full-time user', supervisor, { agentUserId: agentUser }, true);
    await page('supervisor, agent=few-calls user', supervisor, { agentUserId: rare.userId }, false);
    await page('manager full time, missed=true', manager, { missed: true }, false);
    await page('manager full time, agent=self', manager, { agentUserId: manager.userId }, false);
    await page('manager full time, agent=part-time user', manager, { agentUserId: partTimer.userId }, false);
    // ?agent=<extension>: the call's agent, or a leg of it (user u has extension 100 + u)
    const ext = (u: number) => String(100 + u);
    await page('supervisor, agent=full-time extension', supervisor, { agentExtension: ext(11) }, false);
    await page('supervisor, agent=few-calls extension', supervisor, { agentExtension: ext(RARE_MANAGER) }, false);
    await page('supervisor, agent=extension nobody has', supervisor, { agentExtension: '999' }, false);
    await page('manager full time, agent=own extension', manager, { agentExtension: ext(TYPICAL_MANAGER) }, false);
    await page('manager full time, agent=part-time extension', manager, { agentExtension: ext(PART_TIME_MANAGER) }, false);
    if (short.size) console.log(`note: pages with fewer than 50 items: ${[...short].map(([l, n]) => `${l} (${n})`).join(', ')}`);

    // ---- the HTTP path, once ----------------------------------------------------------------
    process.stderr.write('measuring GET /api/calls over HTTP (supertest)\n');
    const parts = wire(ds, { logger: createLogger('silent'), defaultCountry: 'UA', sessionSecret: crypto.randomBytes(32).toString('hex') });
    server = http.createServer(parts.app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const login = await request(base)
      .post('/api/auth/login')
      .send({ email: emailOf(TYPICAL_MANAGER), password: BENCH_PASSWORD });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    const cookie = (login.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    await measure('GET /api/calls?limit=50 (HTTP, manager)', 20, PAGE_N, 30, async () => {
      const res = await request(base).get('/api/calls?limit=50').set('Cookie', cookie);
      if (res.status !== 200 || (res.body as { items: unknown[] }).items.length !== 50) throw new Error(`GET /api/calls: ${res.status}`);
    });

    // ---- plans ------------------------------------------------------------------------------
    await explain(ds, 'supervisor, first page', () => repo.list(supervisor, {}, 50));
    await explain(ds, `${mFull}, first page`, () => repo.list(manager, {}, 50));
    await explain(ds, `${mRare}, first page`, () => repo.list(rare, {}, 50));

    // ---- report -----------------------------------------------------------------------------
    console.log('');
    console.log(
      seedSeconds === null
        ? `seeding: reused (--keep)`
        : `seeding: ${seedSeconds.toFixed(1)} s on 2 connections (${seedSteps
            .filter((s) => s.ms >= 1000)
            .map((s) => `${s.name} ${(s.ms / 1000).toFixed(0)} s`)
            .join(', ')})`,
    );
    console.log(
      `database size: ${dbsize} (${sizes.map((s) => `${s.table} ${Number(s.rows).toLocaleString('en')} rows ${s.size}`).join('; ')})`,
    );
    console.log(
      `users: ${USERS}; managers measured: ${TYPICAL_MANAGER}, ${SINGLE_QUEUE_MANAGER}, ${PART_TIME_MANAGER}, ${RARE_MANAGER} (as labelled); shared_buffers ${shared}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    console.log('');
    printTable();
    console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    process.exitCode = rows.every(pass) ? 0 : 1;
  } finally {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await ds.destroy();
    if (!KEEP) await dropDatabase();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
