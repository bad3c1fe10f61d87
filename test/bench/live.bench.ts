/**
 * Live-push bench (npm run bench:live): 500 Socket.IO clients (managers with extensions and
 * supervisors) connected to the real socket server while the fake PBX starts 50 new calls a second
 * for 30 s over real TCP, through the real AMI client, PBX link, capture pipeline and PostgreSQL.
 *
 * It prints the latency from the moment the fake PBX wrote an AMI frame to the moment each client
 * allowed to see the resulting `call:update` received it (p50/p99/max), misdeliveries (a client
 * receiving a call it may not see: must be 0) and missed deliveries (must be 0); exit code 1 if
 * either is not 0.
 *
 *   node -r @swc-node/register test/bench/live.bench.ts
 *
 * Environment: DATABASE_URL (the server; default the local one), BENCH_DB (default
 * calltrack_bench_live: dropped and created again, a throwaway database), BENCH_CLIENTS (500), BENCH_SUPERVISORS (20),
 * BENCH_CALLS_PER_SECOND (50), BENCH_SECONDS (30), BENCH_CONTACT_SHARE (0.4: calls from a number that
 * is a contact owned by some manager), BENCH_KEEP_DB=1 keeps the database.
 *
 * Two threads, as in production two sides: the main thread is calltrack (database, AMI client, PBX
 * link, capture, socket server), a worker thread is the outside world (the fake PBX on TCP and the
 * 500 socket.io-client connections). Both read one monotonic clock (process.hrtime).
 *
 * How a frame is tied to the updates it caused: the fake PBX writes the frames itself (writeRaw, at
 * each transcript's pace) and notes when; the AMI client hands them over in the same order (one TCP
 * connection), and the capture publishes synchronously while the client hands it a frame. A frame
 * listener registered before the PBX link's notes the frame's index; the bus listener reads it.
 * Updates published outside frame handling (after a contact lookup) are counted apart.
 */
import 'reflect-metadata';
import crypto from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { classifyFrame, loadDemoScenarios, rewriteTranscript, startDemoPbx, type TranscriptFrame } from '../../src/asterisk/demo-pbx';
import type { CallRecordDto } from '../../src/calls/call-record';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/live/live-events';
import { benchDatabase, percentiles, recreateDatabase } from './bench-kit';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const CLIENTS = env('BENCH_CLIENTS', 500);
const SUPERVISORS = env('BENCH_SUPERVISORS', 20);
const RATE = env('BENCH_CALLS_PER_SECOND', 50);
const SECONDS = env('BENCH_SECONDS', 30);
const CONTACT_SHARE = env('BENCH_CONTACT_SHARE', 0.4);
const CONTACTS = 300;
const WARMUP_SECONDS = 3;
const TARGET_P99_MS = 25;
const HARD_LIMIT_MS = 300_000;

/** ms on the process-wide monotonic clock (the same in every thread) */
const clock = () => Number(process.hrtime.bigint()) / 1e6;

// ---------------------------------------------------------------------------------------------
// messages between the two threads

interface WorldSetup {
  url: string;
  /** per client: its API token */
  tokens: string[];
  managerExtensions: string[];
  contactNumbers: string[];
}

type ToWorld = { type: 'setup'; setup: WorldSetup } | { type: 'go' } | { type: 'drain' } | { type: 'close' };

interface Receipts {
  keys: string[];
  clients: Int32Array;
  at: Float64Array;
}

type FromWorld =
  | { type: 'pbx'; port: number; secret: string }
  | { type: 'ready'; calls: number; frames: number; connectSeconds: number; planSeconds: number }
  | { type: 'started'; at: number }
  | { type: 'written'; frames: number }
  | { type: 'results'; writtenAt: Float64Array; events: string[]; measured: Uint8Array; receipts: Receipts; snapshots: number }
  | { type: 'closed' };

// ---------------------------------------------------------------------------------------------
// the outside world (worker thread): the fake PBX and the clients

async function world(): Promise<void> {
  const port = parentPort!;
  const next = <T extends ToWorld['type']>(type: T) =>
    new Promise<Extract<ToWorld, { type: T }>>((resolve) => {
      const on = (m: ToWorld) => {
        if (m.type !== type) return;
        port.off('message', on);
        resolve(m as Extract<ToWorld, { type: T }>);
      };
      port.on('message', on);
    });
  const send = (m: FromWorld, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

  const secret = crypto.randomBytes(8).toString('hex');
  const pbx = await startDemoPbx({ port: 0, username: 'bench', secret, uptimeSeconds: 1000 });
  send({ type: 'pbx', port: pbx.address().port, secret });
  const { setup } = await next('setup');

  // the calls: every demo scenario with fresh managers, numbers and ids, at the captured pace
  const planStarted = clock();
  const scenarios = await loadDemoScenarios();
  const totalCalls = RATE * (WARMUP_SECONDS + SECONDS);
  const PHONE = /(?<![0-9A-Za-z.])10[1-3](?![0-9A-Za-z.])/g;
  const pick = <T>(xs: readonly T[]): T => xs[crypto.randomInt(xs.length)]!;
  const epochAtStart = Date.now() + 20_000; // about when the run starts: the frames' times are current
  type Planned = { raw: string; due: number; measured: boolean; event: string };
  const timeline: Planned[] = [];
  let idBase = 1_000_000;
  for (let i = 0; i < totalCalls; i++) {
    const scenario = scenarios[i % scenarios.length]!;
    const startMs = (i * 1000) / RATE;
    const phones: Record<string, string> = {};
    const chosen = new Set<string>();
    for (const p of ['101', '102', '103']) {
      let ext = pick(setup.managerExtensions);
      while (chosen.has(ext)) ext = pick(setup.managerExtensions);
      chosen.add(ext);
      phones[p] = ext;
    }
    const e164 =
      Math.random() < CONTACT_SHARE ? pick(setup.contactNumbers) : `+38050${String(crypto.randomInt(10_000_000)).padStart(7, '0')}`;
    const national = `0${e164.slice(4)}`;
    const events: TranscriptFrame[] = scenario.frames
      .filter((f) => classifyFrame(f) === 'event')
      .map((f) => ({
        ...f,
        raw: f.raw
          .replace(PHONE, (x) => phones[x] ?? x)
          .replaceAll('+380501112233', e164)
          .replaceAll('0501112233', national),
      }));
    const rewritten = rewriteTranscript(events, { idBase, timeShiftSeconds: (epochAtStart + startMs) / 1000 - events[0]!.rx });
    idBase = rewritten.nextIdBase + 1;
    const firstRx = rewritten.frames[0]!.rx;
    for (const f of rewritten.frames) {
      timeline.push({
        raw: f.raw,
        due: startMs + (f.rx - firstRx) * 1000,
        measured: startMs >= WARMUP_SECONDS * 1000,
        event: /^Event: (.*)\r\n/.exec(f.raw)![1]!,
      });
    }
  }
  timeline.sort((x, y) => x.due - y.due);
  const planSeconds = (clock() - planStarted) / 1000;

  // the clients, 50 at a time
  const connectStarted = clock();
  const sockets: ClientSocket<ServerToClientEvents, ClientToServerEvents>[] = [];
  const receipts = { keys: [] as string[], clients: [] as number[], at: [] as number[] };
  let snapshots = 0;
  let lastReceiptAt: number;
  for (let batch = 0; batch < setup.tokens.length; batch += 50) {
    await Promise.all(
      setup.tokens.slice(batch, batch + 50).map(
        (token, k) =>
          new Promise<void>((resolve, reject) => {
            const index = batch + k;
            const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = connectClient(setup.url, {
              path: '/socket.io',
              transports: ['websocket'],
              auth: { token },
              reconnection: false,
              forceNew: true,
            });
            sockets.push(socket);
            socket.on('call:update', (call: CallRecordDto) => {
              const t = clock();
              lastReceiptAt = t;
              receipts.keys.push(`${call.id}:${call.version}`);
              receipts.clients.push(index);
              receipts.at.push(t);
            });
            socket.on('calls:snapshot', () => {
              snapshots++;
              resolve();
            });
            socket.once('connect_error', reject);
          }),
      ),
    );
  }
  send({ type: 'ready', calls: totalCalls, frames: timeline.length, connectSeconds: (clock() - connectStarted) / 1000, planSeconds });

  // the run: each frame written when due
  await next('go');
  const writtenAt = new Float64Array(timeline.length);
  const runStart = clock();
  send({ type: 'started', at: runStart });
  let i = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      const elapsed = clock() - runStart;
      while (i < timeline.length && timeline[i]!.due <= elapsed) {
        writtenAt[i] = clock();
        pbx.writeRaw(timeline[i++]!.raw);
      }
      if (i >= timeline.length) return resolve();
      setTimeout(pump, Math.max(0, Math.min(timeline[i]!.due - (clock() - runStart), 10)));
    };
    pump();
  });
  send({ type: 'written', frames: timeline.length });

  await next('drain');
  lastReceiptAt = clock();
  while (clock() - lastReceiptAt < 1500) await new Promise((r) => setTimeout(r, 100));
  const result: Receipts = { keys: receipts.keys, clients: Int32Array.from(receipts.clients), at: Float64Array.from(receipts.at) };
  send(
    {
      type: 'results',
      writtenAt,
      events: timeline.map((f) => f.event),
      measured: Uint8Array.from(timeline, (f) => (f.measured ? 1 : 0)),
      receipts: result,
      snapshots,
    },
    [writtenAt.buffer, result.clients.buffer as ArrayBuffer, result.at.buffer as ArrayBuffer],
  );

  await next('close');
  for (const s of sockets) s.disconnect();
  await pbx.close();
  send({ type: 'closed' });
}

// ---------------------------------------------------------------------------------------------
// calltrack (main thread)

interface Published {
  /** index of the frame being handled when it was published; -1: published outside frame handling */
  frame: number;
  publishedAt: number;
  expected: Set<number>;
}

async function calltrack(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${HARD_LIMIT_MS / 1000} s; giving up`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  watchdog.unref();

  const [
    { default: http },
    { createAmiClient },
    { createPbxLink },
    { createDataSource },
    { migrate },
    { createSocketServer },
    { createLogger },
    { wire },
    { DUMMY_HASH },
  ] = await Promise.all([
    import('node:http'),
    import('../../src/asterisk/ami.client'),
    import('../../src/asterisk/pbx-link'),
    import('../../src/db/data-source'),
    import('../../src/db/database'),
    import('../../src/live/socket.server'),
    import('../../src/logger'),
    import('../../src/main'),
    import('../../src/users/password'),
  ]);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');

  const worker = new Worker(`require('@swc-node/register'); require(${JSON.stringify(__filename)});`, {
    eval: true,
    workerData: { world: true },
  });
  worker.on('error', (err) => {
    console.error('bench: the worker failed', err);
    process.exit(1);
  });
  const next = <T extends FromWorld['type']>(type: T) =>
    new Promise<Extract<FromWorld, { type: T }>>((resolve) => {
      const on = (m: FromWorld) => {
        if (m.type !== type) return;
        worker.off('message', on);
        resolve(m as Extract<FromWorld, { type: T }>);
      };
      worker.on('message', on);
    });
  const tell = (m: ToWorld) => worker.postMessage(m);
  const pbxReady = next('pbx');

  // ---- database, app, users (seeded in SQL: 500 bcrypt hashes through the users service take half a minute)
  const databaseUrl = benchDatabase('calltrack_bench_live').url;
  const dropDatabase = await recreateDatabase(databaseUrl);
  const ds = createDataSource({ url: databaseUrl, poolSize: 10 });
  await ds.initialize();
  await migrate(ds, logger);
  const parts = wire(ds, { logger, defaultCountry: 'UA', sessionSecret: crypto.randomBytes(32).toString('hex') });
  const users = Array.from({ length: CLIENTS }, (_, i) => {
    const role = i < SUPERVISORS ? ('supervisor' as const) : ('manager' as const);
    return { id: crypto.randomUUID() as string, role, extension: role === 'manager' ? String(200_000 + i) : null };
  });
  await ds.query(
    `INSERT INTO users (id, email, name, password_hash, role) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])`,
    [
      users.map((u) => u.id),
      users.map((_, i) => `bench-${i}@example.test`),
      users.map((_, i) => `Bench ${i}`),
      users.map(() => DUMMY_HASH),
      users.map((u) => u.role),
    ],
  );
  const managers = users.filter((u) => u.role === 'manager');
  await ds.query(`INSERT INTO extensions (number, user_id) SELECT * FROM unnest($1::text[], $2::uuid[])`, [
    managers.map((m) => m.extension),
    managers.map((m) => m.id),
  ]);
  await parts.directory.reload();
  const admin = { userId: users[0]!.id, role: 'admin' as const, email: '', name: '', locale: 'uk' as const, via: 'session' as const };
  const tokens: string[] = [];
  for (const u of users) tokens.push((await parts.auth.createApiToken(admin, 'bench', u.id)).token);
  const contactOwner = new Map<string, string>();
  const contactNumbers: string[] = [];
  for (let i = 0; i < CONTACTS; i++) {
    const number = `+38067${String(1_000_000 + i).padStart(7, '0')}`;
    const owner = managers[crypto.randomInt(managers.length)]!;
    const c = await parts.contacts.createContact(admin, { firstName: `Contact ${i}`, ownerId: owner.id, phones: [{ number }] });
    contactOwner.set(c.id, owner.id);
    contactNumbers.push(number);
  }

  // ---- the server: HTTP + Socket.IO; the real AMI client and PBX link to the fake PBX
  const server = http.createServer(parts.app);
  const live = await createSocketServer(server, {
    logger,
    auth: parts.auth,
    calls: parts.callsRepo,
    capture: parts.capture,
    bus: parts.bus,
    ds,
    revalidateMs: 3_600_000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const { port, secret } = await pbxReady;
  const ami = createAmiClient({ host: '127.0.0.1', port, username: 'bench', secret, logger, pingIntervalMs: 20_000 });
  const events: string[] = [];
  const handledAt: number[] = [];
  let handling = -1;
  ami.onFrame((frame) => {
    if (frame.event === 'FullyBooted') return;
    handling = events.length;
    events.push(String(frame.event));
    handledAt.push(clock());
  });
  const link = createPbxLink({ client: ami, capture: parts.capture, logger, mode: 'asterisk', staleAfterMs: 3_600_000 });
  ami.onFrame(() => (handling = -1));
  link.start();
  while (link.status().resyncs < 1) await new Promise((r) => setTimeout(r, 20));

  // ---- what every update should reach, decided from the seeding (not by the server's rule)
  const clientsOfUser = new Map<string, number>(users.map((u, i) => [u.id, i]));
  const extUser = new Map(managers.map((m) => [m.extension!, m.id]));
  const supervisorClients = users.flatMap((u, i) => (u.role === 'supervisor' ? [i] : []));
  const published = new Map<string, Published>();
  parts.bus.subscribe((call: CallRecordDto) => {
    const expected = new Set(supervisorClients);
    const viewers = [call.agent?.extension, ...call.legs.map((l) => l.extension)].map((e) => (e ? extUser.get(e) : undefined));
    if (call.contact) viewers.push(contactOwner.get(call.contact.id));
    for (const v of viewers) if (v) expected.add(clientsOfUser.get(v)!);
    published.set(`${call.id}:${call.version}`, { frame: handling, publishedAt: clock(), expected });
  });

  tell({ type: 'setup', setup: { url, tokens, managerExtensions: managers.map((m) => m.extension!), contactNumbers } });
  const ready = await next('ready');
  console.log(
    `bench: ${CLIENTS} clients connected (${SUPERVISORS} supervisors, ${CLIENTS - SUPERVISORS} managers) in ${ready.connectSeconds.toFixed(1)} s`,
  );
  console.log(
    `bench: ${ready.calls} calls (${ready.frames} AMI frames) planned in ${ready.planSeconds.toFixed(1)} s; running ${WARMUP_SECONDS} s warm-up + ${SECONDS} s`,
  );

  // ---- run
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const started = next('started');
  tell({ type: 'go' });
  const runStart = (await started).at;
  const warmupEnd = runStart + WARMUP_SECONDS * 1000;
  const cpuBefore = process.cpuUsage();
  let lastCpu = process.cpuUsage();
  let lastTick = clock();
  let loopReset = false;
  const progress = setInterval(() => {
    const t = clock();
    const cpu = process.cpuUsage(lastCpu);
    if (!loopReset && t >= warmupEnd) {
      loop.reset();
      loopReset = true;
    }
    console.log(
      `  t=${((t - runStart) / 1000).toFixed(0)}s frames handled ${events.length} updates ${published.size} open calls ${parts.capture.stats().openCalls}` +
        ` calltrack CPU ${((cpu.user + cpu.system) / 1e3 / (t - lastTick)).toFixed(2)} event-loop max ${(loop.max / 1e6).toFixed(0)} ms`,
    );
    lastCpu = process.cpuUsage();
    lastTick = t;
  }, 5000);
  const { frames } = await next('written');
  while (events.length < frames) await new Promise((r) => setTimeout(r, 20));
  await parts.capture.idle();
  const results = next('results');
  tell({ type: 'drain' });
  const r = await results;
  clearInterval(progress);
  const runSeconds = (clock() - runStart) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();

  // ---- results
  let outOfStep = 0;
  for (let i = 0; i < r.events.length; i++) if (r.events[i] !== events[i]) outOfStep++;
  const measured = (p: Published) => (p.frame >= 0 ? r.measured[p.frame] === 1 : p.publishedAt >= warmupEnd);
  const frameLatency: number[] = [];
  const pushLatency: number[] = [];
  const asyncLatency: number[] = [];
  const received = new Map<string, Set<number>>();
  let misdeliveries = 0;
  let duplicates = 0;
  let unknown = 0;
  for (let i = 0; i < r.receipts.keys.length; i++) {
    const key = r.receipts.keys[i]!;
    const client = r.receipts.clients[i]!;
    const at = r.receipts.at[i]!;
    const p = published.get(key);
    if (!p) {
      unknown++;
      continue;
    }
    if (!p.expected.has(client)) {
      misdeliveries++;
      continue;
    }
    let got = received.get(key);
    if (!got) received.set(key, (got = new Set()));
    if (got.has(client)) {
      duplicates++;
      continue;
    }
    got.add(client);
    if (!measured(p)) continue;
    pushLatency.push(at - p.publishedAt);
    if (p.frame >= 0) frameLatency.push(at - r.writtenAt[p.frame]!);
    else asyncLatency.push(at - p.publishedAt);
  }
  let expectedDeliveries = 0;
  let missed = 0;
  let measuredUpdates = 0;
  let asyncUpdates = 0;
  for (const [key, p] of published) {
    if (p.frame < 0) asyncUpdates++;
    if (!measured(p)) continue;
    measuredUpdates++;
    expectedDeliveries += p.expected.size;
    const got = received.get(key);
    for (const client of p.expected) if (!got?.has(client)) missed++;
  }
  const readPath = Float64Array.from({ length: r.events.length }, (_, i) => handledAt[i]! - r.writtenAt[i]!).filter(
    (_, i) => r.measured[i] === 1,
  );
  const frame = percentiles(Float64Array.from(frameLatency));
  const push = percentiles(Float64Array.from(pushLatency));
  const afterLookup = percentiles(Float64Array.from(asyncLatency));
  const fmt = (s: { p50: number; p99: number; max: number }) =>
    `p50 ${s.p50.toFixed(2)} ms   p99 ${s.p99.toFixed(2)} ms   max ${s.max.toFixed(2)} ms`;
  const lag = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  console.log('');
  console.log(
    `calls started             ${ready.calls} (${RATE}/s: ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured); ${frames} AMI frames; run ${runSeconds.toFixed(1)} s`,
  );
  console.log(
    `call:update published     ${published.size} (${measuredUpdates} measured; ${asyncUpdates} after a contact lookup, not caused by a frame)`,
  );
  console.log(
    `deliveries (measured)     ${expectedDeliveries - missed} of ${expectedDeliveries} expected; snapshots on connect ${r.snapshots}`,
  );
  console.log(`AMI frame → client        ${fmt(frame)}   (${frameLatency.length} deliveries)`);
  console.log(`  AMI frame → handled     ${fmt(percentiles(readPath))}   (the AMI read path: TCP, asterisk-manager, AMI client)`);
  console.log(`  publish → client        ${fmt(push)}   (the push path: audience, Socket.IO, TCP, client)`);
  console.log(`after a contact lookup    ${fmt(afterLookup)}   (publish → client, ${asyncLatency.length} deliveries)`);
  console.log(`misdeliveries             ${misdeliveries}`);
  console.log(`missed deliveries         ${missed}`);
  console.log(`duplicates / unknown      ${duplicates} / ${unknown}`);
  console.log(`frames out of step        ${outOfStep}`);
  console.log(
    `calltrack event loop      delay p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms; CPU ${((cpu.user + cpu.system) / 1e6 / runSeconds).toFixed(2)} cores (both threads)`,
  );
  console.log(`target p99 ≤ ${TARGET_P99_MS} ms         ${frame.p99 <= TARGET_P99_MS ? 'met' : 'MISSED'}`);
  console.log(
    JSON.stringify({
      bench: 'live',
      clients: CLIENTS,
      supervisors: SUPERVISORS,
      callsPerSecond: RATE,
      seconds: SECONDS,
      frames,
      updates: measuredUpdates,
      deliveries: frameLatency.length,
      frameToClientMs: frame,
      publishToClientMs: push,
      frameToHandledMs: percentiles(readPath),
      misdeliveries,
      missed,
      duplicates,
      outOfStep,
      eventLoopDelayMs: lag,
    }),
  );

  // ---- teardown
  const closed = next('closed');
  tell({ type: 'close' });
  await closed;
  await worker.terminate();
  await live.close();
  await link.stop();
  await parts.store.flush().catch(() => undefined);
  await parts.store.close();
  await ds.destroy();
  if (process.env.BENCH_KEEP_DB !== '1') await dropDatabase();
  process.exit(misdeliveries === 0 && missed === 0 && outOfStep === 0 && unknown === 0 ? 0 : 1);
}

const run = isMainThread ? calltrack : (workerData as { world?: boolean } | null)?.world ? world : null;
run?.().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
