import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { CallDraft } from '../../src/calls/call-record';
import { createCallStore, type CallSnapshot, type JournalEntry } from '../../src/calls/call-store';
import { createDataSource } from '../../src/db/data-source';
import { createLogger } from '../../src/logger';
import { startDbProxy } from '../helpers/db-proxy';
import { openTestDataSource } from '../helpers/test-db';

/**
 * The call store on its own, on the test database: the journal and the calls go on two
 * connections at once; a row the database refuses (a data error) is logged and dropped while
 * every other row of its batch is written; raw text lands in the journal byte for byte.
 */
let ds: DataSource;
beforeAll(async () => {
  ds = await openTestDataSource();
});
afterAll(async () => {
  await ds?.destroy();
});

const tag = `${process.pid}${Date.now() % 1_000_000}`;

function draft(pbxCallId: string): CallDraft {
  return {
    pbxCallId,
    direction: 'inbound',
    state: 'ended',
    disposition: 'answered',
    missed: false,
    externalNumber: '+380501112233',
    externalNumberRaw: '0501112233',
    trackingNumber: null,
    startedAt: new Date('2026-11-26T10:00:00Z'),
    answeredAt: new Date('2026-11-26T10:00:05Z'),
    endedAt: new Date('2026-11-26T10:01:00Z'),
    agentExtension: null,
    legs: [],
    hangupBy: 'customer',
    endReason: 'normal',
    relatedPbxCallIds: [],
    recordingFile: null,
  };
}

const snapshot = (d: CallDraft): CallSnapshot => ({
  id: crypto.randomUUID(),
  version: 1,
  draft: d,
  agentUserId: null,
  legUserIds: [],
  contactId: null,
  organizationId: null,
  contactMatch: 'none',
  recordingId: null,
});

const entry = (pbxCallId: string, payload: unknown, receivedAt = new Date()): JournalEntry => ({
  pbxCallId,
  receivedAt,
  mono: 1.5,
  kind: 'ami',
  payload,
});

it('writes every good call and journal line of a batch, and drops (loudly) only the ones the database refuses', async () => {
  const logs: string[] = [];
  const store = createCallStore({ ds, logger: createLogger('error', { write: (line: string) => void logs.push(line) }) });
  const good = [`${tag}.1`, `${tag}.2`, `${tag}.3`];
  const bad = `${tag}.9`;
  for (const id of good) store.saveCall(snapshot(draft(id)));
  // NOT NULL direction: refused by the database
  store.saveCall(snapshot({ ...draft(bad), direction: null as unknown as CallDraft['direction'] }));
  const raw = 'Event: UserEvent\r\nBody: "quoted", back\\slash, tab\there\r\n\r\n';
  store.journal(entry(good[0]!, raw));
  store.journal(entry(good[1]!, { event: 'UserEvent', n: 2 }));
  // an invalid time: NULL received_at, refused
  store.journal(entry(bad, raw, new Date(Number.NaN)));
  store.journal(entry(good[2]!, raw));
  await store.flush();
  await store.close();

  const calls: { pbx_call_id: string }[] = await ds.query(`SELECT pbx_call_id FROM calls WHERE pbx_call_id LIKE $1 ORDER BY 1`, [
    `${tag}.%`,
  ]);
  expect(calls.map((c) => c.pbx_call_id)).toEqual(good);
  const journal: { pbx_call_id: string; payload: string }[] = await ds.query(
    `SELECT pbx_call_id, payload FROM call_events WHERE pbx_call_id LIKE $1 ORDER BY id`,
    [`${tag}.%`],
  );
  expect(journal).toEqual([
    { pbx_call_id: good[0], payload: raw },
    { pbx_call_id: good[1], payload: '{"event":"UserEvent","n":2}' },
    { pbx_call_id: good[2], payload: raw },
  ]);
  const refused = logs.filter((l) => l.includes('refused by the database'));
  expect(refused.length).toBe(2);
  expect(refused.some((l) => l.includes(bad))).toBe(true);
  expect(store.stats()).toMatchObject({ pendingCalls: 0, pendingEvents: 0, callsWritten: 3, eventsWritten: 3 });
});

it('asks the PBX link to pause when too many calls wait to be written, and to go on once they are', async () => {
  const signals: boolean[] = [];
  const logs: string[] = [];
  const store = createCallStore({
    ds,
    logger: createLogger('warn', { write: (line: string) => void logs.push(line) }),
    maxBufferedCalls: 4,
    flushDelayMs: 60_000, // nothing is written until flush()
    onBackpressure: (on) => signals.push(on),
  });
  const ids = [1, 2, 3, 4, 5].map((n) => `${tag}.bp${n}`);
  for (const id of ids.slice(0, 3)) store.saveCall(snapshot(draft(id)));
  expect(signals).toEqual([]);
  store.saveCall(snapshot(draft(ids[3]!)));
  expect(signals).toEqual([true]);
  // a newer change of a call already waiting adds no call
  store.saveCall({ ...snapshot(draft(ids[3]!)), version: 2 });
  store.saveCall(snapshot(draft(ids[4]!)));
  expect(signals).toEqual([true]);
  expect(logs.some((l) => l.includes('BACK-PRESSURE') && l.includes('"bufferedCalls":4'))).toBe(true);
  await store.flush();
  await store.close();
  expect(signals).toEqual([true, false]);
  const rows: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM calls WHERE pbx_call_id = ANY($1::text[])`, [ids]);
  expect(rows[0]!.n).toBe(5);
  expect(store.stats()).toMatchObject({ pendingCalls: 0, callsWritten: 5 });
});

it('asks the PBX link to pause when the journal lines waiting pass their bytes bound, long before the events bound', async () => {
  const signals: boolean[] = [];
  const store = createCallStore({
    ds,
    logger: createLogger('silent'),
    maxBufferedJournalBytes: 64 * 1024,
    flushDelayMs: 60_000, // nothing is written until flush()
    onBackpressure: (on) => signals.push(on),
  });
  const pbxCallId = `${tag}.jbytes`;
  const line = (n: number) => ({
    pbxCallId,
    receivedAt: new Date(),
    mono: n,
    kind: 'ami' as const,
    payload: `Event: UserEvent\r\nLinkedid: ${pbxCallId}\r\nBody: ${'x'.repeat(1000)}\r\n\r\n`,
  });
  // the first write finds out the journal's format; lines are bytes from then on
  store.journal(line(0));
  await store.flush();
  let n = 1;
  while (!signals.length && n < 1000) store.journal(line(n++));
  expect(signals).toEqual([true]);
  // 64 KiB of ~1.1 KiB lines
  expect(n).toBeGreaterThan(40);
  expect(n).toBeLessThan(70);
  await store.flush();
  await store.close();
  expect(signals).toEqual([true, false]);
  const rows: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM call_events WHERE pbx_call_id = $1`, [pbxCallId]);
  expect(rows[0]!.n).toBe(n);
});

it('while the database is down, buffers four times the journal bytes before it pauses the PBX link, and loses none', async () => {
  const proxy = await startDbProxy();
  const pds = createDataSource(proxy.target);
  await pds.initialize();
  try {
    const signals: boolean[] = [];
    const store = createCallStore({
      ds: pds,
      logger: createLogger('silent'),
      maxBufferedJournalBytes: 64 * 1024,
      flushDelayMs: 60_000,
      retryBaseMs: 60_000,
      onBackpressure: (on) => signals.push(on),
    });
    const pbxCallId = `${tag}.outage`;
    const line = (n: number) =>
      entry(pbxCallId, `Event: UserEvent\r\nLinkedid: ${pbxCallId}\r\nN: ${n}\r\nBody: ${'x'.repeat(1000)}\r\n\r\n`);
    // the first write finds out the journal's format; lines are bytes from then on
    store.journal(line(0));
    await store.flush();
    proxy.cut();
    store.journal(line(1));
    await expect(store.flush()).rejects.toThrow();
    expect(store.pending().outageSince).toBeInstanceOf(Date);
    let n = 2;
    while (!signals.length && n < 2000) store.journal(line(n++));
    expect(signals).toEqual([true]);
    // 4 × 64 KiB of ~1.1 KiB lines (a database that is only slow gets back-pressure at ~57)
    expect(n).toBeGreaterThan(200);
    expect(n).toBeLessThan(260);

    proxy.restore();
    await store.flush();
    await store.close();
    expect(signals).toEqual([true, false]);
    const rows: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM call_events WHERE pbx_call_id = $1`, [pbxCallId]);
    expect(rows[0]!.n).toBe(n);
  } finally {
    await pds.destroy();
    await proxy.close();
  }
});

it('after a failed write, waits for its backoff: new changes do not bring the retry forward', async () => {
  const proxy = await startDbProxy();
  const pds = createDataSource(proxy.target);
  await pds.initialize();
  try {
    const store = createCallStore({
      ds: pds,
      logger: createLogger('silent'),
      retryBaseMs: 10_000, // the first retry comes 10 to 20 s after a failure
      flushDelayMs: 5,
    });
    proxy.cut();
    const ids = Array.from({ length: 40 }, (_, i) => `${tag}.bo${i}`);
    for (const id of ids) {
      store.saveCall(snapshot(draft(id)));
      store.journal(entry(id, `Event: UserEvent\r\nN: ${id}\r\n\r\n`));
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    // each change asked for a write 5 ms later: only the first failed attempt of each lane was made
    const failed = store.stats().failedBatches;
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(failed).toBeLessThanOrEqual(2);
    expect(store.pending()).toMatchObject({ calls: 40, events: 40 });

    proxy.restore();
    await store.flush(); // does not wait for the backoff
    await store.close();
    const calls: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM calls WHERE pbx_call_id = ANY($1::text[])`, [ids]);
    const journal: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM call_events WHERE pbx_call_id = ANY($1::text[])`, [
      ids,
    ]);
    expect([calls[0]!.n, journal[0]!.n]).toEqual([40, 40]);
  } finally {
    await pds.destroy();
    await proxy.close();
  }
});

it('reuses its journal buffers only once their lines are written: a cut connection and a refused line lose or garble nothing', async () => {
  const proxy = await startDbProxy();
  const pds = createDataSource(proxy.target);
  await pds.initialize();
  try {
    // small batches: a batch ends inside a buffer (256 KiB, ~250 of these lines), so runs of one
    // buffer are written by different batches
    const store = createCallStore({ ds: pds, logger: createLogger('silent'), flushDelayMs: 5, retryBaseMs: 20, maxBatchEvents: 97 });
    const expected: Array<{ pbx_call_id: string; payload: string }> = [];
    let n = 0;
    const push = (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const id = `${tag}.pool${n}`;
        // ~1 KiB, different in every line (a reused buffer with stale bytes would show)
        const payload = `Event: UserEvent\r\nN: ${n}\r\nBody: "${crypto.randomBytes(480).toString('hex')}"\r\n\r\n`;
        store.journal(entry(id, payload));
        expected.push({ pbx_call_id: id, payload });
      }
    };
    push(1500);
    await store.flush();
    push(1500); // written into buffers of the first round, back from the pool
    await store.flush();
    // the database goes away with lines queued and comes back
    proxy.cut();
    push(800);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.stats().failedBatches).toBeGreaterThanOrEqual(1);
    proxy.restore();
    await store.flush();
    // a line the database refuses (no time: NULL received_at) sends its batch line by line
    push(300);
    store.journal(entry(`${tag}.poolbad`, 'Event: UserEvent\r\n\r\n', new Date(Number.NaN)));
    push(300);
    await store.flush();
    push(1000);
    await store.flush();
    await store.close();

    const rows: Array<{ pbx_call_id: string; payload: string }> = await ds.query(
      `SELECT pbx_call_id, payload FROM call_events WHERE pbx_call_id LIKE $1 ORDER BY id`,
      [`${tag}.pool%`],
    );
    expect(rows.length).toBe(expected.length);
    expect(rows).toEqual(expected);
  } finally {
    await pds.destroy();
    await proxy.close();
  }
});

it('gathers a steady trickle of changes into a batch per flush delay, not one per round trip', async () => {
  const store = createCallStore({ ds, logger: createLogger('silent'), flushDelayMs: 50 });
  const ids: string[] = [];
  await new Promise<void>((resolve) => {
    const started = Date.now();
    const t = setInterval(() => {
      const id = `${tag}.tr${ids.length}`;
      ids.push(id);
      store.saveCall(snapshot(draft(id)));
      store.journal(entry(id, `Event: UserEvent\r\nN: ${id}\r\n\r\n`));
      if (Date.now() - started >= 400) {
        clearInterval(t);
        resolve();
      }
    }, 1);
  });
  await store.flush();
  await store.close();
  // 400 ms at a change a millisecond: about 8 flush delays a lane, not a batch every few milliseconds
  expect(ids.length).toBeGreaterThan(100);
  expect(store.stats().batches).toBeLessThanOrEqual(24);
  const rows: { n: number }[] = await ds.query(`SELECT count(*)::int AS n FROM calls WHERE pbx_call_id = ANY($1::text[])`, [ids]);
  expect(rows[0]!.n).toBe(ids.length);
});

it('rewrites only the legs that changed, keeps the others as they are, and drops legs past the new count', async () => {
  const store = createCallStore({ ds, logger: createLogger('silent') });
  const id = `${tag}.legs`;
  const leg = (extension: string, result: CallDraft['legs'][number]['result'], endedAt: Date | null) => ({
    extension,
    ringingAt: new Date('2026-11-26T10:00:01Z'),
    answeredAt: null,
    endedAt,
    result,
  });
  const first = snapshot({ ...draft(id), state: 'ringing', legs: [leg('101', null, null), leg('102', null, null)] });
  const legRows = async () =>
    (await ds.query(
      `SELECT l.seq, l.extension, l.result, l.id, l.xmin::text AS xmin FROM call_legs l JOIN calls c ON c.id = l.call_id
        WHERE c.pbx_call_id = $1 ORDER BY l.seq`,
      [id],
    )) as { seq: number; extension: string; result: string | null; id: string; xmin: string }[];
  store.saveCall({ ...first, legUserIds: [null, null] });
  await store.flush();
  const before = await legRows();
  expect(before.map((l) => [l.extension, l.result])).toEqual([
    ['101', null],
    ['102', null],
  ]);

  const ended = new Date('2026-11-26T10:00:09Z');
  store.saveCall({
    ...first,
    version: 2,
    legUserIds: [null, null],
    draft: { ...first.draft, legs: [leg('101', null, null), leg('102', 'no-answer', ended)] },
  });
  await store.flush();
  const after = await legRows();
  expect(after.map((l) => [l.extension, l.result])).toEqual([
    ['101', null],
    ['102', 'no-answer'],
  ]);
  expect(after[0]).toEqual(before[0]); // untouched: same row, same version of it
  expect(after[1]!.id).toBe(before[1]!.id); // updated in place
  expect(after[1]!.xmin).not.toBe(before[1]!.xmin);

  store.saveCall({ ...first, version: 3, legUserIds: [null], draft: { ...first.draft, legs: [leg('101', 'answered', ended)] } });
  await store.flush();
  await store.close();
  expect((await legRows()).map((l) => [l.extension, l.result])).toEqual([['101', 'answered']]);

  // a store that did not write the call (another process, a rebuild) does not know its legs
  const other = createCallStore({ ds, logger: createLogger('silent') });
  other.saveCall({ ...first, version: 4, legUserIds: [], draft: { ...first.draft, legs: [] } });
  await other.flush();
  await other.close();
  expect(await legRows()).toEqual([]);
});
