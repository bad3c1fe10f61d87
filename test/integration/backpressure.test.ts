import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classifyFrame, parseTranscript, rewriteTranscript, type TranscriptFrame } from '../../src/asterisk/demo-pbx';
import { createDataSource } from '../../src/db/data-source';
import { startCaptureHarness, waitFor, type CaptureHarness } from '../helpers/capture-harness';
import { startDbProxy, type DbProxy } from '../helpers/db-proxy';
import { AMI_FIXTURES_DIR } from '../helpers/fixtures';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * Back-pressure on the wire: with the database away, the call store's buffer fills up to its
 * bound, the AMI link stops reading (the rest waits in the TCP buffers, then in the PBX), memory
 * stays bounded; when the database returns the link reads again and every call is written, once.
 */
const MAX_BUFFERED = 300;
let proxy: DbProxy;
let ctx: TestContext;
let h: CaptureHarness;

beforeAll(async () => {
  proxy = await startDbProxy();
  const ds = createDataSource(proxy.target);
  await ds.initialize();
  ctx = await createTestContext({ maxBufferedEvents: MAX_BUFFERED }, ds);
  h = await startCaptureHarness(ctx);
});
afterAll(async () => {
  await h?.close();
  await ctx?.close();
  await proxy?.close();
});

function calls(n: number, extension: string): TranscriptFrame[][] {
  const all = parseTranscript(readFileSync(path.join(AMI_FIXTURES_DIR, 'inbound_answered', 'ami.jsonl'), 'utf8'));
  const swapped = all.map((f) => ({ ...f, raw: f.raw.replace(/(?<![0-9A-Za-z.])101(?![0-9A-Za-z.])/g, extension) }));
  const shift = Date.now() / 1000 - all.find((f) => classifyFrame(f) === 'event')!.rx;
  let idBase = 70_000_000 + (process.pid % 1000) * 10_000;
  const out: TranscriptFrame[][] = [];
  for (let i = 0; i < n; i++) {
    const r = rewriteTranscript(swapped, { idBase, timeShiftSeconds: shift });
    idBase = r.nextIdBase + 1;
    out.push(r.frames);
  }
  return out;
}

it('pauses reading the PBX at the buffer bound while the database is away, and loses nothing when it returns', async () => {
  const ext = ctx.f.extension();
  await ctx.f.user('manager', [ext]);
  await ctx.parts.directory.reload();
  const batch = calls(60, ext);
  const ids = batch.map((frames) => frames.find((f) => f.raw.includes('Linkedid: '))!.raw.match(/Linkedid: (\S+)/)![1]!);
  const total = batch.reduce((n, frames) => n + frames.filter((f) => classifyFrame(f) === 'event').length, 0);
  expect(total).toBeGreaterThan(MAX_BUFFERED * 5);

  proxy.cut();
  const before = h.link.status().frames;
  // played without waiting: the PBX's writes block once calltrack stops reading
  const playing = (async () => {
    for (const frames of batch) await h.pbx.play(frames, { speed: 0 });
  })();
  await waitFor(() => h.client.state().paused, 'the link to pause');
  // paused: what was read stops growing although the PBX has more to say
  const readWhenPaused = h.link.status().frames - before;
  await new Promise((r) => setTimeout(r, 300));
  expect(h.link.status().frames - before).toBe(readWhenPaused);
  expect(readWhenPaused).toBeLessThan(total);

  proxy.restore();
  await playing;
  await waitFor(() => h.link.status().frames - before >= total, 'every frame to be read after the database returned', 60_000);
  await waitFor(
    async () => {
      try {
        await ctx.parts.store.flush();
        return ctx.parts.store.pending().events === 0;
      } catch {
        return false;
      }
    },
    'the buffer to drain',
    60_000,
  );
  expect(h.client.state().paused).toBe(false);
  const stored: { n: number; ended: number }[] = await ctx.ds.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'ended')::int AS ended FROM calls WHERE pbx_call_id = ANY($1::text[])`,
    [ids],
  );
  expect(stored[0]).toEqual({ n: ids.length, ended: ids.length });
});
