import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseTranscript } from '../../src/asterisk/demo-pbx';
import type { CallRecordDto } from '../../src/calls/call-record';
import { startCaptureHarness, waitFor, type CaptureHarness } from '../helpers/capture-harness';
import { AMI_FIXTURES_DIR } from '../helpers/fixtures';
import { SHORT_WAV, tempDir, unique } from '../helpers/recordings';
import { createTestContext, loginAgent, type TestContext } from '../helpers/test-context';

/**
 * A real call on the wire, its recording fetched by the running worker: once stored, every later
 * `call:update` of that call (an annotation, made while the capture still remembers the call) shows
 * the stored recording, never `pending` again.
 */
const tag = `rl${unique()}`;
let ctx: TestContext;
let h: CaptureHarness;

beforeAll(async () => {
  ctx = await createTestContext({
    recordings: {
      dir: tempDir('ct-rec-live-'),
      demoFiles: [SHORT_WAV],
      onlyFileNamePrefix: tag,
      fetch: { pollMs: 100, wakeDelayMs: 50 },
    },
  });
  ctx.parts.recordings.start();
  h = await startCaptureHarness(ctx);
});
afterAll(async () => {
  await h?.close();
  await ctx?.parts.recordings.stop();
  await ctx?.close();
});

it('an annotation after the recording was stored publishes the stored recording, not pending', async () => {
  const ext = ctx.f.extension();
  const manager = await ctx.f.user('manager', [ext]);
  await ctx.parts.directory.reload();
  const frames = parseTranscript(readFileSync(path.join(AMI_FIXTURES_DIR, 'inbound_answered', 'ami.jsonl'), 'utf8')).map((f) => ({
    ...f,
    raw: f.raw.replace(/(?<![0-9A-Za-z.])101(?![0-9A-Za-z.])/g, ext).replaceAll('in-380441234567-', `${tag}-`),
  }));
  const published: CallRecordDto[] = [];
  const unsubscribe = ctx.parts.bus.subscribe((c) => published.push(c));
  try {
    await h.play(frames);
    const ended = published.find((c) => c.state === 'ended' && c.recording?.fileName.startsWith(tag));
    expect(ended?.recording?.state).toBe('pending');
    const id = ended!.id;
    await waitFor(() => published.some((c) => c.id === id && c.recording?.state === 'stored'), 'the worker to store the recording');

    const agent = await loginAgent(ctx.app, manager.email, manager.password);
    const res = await agent.patch(`/api/calls/${id}`).send({ topic: 'Запис на манікюр' });
    expect(res.status).toBe(200);
    const last = published.filter((c) => c.id === id).at(-1)!;
    expect(last.topic).toBe('Запис на манікюр');
    expect(last.recording).toMatchObject({ state: 'stored', durationSeconds: expect.any(Number) });
    // versions only grow across the capture's, the fetcher's and the annotation's publications
    const versions = published.filter((c) => c.id === id).map((c) => c.version);
    expect(versions.every((v, i) => i === 0 || v > versions[i - 1]!)).toBe(true);
  } finally {
    unsubscribe();
  }
});
