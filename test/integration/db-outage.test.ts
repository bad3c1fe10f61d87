import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classifyFrame, parseTranscript, rewriteTranscript, type TranscriptFrame } from '../../src/asterisk/demo-pbx';
import { createDataSource } from '../../src/db/data-source';
import { startCaptureHarness, waitFor, type CaptureHarness } from '../helpers/capture-harness';
import { startDbProxy, type DbProxy } from '../helpers/db-proxy';
import { AMI_FIXTURES_DIR } from '../helpers/fixtures';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * The database goes away in the middle of calls: capture goes on (the event path never waits on
 * it), changes and journal are buffered, and when it comes back every call and every frame is
 * written, once.
 */
let proxy: DbProxy;
let ctx: TestContext;
let h: CaptureHarness;
let idBase = 60_000_000 + (process.pid % 1000) * 10_000;

const PHONE = /(?<![0-9A-Za-z.])10[1-3](?![0-9A-Za-z.])/g;
function capture(scenario: string, phones: Record<string, string>): TranscriptFrame[] {
  const all = parseTranscript(readFileSync(path.join(AMI_FIXTURES_DIR, scenario, 'ami.jsonl'), 'utf8'));
  const swapped = all.map((f) => ({ ...f, raw: f.raw.replace(PHONE, (m) => phones[m] ?? m) }));
  const shift = Date.now() / 1000 - all.find((f) => classifyFrame(f) === 'event')!.rx;
  const rewritten = rewriteTranscript(swapped, { idBase, timeShiftSeconds: shift });
  idBase = rewritten.nextIdBase + 1;
  return rewritten.frames;
}

beforeAll(async () => {
  proxy = await startDbProxy();
  const ds = createDataSource(proxy.target);
  await ds.initialize();
  ctx = await createTestContext({}, ds);
  h = await startCaptureHarness(ctx);
});
afterAll(async () => {
  await h?.close();
  await ctx?.close();
  await proxy?.close();
});

it('buffers calls and journal while PostgreSQL is unreachable and writes them all, once, when it returns', async () => {
  const a = ctx.f.extension();
  const b = ctx.f.extension();
  await ctx.f.user('manager', [a]);
  await ctx.f.user('manager', [b]);
  await ctx.parts.directory.reload();
  const calls = [
    capture('inbound_answered', { '101': a }),
    capture('queue_ringall', { '101': a, '102': b }),
    capture('outbound_answered', { '101': a }),
  ];
  const ids = calls.map((frames) => frames.find((f) => f.raw.includes('Linkedid: '))!.raw.match(/Linkedid: (\S+)/)![1]!);

  proxy.cut();
  const before = h.link.status().frames;
  let played = 0;
  for (const frames of calls) played += (await h.pbx.play(frames, { speed: 0 })).framesPlayed;
  await waitFor(() => h.link.status().frames >= before + played, 'the listener to take every frame while the database is down');
  // the capture went on: the calls ended in memory, nothing is written yet
  expect(ctx.parts.capture.stats().openCalls).toBe(0);
  await waitFor(() => ctx.parts.store.stats().failedBatches > 1, 'failed writes');
  // everything waits in the buffer (between two retries)
  await waitFor(() => ctx.parts.store.pending().calls >= 3 && ctx.parts.store.pending().events >= played, 'the buffered calls and frames');
  expect(ctx.parts.store.stats().callsWritten).toBe(0);

  const buffered = ctx.parts.store.pending().events;
  const writtenBefore = ctx.parts.store.stats().eventsWritten;
  proxy.restore();
  const flushed = async () => {
    try {
      await ctx.parts.store.flush();
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(flushed, 'the buffer to drain', 60_000);
  expect(ctx.parts.store.pending()).toMatchObject({ calls: 0, events: 0 });
  const stored: { pbx_call_id: string; state: string; n: number }[] = await ctx.ds.query(
    `SELECT pbx_call_id, state, count(*) OVER (PARTITION BY pbx_call_id)::int AS n FROM calls WHERE pbx_call_id = ANY($1::text[])`,
    [ids],
  );
  expect(stored.map((r) => r.pbx_call_id).sort()).toEqual([...ids].sort());
  expect(stored.every((r) => r.state === 'ended' && r.n === 1)).toBe(true);
  // every buffered frame reached the journal
  expect(ctx.parts.store.stats().eventsWritten - writtenBefore).toBeGreaterThanOrEqual(buffered);
  const [journal] = await ctx.ds.query(`SELECT count(*)::int AS n FROM call_events WHERE pbx_call_id = ANY($1::text[])`, [ids]);
  expect(journal.n).toBeGreaterThan(0);
});
