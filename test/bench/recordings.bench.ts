/**
 * Recordings playback bench (npm run bench:recordings): the real app on a real port serves stored
 * recordings to 1,000 concurrent Range requests (random ranges, as <audio> elements seeking),
 * over keep-alive connections, through authentication, the call access rule, the
 * recording lookup, the audit (deduplicated) and the file stream. The listeners are logged in
 * as a browser is (session cookie): BENCH_MANAGERS managers (10), each hearing the calls they took,
 * and a supervisor hearing all.
 *
 * It prints throughput (requests/s, MB/s), the time to first byte (request sent → response headers)
 * p50/p99/max, the server's RSS and event-loop delay, and checks every answer byte for byte against
 * the file it came from (exit code 1 on any error or wrong byte).
 *
 *   node -r @swc-node/register test/bench/recordings.bench.ts
 *
 * Environment: DATABASE_URL (the server; default the local one), BENCH_DB (default calltrack_bench_recordings:
 * dropped and created again, a throwaway database), BENCH_RECORDINGS (50), BENCH_CONCURRENCY (1000),
 * BENCH_ROUNDS (5: each round fires BENCH_CONCURRENCY requests at once and waits for all; the first
 * also opens the connections), BENCH_KEEP_DB=1 keeps the database.
 *
 * Two threads: the main thread is calltrack (database, HTTP server), a worker thread is the
 * listeners (the HTTP clients), so the clients' work does not delay the server's event loop.
 * The recordings are stored by the real fetch worker from a source directory (RECORDINGS_SOURCE_DIR)
 * holding copies of the lab WAVs.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { benchDatabase, percentiles, recreateDatabase } from './bench-kit';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const RECORDINGS = env('BENCH_RECORDINGS', 50);
const CONCURRENCY = env('BENCH_CONCURRENCY', 1000);
const ROUNDS = env('BENCH_ROUNDS', 5);
const MANAGERS = env('BENCH_MANAGERS', 10);
const HARD_LIMIT_MS = 300_000;
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'recordings');

interface Setup {
  url: string;
  /** each with its session cookie and the recordings it may hear */
  listeners: { cookie: string; recordings: { callId: string; file: string }[] }[];
}
interface RoundResult {
  seconds: number;
  requests: number;
}
type ToClients = { type: 'setup'; setup: Setup } | { type: 'go' };
type FromClients =
  | { type: 'ready' }
  | { type: 'round'; round: number; result: RoundResult }
  | { type: 'results'; ttfb: Float64Array; bytes: number; errors: string[]; wrong: number; statuses: Record<string, number> };

const clock = () => Number(process.hrtime.bigint()) / 1e6;

// ---------------------------------------------------------------------------------------------
// the listeners (worker thread)

async function clients(): Promise<void> {
  const { default: http } = await import('node:http');
  const port = parentPort!;
  const next = <T extends ToClients['type']>(type: T) =>
    new Promise<Extract<ToClients, { type: T }>>((resolve) => {
      const on = (m: ToClients) => {
        if (m.type !== type) return;
        port.off('message', on);
        resolve(m as Extract<ToClients, { type: T }>);
      };
      port.on('message', on);
    });
  const send = (m: FromClients, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const { setup } = await next('setup');
  const files = new Map<string, Buffer>();
  for (const l of setup.listeners) for (const r of l.recordings) if (!files.has(r.file)) files.set(r.file, fs.readFileSync(r.file));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, maxFreeSockets: CONCURRENCY });
  const target = new URL(setup.url);
  const ttfb: number[] = [];
  const errors: string[] = [];
  const statuses: Record<string, number> = {};
  let bytes = 0;
  let wrong = 0;

  /** A random range as a seeking player asks: from a point to the end, a window, or the tail. */
  function randomRange(size: number): { header: string; start: number; end: number } {
    const kind = crypto.randomInt(10);
    if (kind < 6) {
      const start = crypto.randomInt(size);
      const end = Math.min(size - 1, start + crypto.randomInt(1, 64 * 1024));
      return { header: `bytes=${start}-${end}`, start, end };
    }
    if (kind < 9) {
      const start = crypto.randomInt(size);
      return { header: `bytes=${start}-`, start, end: size - 1 };
    }
    const n = crypto.randomInt(1, 8192);
    return { header: `bytes=-${n}`, start: Math.max(0, size - n), end: size - 1 };
  }

  function one(): Promise<void> {
    const listener = setup.listeners[crypto.randomInt(setup.listeners.length)]!;
    const rec = listener.recordings[crypto.randomInt(listener.recordings.length)]!;
    const file = files.get(rec.file)!;
    const range = randomRange(file.length);
    return new Promise<void>((resolve) => {
      const started = clock();
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: `/api/calls/${rec.callId}/recording`,
          agent,
          headers: { Cookie: listener.cookie, Range: range.header },
        },
        (res) => {
          ttfb.push(clock() - started);
          statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            bytes += body.length;
            const expected = `bytes ${range.start}-${range.end}/${file.length}`;
            if (
              res.statusCode !== 206 ||
              res.headers['content-range'] !== expected ||
              !body.equals(file.subarray(range.start, range.end + 1))
            ) {
              wrong++;
              if (errors.length < 5) errors.push(`${range.header}: ${res.statusCode} ${res.headers['content-range']} ${body.length} bytes`);
            }
            resolve();
          });
          res.on('error', (err) => {
            errors.push(String(err));
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        errors.push(String(err));
        resolve();
      });
      req.end();
    });
  }

  send({ type: 'ready' });
  await next('go');
  for (let round = 0; round < ROUNDS; round++) {
    const started = clock();
    await Promise.all(Array.from({ length: CONCURRENCY }, one));
    send({ type: 'round', round, result: { seconds: (clock() - started) / 1000, requests: CONCURRENCY } });
  }
  agent.destroy();
  const t = Float64Array.from(ttfb);
  send({ type: 'results', ttfb: t, bytes, errors, wrong, statuses }, [t.buffer]);
}

// ---------------------------------------------------------------------------------------------
// calltrack (main thread)

async function calltrack(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${HARD_LIMIT_MS / 1000} s; giving up`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  watchdog.unref();
  const [{ default: http }, { createDataSource }, { migrate }, { createLogger }, { wire }, { SESSION_COOKIE }] = await Promise.all([
    import('node:http'),
    import('../../src/db/data-source'),
    import('../../src/db/database'),
    import('../../src/logger'),
    import('../../src/main'),
    import('../../src/http/auth.middleware'),
  ]);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');

  const worker = new Worker(`require('@swc-node/register'); require(${JSON.stringify(__filename)});`, {
    eval: true,
    workerData: { clients: true },
  });
  worker.on('error', (err) => {
    console.error('bench: the client thread failed', err);
    process.exit(1);
  });
  const next = <T extends FromClients['type']>(type: T) =>
    new Promise<Extract<FromClients, { type: T }>>((resolve) => {
      const on = (m: FromClients) => {
        if (m.type !== type) return;
        worker.off('message', on);
        resolve(m as Extract<FromClients, { type: T }>);
      };
      worker.on('message', on);
    });

  // ---- database, app, recordings
  const databaseUrl = benchDatabase('calltrack_bench_recordings').url;
  const dropDatabase = await recreateDatabase(databaseUrl);
  const ds = createDataSource({ url: databaseUrl, poolSize: 10 });
  await ds.initialize();
  await migrate(ds, logger);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-bench-rec-'));
  const sourceDir = path.join(work, 'asterisk');
  const storeDir = path.join(work, 'recordings');
  const parts = wire(ds, {
    logger,
    defaultCountry: 'UA',
    sessionSecret: crypto.randomBytes(32).toString('hex'),
    recordings: { dir: storeDir, sourceDir, fetch: { concurrency: 4 } },
  });
  // listeners: managers (each hears the calls they took) and a supervisor (hears all), logged in as a browser is
  const people = [
    ...Array.from({ length: MANAGERS }, (_, i) => ({ role: 'manager' as const, extension: String(100_000 + i) })),
    { role: 'supervisor' as const, extension: null },
  ];
  const sessions: { userId: string; role: string; cookie: string }[] = [];
  for (const [i, p] of people.entries()) {
    const password = crypto.randomBytes(12).toString('hex');
    const email = `bench-${i}@example.test`;
    const user = await parts.users.create(null, {
      email,
      name: `Bench ${i}`,
      password,
      role: p.role,
      extensions: p.extension ? [p.extension] : [],
    });
    const { token } = await parts.auth.login(email, password, '127.0.0.1', 'bench');
    sessions.push({ userId: user.id, role: p.role, cookie: `${SESSION_COOKIE}=${encodeURIComponent(token)}` });
  }
  const managers = sessions.filter((s) => s.role === 'manager');

  const wavs = fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.wav'))
    .map((f) => path.join(FIXTURES, f));
  const seeded: { callId: string; recordingId: string; source: string; owner: string }[] = [];
  const seedStarted = clock();
  for (let i = 0; i < RECORDINGS; i++) {
    const source = wavs[i % wavs.length]!;
    const fileName = `calltrack/in-${1_800_000_000 + i}.${i}.wav`;
    fs.mkdirSync(path.join(sourceDir, 'calltrack'), { recursive: true });
    fs.copyFileSync(source, path.join(sourceDir, fileName));
    const startedAt = new Date(Date.now() - (RECORDINGS - i) * 60_000);
    const [call] = (await ds.query(
      `INSERT INTO calls (pbx_call_id, direction, state, disposition, missed, external_number, started_at, answered_at, ended_at,
                          end_reason, contact_match, recording_file, agent_extension, agent_user_id)
       VALUES ($1, 'inbound', 'ended', 'answered', false, $2, $3, $3, $4, 'normal', 'none', $5, $6, $7) RETURNING id`,
      [
        `bench.${i}`,
        `+38050${String(1_000_000 + i)}`,
        startedAt,
        new Date(startedAt.getTime() + 60_000),
        fileName,
        people[i % MANAGERS]!.extension,
        managers[i % MANAGERS]!.userId,
      ],
    )) as { id: string }[];
    const [rec] = (await ds.query(`INSERT INTO recordings (call_id, file_name) VALUES ($1, $2) RETURNING id`, [call!.id, fileName])) as {
      id: string;
    }[];
    seeded.push({ callId: call!.id, recordingId: rec!.id, source, owner: managers[i % MANAGERS]!.userId });
  }
  const fetched = await parts.recordings.fetcher.runOnce();
  const [{ stored } = { stored: 0 }] = (await ds.query(`SELECT count(*)::int AS stored FROM recordings WHERE state = 'stored'`)) as {
    stored: number;
  }[];
  if (stored !== RECORDINGS) throw new Error(`only ${stored} of ${RECORDINGS} recordings stored (${fetched} attempts)`);
  const seedSeconds = (clock() - seedStarted) / 1000;

  const server = http.createServer(parts.app);
  server.keepAliveTimeout = 60_000;
  server.maxConnections = CONCURRENCY * 2;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  worker.postMessage({
    type: 'setup',
    setup: {
      url,
      listeners: sessions.map((s) => ({
        cookie: s.cookie,
        recordings: seeded.filter((r) => s.role !== 'manager' || r.owner === s.userId).map((r) => ({ callId: r.callId, file: r.source })),
      })),
    },
  } satisfies ToClients);
  await next('ready');

  // ---- the run
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const elu = performance.eventLoopUtilization();
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const rounds: RoundResult[] = [];
  const onRound = (m: FromClients) => {
    if (m.type === 'round') {
      rounds.push(m.result);
      console.log(`  round ${m.round + 1}: ${m.result.requests} concurrent requests in ${m.result.seconds.toFixed(2)} s`);
    }
  };
  worker.on('message', onRound);
  const resultsReady = next('results');
  const started = clock();
  worker.postMessage({ type: 'go' } satisfies ToClients);
  const results = await resultsReady;
  const seconds = (clock() - started) / 1000;
  clearInterval(rssTimer);
  lag.disable();
  const busy = performance.eventLoopUtilization(elu);
  worker.off('message', onRound);

  const requests = rounds.reduce((a, r) => a + r.requests, 0);
  const round = (x: number) => Math.round(x * 100) / 100;
  const { p50, p99, max } = percentiles(results.ttfb);
  const ttfb = { p50: round(p50), p99: round(p99), max: round(max) };
  const [{ audits } = { audits: 0 }] = (await ds.query(
    `SELECT count(*)::int AS audits FROM audit_log WHERE action = 'recording.listen'`,
  )) as {
    audits: number;
  }[];
  const summary = {
    bench: 'recordings',
    recordings: RECORDINGS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    requests,
    seconds: Math.round(seconds * 100) / 100,
    requestsPerSecond: Math.round(requests / seconds),
    megabytesPerSecond: Math.round((results.bytes / 1e6 / seconds) * 10) / 10,
    bytes: results.bytes,
    ttfbMs: ttfb,
    statuses: results.statuses,
    wrong: results.wrong,
    errors: results.errors.length,
    auditEntries: audits,
    rssMb: { end: Math.round(process.memoryUsage().rss / 1e6), peak: Math.round(peakRss / 1e6) },
    eventLoopDelayMs: { p99: Math.round(lag.percentile(99) / 1e4) / 100, max: Math.round(lag.max / 1e4) / 100 },
    /** share of the run the server's event loop was busy, and its busy time per request */
    serverEventLoopUtilization: Math.round(busy.utilization * 100) / 100,
    serverBusyMsPerRequest: Math.round((busy.active / requests) * 100) / 100,
    seedSeconds: Math.round(seedSeconds * 100) / 100,
  };
  console.log(
    `recordings bench: ${requests} Range requests (${CONCURRENCY} concurrent × ${ROUNDS} rounds) over ${RECORDINGS} stored recordings\n` +
      `  throughput: ${summary.requestsPerSecond} req/s, ${summary.megabytesPerSecond} MB/s\n` +
      `  time to first byte: p50 ${ttfb.p50} ms, p99 ${ttfb.p99} ms, max ${ttfb.max} ms\n` +
      `  process RSS (server and client threads): ${summary.rssMb.end} MB (peak ${summary.rssMb.peak} MB), event-loop delay p99 ${summary.eventLoopDelayMs.p99} ms,\n` +
      `  server event loop busy ${Math.round(busy.utilization * 100)}% of the run, ${summary.serverBusyMsPerRequest} ms per request\n` +
      `  wrong answers: ${results.wrong}, errors: ${results.errors.length}${results.errors.length ? ` (${results.errors.slice(0, 3).join('; ')})` : ''}`,
  );
  console.log(JSON.stringify(summary));

  // ---- teardown
  await worker.terminate();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await ds.destroy();
  fs.rmSync(work, { recursive: true, force: true });
  if (process.env.BENCH_KEEP_DB !== '1') await dropDatabase();
  process.exit(results.wrong === 0 && results.errors.length === 0 ? 0 : 1);
}

const run = isMainThread ? calltrack : (workerData as { clients?: boolean } | null)?.clients ? clients : null;
run?.().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
