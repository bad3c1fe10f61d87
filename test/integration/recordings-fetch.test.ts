import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { AriClient } from '../../src/asterisk/ari.client';
import type { CallRecordDto } from '../../src/calls/call-record';
import { ariName } from '../../src/recordings/recording-sources';
import { parseWavHeader } from '../../src/recordings/wav';
import { startFakeAri, type FakeAri } from '../helpers/fake-ari';
import {
  connectedAri,
  filesUnder,
  LONG_WAV,
  makeDue,
  pcmBytes,
  recordingRow,
  seedRecording,
  sha256,
  SHORT_WAV,
  stereoRaw,
  tempDir,
  unique,
  until,
} from '../helpers/recordings';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * The fetch worker through the real ARI client wrapper against the fake ARI server on the wire
 * (real HTTP, real WAV files from the lab Asterisk), the real database and the real call bus; and
 * the directory source (RECORDINGS_SOURCE_DIR). Time never passes in these tests: a planned retry
 * is made due by moving its next_attempt_at, and runOnce() runs the worker to completion.
 */

const shortWav = fs.readFileSync(SHORT_WAV);
const longWav = fs.readFileSync(LONG_WAV);

const BASE_MS = 60_000;
const retry = { baseMs: BASE_MS, capMs: 3_600_000, maxAttempts: 3, notFoundDelaysMs: [20_000, 40_000], random: () => 1 };

let fake: FakeAri;
let ari: AriClient;
const contexts: TestContext[] = [];
const dirs: string[] = [];

/** A context of its own: its own recordings dir, and only its own file names (prefix) in its work list. */
async function context(o: { ari?: AriClient; sourceDir?: string; deleteFromPbx?: boolean } = {}) {
  const dir = tempDir('rec-store');
  dirs.push(dir);
  const prefix = `calltrack/t${unique()}-`;
  const ctx = await createTestContext({
    ari: o.ari,
    recordings: {
      dir,
      sourceDir: o.sourceDir,
      deleteFromPbx: o.deleteFromPbx,
      fetch: { retry, concurrency: 2 },
      onlyFileNamePrefix: prefix,
    },
  });
  contexts.push(ctx);
  const fetcher = ctx.parts.recordings.fetcher;
  const published: CallRecordDto[] = [];
  ctx.parts.bus.subscribe((c) => published.push(c));
  let n = 0;
  const name = (kind = 'in', ext = 'wav') => `${prefix}${kind}-${Date.now()}.${n++}.${ext}`;
  return { ctx, dir, prefix, fetcher, published, name };
}

beforeAll(async () => {
  fake = await startFakeAri();
  ari = await connectedAri(fake);
});
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.parts.recordings.stop()));
  await Promise.all(contexts.map((c) => c.close()));
  await ari?.stop();
  await fake?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const fileRequests = (name: string) =>
  fake.requests().filter((r) => r.method === 'GET' && r.path === `/ari/recordings/stored/${name.replace(/\.\w+$/, '')}/file`);

describe('fetching from ARI', () => {
  it('downloads a finished call’s WAV, verifies and stores it under <yyyy>/<mm>/<id>.wav, and publishes the call', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    fake.setRecording(fileName, shortWav);
    const startedAt = new Date('2026-03-15T10:00:00Z');
    const { callId, recordingId } = await seedRecording(t.ctx, { fileName, call: { startedAt } });

    expect(await t.fetcher.runOnce()).toBe(1);

    const row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({
      state: 'stored',
      source: 'ari',
      stored_path: `2026/03/${recordingId}.wav`,
      sha256: sha256(shortWav),
      size_bytes: String(shortWav.length),
      channels: 1,
      sample_rate: 8000,
      customer_channel: null,
      attempts: 1,
      last_error: null,
      next_attempt_at: null,
      deleted_from_pbx_at: null,
      analytics: null,
    });
    expect(row.duration_seconds).toBeCloseTo((shortWav.length - 44) / 16000, 6);
    expect(row.stored_at).toBeInstanceOf(Date);
    // the copy is the file, byte for byte; nothing is left in .incoming
    expect(fs.readFileSync(path.join(t.dir, row.stored_path!)).equals(shortWav)).toBe(true);
    expect(filesUnder(t.dir)).toEqual([row.stored_path]);
    // what Asterisk saw: the metadata and the file by the ARI name (the file name without .wav), no delete
    const asked = fake.requests().filter((r) => r.path.includes(fileName.replace(/\.wav$/, '')));
    expect(asked.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /ari/recordings/stored/${fileName.replace(/\.wav$/, '')} 200`,
      `GET /ari/recordings/stored/${fileName.replace(/\.wav$/, '')}/file 200`,
    ]);
    expect(fake.hasRecording(ariName(fileName))).toBe(true);
    // live cards learn the new state: the whole record, a newer version
    const pushed = t.published.filter((c) => c.id === callId);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]!.recording).toEqual({
      id: recordingId,
      fileName,
      state: 'stored',
      durationSeconds: row.duration_seconds,
      url: `/api/calls/${callId}/recording`,
      channels: 1,
      analytics: null,
    });
    const { agent } = await t.ctx.f.login('admin');
    const rest = await agent.get(`/api/calls/${callId}`);
    expect(rest.body.recording).toEqual(pushed[0]!.recording);
    expect(rest.body.version).toBe(pushed[0]!.version);
    // nothing more to do
    expect(await t.fetcher.runOnce()).toBe(0);
  });

  it('a failed download is retried with backoff, and succeeds on the retry', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    fake.setRecording(fileName, longWav);
    const { recordingId } = await seedRecording(t.ctx, { fileName });

    fake.failNext('GET /ari/recordings/stored/{name}/file', 500, 'Internal Server Error');
    expect(await t.fetcher.runOnce()).toBe(1);
    let row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'failed', attempts: 1, stored_path: null });
    expect(row.last_error).toMatch(/HTTP 500/);
    // backoff: base · 2^0 with the jitter at its top (random = 1): 60 s from now
    expect(row.next_in_seconds).toBeGreaterThan(BASE_MS / 1000 - 5);
    expect(row.next_in_seconds).toBeLessThanOrEqual(BASE_MS / 1000);
    expect(filesUnder(t.dir)).toEqual([]);
    // not due yet: nothing happens
    expect(await t.fetcher.runOnce()).toBe(0);

    // the connection drops halfway through the file: not a copy
    await makeDue(t.ctx, recordingId);
    fake.failNext('GET /ari/recordings/stored/{name}/file', 'truncate');
    expect(await t.fetcher.runOnce()).toBe(1);
    row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'failed', attempts: 2, stored_path: null });
    expect(row.next_in_seconds).toBeGreaterThan((2 * BASE_MS) / 1000 - 5); // doubled
    expect(filesUnder(t.dir)).toEqual([]);

    await makeDue(t.ctx, recordingId);
    expect(await t.fetcher.runOnce()).toBe(1);
    row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'stored', attempts: 3, last_error: null, next_attempt_at: null, sha256: sha256(longWav) });
    expect(fs.readFileSync(path.join(t.dir, row.stored_path!)).equals(longWav)).toBe(true);
    expect(fileRequests(fileName).map((r) => r.status)).toEqual([500, -1, 200]);
  });

  it('stays failed after maxAttempts, until a supervisor asks for a retry', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    fake.setRecording(fileName, shortWav);
    const { callId, recordingId } = await seedRecording(t.ctx, { fileName });
    for (let i = 0; i < retry.maxAttempts; i++) {
      fake.failNext('GET /ari/recordings/stored/{name}', 503);
      await makeDue(t.ctx, recordingId);
      expect(await t.fetcher.runOnce()).toBe(1);
    }
    let row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'failed', attempts: 3, next_attempt_at: null });
    expect(await t.fetcher.runOnce()).toBe(0); // given up

    const { agent: manager } = await t.ctx.f.login('manager');
    expect((await manager.post(`/api/calls/${callId}/recording/retry`)).status).toBe(403);
    const { user: supervisorUser, agent: supervisor } = await t.ctx.f.login('supervisor');
    const res = await supervisor.post(`/api/calls/${callId}/recording/retry`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: recordingId, callId, state: 'pending', attempts: 0, lastError: null });
    expect(await t.fetcher.runOnce()).toBe(1);
    row = await recordingRow(t.ctx, recordingId);
    expect(row.state).toBe('stored');
    // a stored recording is not retried
    const again = await supervisor.post(`/api/calls/${callId}/recording/retry`);
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ recordingState: 'stored' });
    const audit = (await t.ctx.ds.query(
      `SELECT action, entity_id, details FROM audit_log WHERE actor_user_id = $1 AND action LIKE 'recording.%'`,
      [supervisorUser.id],
    )) as { action: string; entity_id: string; details: Record<string, unknown> }[];
    expect(audit).toEqual([{ action: 'recording.retry', entity_id: callId, details: { recordingId } }]);
  });

  it('a file Asterisk does not have (yet) is looked for again on a short schedule, then is missing', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    const { callId, recordingId } = await seedRecording(t.ctx, { fileName });

    expect(await t.fetcher.runOnce()).toBe(1);
    let row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row.last_error).toMatch(/not found/);
    expect(row.next_in_seconds).toBeGreaterThan(15);
    expect(row.next_in_seconds).toBeLessThanOrEqual(20);

    await makeDue(t.ctx, recordingId);
    await t.fetcher.runOnce();
    row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'pending', attempts: 2 });
    expect(row.next_in_seconds).toBeGreaterThan(35);

    await makeDue(t.ctx, recordingId);
    await t.fetcher.runOnce();
    row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'missing', attempts: 3, next_attempt_at: null });
    expect(t.published.filter((c) => c.id === callId).map((c) => c.recording?.state)).toEqual(['missing']);
    expect(await t.fetcher.runOnce()).toBe(0);

    // it turns up after all: a retry fetches it
    fake.setRecording(fileName, shortWav);
    const { agent: admin } = await t.ctx.f.login('admin');
    expect((await admin.post(`/api/calls/${callId}/recording/retry`)).status).toBe(202);
    await t.fetcher.runOnce();
    expect((await recordingRow(t.ctx, recordingId)).state).toBe('stored');
  });

  it('wraps a MixMonitor D .raw into a two-channel 8 kHz WAV, with talk analytics; the customer channel follows the direction', async () => {
    const t = await context({ ari });
    const speech = pcmBytes(shortWav);
    const other = pcmBytes(longWav).subarray(0, speech.length);
    // left: the customer's voice, right: the agent's; 2 stray bytes at the end (a torn last frame)
    const raw = Buffer.concat([stereoRaw(speech, other), Buffer.from([1, 2])]);
    const inbound = t.name('in', 'raw');
    const outbound = t.name('out', 'raw');
    fake.setRecording(inbound, raw);
    fake.setRecording(outbound, raw);
    const a = await seedRecording(t.ctx, { fileName: inbound, call: { direction: 'inbound' } });
    const b = await seedRecording(t.ctx, { fileName: outbound, call: { direction: 'outbound' } });

    expect(await t.fetcher.runOnce()).toBe(2);

    for (const [rec, customerChannel] of [
      [a, 0],
      [b, 1],
    ] as const) {
      const row = await recordingRow(t.ctx, rec.recordingId);
      expect(row).toMatchObject({ state: 'stored', channels: 2, sample_rate: 8000, customer_channel: customerChannel });
      const stored = fs.readFileSync(path.join(t.dir, row.stored_path!));
      const info = parseWavHeader(stored, stored.length);
      expect(info).toMatchObject({ audioFormat: 1, channels: 2, sampleRate: 8000, bitsPerSample: 16, dataOffset: 44 });
      expect(stored.subarray(44).equals(raw.subarray(0, raw.length - 2))).toBe(true);
      expect(row).toMatchObject({ size_bytes: String(stored.length), sha256: sha256(stored) });
      expect(row.duration_seconds).toBeCloseTo((raw.length - 2) / 32000, 6);
      expect(row.analytics).toEqual({
        durationSeconds: expect.any(Number),
        agentTalkSeconds: expect.any(Number),
        customerTalkSeconds: expect.any(Number),
        agentTalkShare: expect.any(Number),
        talkListenRatio: expect.any(Number),
        longestMonologueSeconds: expect.any(Number),
        longestMonologueBy: expect.stringMatching(/^(agent|customer)$/),
        silenceShare: expect.any(Number),
        overtalkSeconds: expect.any(Number),
        overtalkShare: expect.any(Number),
      });
      const analytics = row.analytics as Record<string, number>;
      // the filter columns are copies
      expect([row.agent_talk_share, row.silence_share, row.overtalk_share, row.longest_monologue_seconds]).toEqual([
        analytics.agentTalkShare,
        analytics.silenceShare,
        analytics.overtalkShare,
        analytics.longestMonologueSeconds,
      ]);
    }
    // the same audio with the sides swapped: the agent of one is the customer of the other
    const [ra, rb] = [await recordingRow(t.ctx, a.recordingId), await recordingRow(t.ctx, b.recordingId)];
    expect(ra.analytics!.agentTalkSeconds).toBe(rb.analytics!.customerTalkSeconds);
    expect(ra.analytics!.customerTalkSeconds).toBe(rb.analytics!.agentTalkSeconds);
    const { agent } = await t.ctx.f.login('admin');
    const call = (await agent.get(`/api/calls/${a.callId}`)).body as CallRecordDto;
    expect(call.recording).toMatchObject({ state: 'stored', channels: 2, analytics: ra.analytics });
  });

  it('a header-only WAV (a call never bridged) is empty, with no file kept', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    fake.setRecording(fileName, shortWav.subarray(0, 44));
    const { recordingId } = await seedRecording(t.ctx, { fileName });
    await t.fetcher.runOnce();
    expect(await recordingRow(t.ctx, recordingId)).toMatchObject({
      state: 'empty',
      stored_path: null,
      size_bytes: '44',
      duration_seconds: 0,
    });
    expect(filesUnder(t.dir)).toEqual([]);
  });

  it('something that is not a WAV is not stored', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    fake.setRecording(fileName, Buffer.from('<html>not audio</html>'));
    const { recordingId } = await seedRecording(t.ctx, { fileName });
    await t.fetcher.runOnce();
    const row = await recordingRow(t.ctx, recordingId);
    expect(row).toMatchObject({ state: 'failed', stored_path: null });
    expect(row.last_error).toMatch(/not a usable WAV file/);
    expect(filesUnder(t.dir)).toEqual([]);
  });

  it('leaves calls in progress alone, and claims nothing while ARI is not connected', async () => {
    const t = await context({ ari });
    const live = t.name();
    fake.setRecording(live, shortWav);
    const { recordingId } = await seedRecording(t.ctx, { fileName: live, call: { state: 'talking', endedAt: null } });
    expect(await t.fetcher.runOnce()).toBe(0);
    expect(await recordingRow(t.ctx, recordingId)).toMatchObject({ state: 'pending', attempts: 0 });

    const disconnected = await connectedAri(fake);
    const d = await context({ ari: disconnected });
    const fileName = d.name();
    fake.setRecording(fileName, shortWav);
    const rec = await seedRecording(d.ctx, { fileName });
    await disconnected.stop();
    expect(await d.fetcher.runOnce()).toBe(0);
    expect(await recordingRow(d.ctx, rec.recordingId)).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('two processes on one database never fetch the same file (row claims)', async () => {
    const dir = tempDir('rec-store');
    dirs.push(dir);
    const prefix = `calltrack/t${unique()}-`;
    const settings = { dir, fetch: { retry, concurrency: 3 }, onlyFileNamePrefix: prefix };
    const [one, two] = await Promise.all([
      createTestContext({ ari, recordings: settings }),
      createTestContext({ ari, recordings: settings }),
    ]);
    contexts.push(one, two);
    const names = Array.from({ length: 12 }, (_, i) => `${prefix}in-${Date.now()}.${i}.wav`);
    const ids: string[] = [];
    for (const name of names) {
      fake.setRecording(name, shortWav);
      ids.push((await seedRecording(one, { fileName: name })).recordingId);
    }
    const [a, b] = await Promise.all([one.parts.recordings.fetcher.runOnce(), two.parts.recordings.fetcher.runOnce()]);
    expect(a + b).toBe(12);
    for (const name of names) expect(fileRequests(name)).toHaveLength(1);
    for (const id of ids) expect(await recordingRow(one, id)).toMatchObject({ state: 'stored', attempts: 1 });
  });

  it('the running worker wakes up when the bus says a call with a recording ended', async () => {
    const dir = tempDir('rec-store');
    dirs.push(dir);
    const prefix = `calltrack/t${unique()}-`;
    const ctx = await createTestContext({
      ari,
      recordings: { dir, fetch: { retry, pollMs: 3_600_000, wakeDelayMs: 0 }, onlyFileNamePrefix: prefix },
    });
    contexts.push(ctx);
    ctx.parts.recordings.start(); // its first run finds nothing
    await until(async () => (await ctx.parts.recordings.fetcher.runOnce()) === 0, 'the first run');
    const fileName = `${prefix}in-${Date.now()}.1.wav`;
    fake.setRecording(fileName, shortWav);
    const { callId, recordingId } = await seedRecording(ctx, { fileName });
    const [call] = await ctx.parts.callsRepo.findByIds([callId]);
    expect(call!.recording?.state).toBe('pending');

    ctx.parts.bus.publish(call!); // as the capture pipeline does when the call ends

    await until(async () => (await recordingRow(ctx, recordingId)).state === 'stored', 'the recording stored');
    await ctx.parts.recordings.stop();
  });
});

describe('RECORDINGS_DELETE_FROM_PBX', () => {
  it('deletes the PBX’s copy only after the copy here is verified and recorded', async () => {
    const t = await context({ ari, deleteFromPbx: true });
    const fileName = t.name();
    const base = fileName.replace(/\.wav$/, '');
    fake.setRecording(fileName, shortWav);
    const { recordingId } = await seedRecording(t.ctx, { fileName });
    const trail = () =>
      fake
        .requests()
        .filter((r) => r.path.startsWith(`/ari/recordings/stored/${base}`))
        .map((r) => `${r.method} ${r.path.slice(base.length + 23) || '.'} ${r.status}`);

    // a download that breaks off: nothing is deleted
    fake.failNext('GET /ari/recordings/stored/{name}/file', 'truncate');
    await t.fetcher.runOnce();
    expect((await recordingRow(t.ctx, recordingId)).state).toBe('failed');
    expect(fake.hasRecording(ariName(fileName))).toBe(true);

    await makeDue(t.ctx, recordingId);
    await t.fetcher.runOnce();
    const row = await recordingRow(t.ctx, recordingId);
    expect(row.state).toBe('stored');
    expect(row.deleted_from_pbx_at).toBeInstanceOf(Date);
    expect(row.deleted_from_pbx_at!.getTime()).toBeGreaterThanOrEqual(row.stored_at!.getTime());
    expect(fake.hasRecording(ariName(fileName))).toBe(false);
    expect(trail()).toEqual(['GET . 200', 'GET /file -1', 'GET . 200', 'GET /file 200', 'DELETE . 204']);
    expect(fs.readFileSync(path.join(t.dir, row.stored_path!)).equals(shortWav)).toBe(true);

    // a file that fails verification is never deleted
    const bad = t.name();
    fake.setRecording(bad, Buffer.from('RIFF....WAVEjunk'));
    const ko = await seedRecording(t.ctx, { fileName: bad });
    await t.fetcher.runOnce();
    expect((await recordingRow(t.ctx, ko.recordingId)).state).toBe('failed');
    expect(fake.hasRecording(ariName(bad))).toBe(true);
    expect(fake.requests().filter((r) => r.method === 'DELETE' && r.path.includes(bad.replace(/\.wav$/, '')))).toEqual([]);
  });
});

describe('RECORDINGS_DELETE_FROM_PBX after a failed delete', () => {
  it('deletes the PBX copy a failed delete left behind at a later run, once the copy is a minute old', async () => {
    const t = await context({ ari, deleteFromPbx: true });
    const fileName = t.name();
    fake.setRecording(fileName, shortWav);
    const { recordingId } = await seedRecording(t.ctx, { fileName });
    fake.failNext('DELETE /ari/recordings/stored/{name}', 500);
    await t.fetcher.runOnce();
    expect(await recordingRow(t.ctx, recordingId)).toMatchObject({ state: 'stored', deleted_from_pbx_at: null });
    expect(fake.hasRecording(ariName(fileName))).toBe(true);

    // within the minute: left alone (a delete right after a copy, maybe on another node, may be running)
    await t.fetcher.runOnce();
    expect(fake.hasRecording(ariName(fileName))).toBe(true);

    await t.ctx.ds.query(`UPDATE recordings SET stored_at = stored_at - interval '2 minutes' WHERE id = $1`, [recordingId]);
    fake.failNext('DELETE /ari/recordings/stored/{name}', 503);
    await t.fetcher.runOnce();
    expect((await recordingRow(t.ctx, recordingId)).deleted_from_pbx_at).toBeNull();
    await t.fetcher.runOnce();
    const row = await recordingRow(t.ctx, recordingId);
    expect(row.deleted_from_pbx_at).toBeInstanceOf(Date);
    expect(fake.hasRecording(ariName(fileName))).toBe(false);

    // a copy already gone from the PBX counts as deleted
    const gone = t.name();
    fake.setRecording(gone, shortWav);
    const second = await seedRecording(t.ctx, { fileName: gone });
    fake.failNext('DELETE /ari/recordings/stored/{name}', 500);
    await t.fetcher.runOnce();
    await t.ctx.ds.query(`UPDATE recordings SET stored_at = stored_at - interval '2 minutes' WHERE id = $1`, [second.recordingId]);
    fake.failNext('DELETE /ari/recordings/stored/{name}', 404);
    await t.fetcher.runOnce();
    expect((await recordingRow(t.ctx, second.recordingId)).deleted_from_pbx_at).toBeInstanceOf(Date);
  });
});

describe('RECORDINGS_SOURCE_DIR (a directory shared with Asterisk)', () => {
  it('copies from the directory; a name that leaves it fails for good; with delete, the source file goes after the copy', async () => {
    const source = tempDir('rec-source');
    dirs.push(source);
    const t = await context({ sourceDir: source, deleteFromPbx: true });
    const fileName = t.name();
    fs.mkdirSync(path.join(source, path.dirname(fileName)), { recursive: true });
    fs.writeFileSync(path.join(source, fileName), longWav);
    const outside = tempDir('rec-outside');
    dirs.push(outside);
    fs.writeFileSync(path.join(outside, 'secret.wav'), shortWav);
    // calltrack/t…-/../../../<a sibling of the source dir>/secret.wav
    const escape = `${t.prefix}/../../../${path.basename(outside)}/secret.wav`;
    const ok = await seedRecording(t.ctx, { fileName });
    const ko = await seedRecording(t.ctx, { fileName: escape });

    await t.fetcher.runOnce();

    const row = await recordingRow(t.ctx, ok.recordingId);
    expect(row).toMatchObject({ state: 'stored', source: 'dir', sha256: sha256(longWav) });
    expect(row.deleted_from_pbx_at).toBeInstanceOf(Date);
    expect(fs.existsSync(path.join(source, fileName))).toBe(false);
    const bad = await recordingRow(t.ctx, ko.recordingId);
    expect(bad).toMatchObject({ state: 'failed', next_attempt_at: null, stored_path: null });
    expect(bad.last_error).toMatch(/leaves/);
    expect(fs.existsSync(path.join(outside, 'secret.wav'))).toBe(true);
    expect(filesUnder(t.dir)).toEqual([row.stored_path]);
  });

  it('a missing file in the directory is missing after the not-found schedule', async () => {
    const source = tempDir('rec-source');
    dirs.push(source);
    const t = await context({ sourceDir: source });
    const { recordingId } = await seedRecording(t.ctx, { fileName: t.name() });
    for (let i = 0; i < 3; i++) {
      await makeDue(t.ctx, recordingId);
      await t.fetcher.runOnce();
    }
    expect(await recordingRow(t.ctx, recordingId)).toMatchObject({ state: 'missing', attempts: 3 });
  });
});

describe('API', () => {
  it('GET /api/recordings: supervisors see counts by state and the latest failures', async () => {
    const t = await context({ ari });
    const fileName = t.name();
    const { callId, recordingId } = await seedRecording(t.ctx, { fileName });
    fake.failNext('GET /ari/recordings/stored/{name}', 500);
    await t.fetcher.runOnce();
    const { agent: supervisor } = await t.ctx.f.login('supervisor');
    const res = await supervisor.get('/api/recordings?state=failed&limit=100');
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('ari');
    expect(res.body.counts.failed).toBeGreaterThanOrEqual(1);
    expect(Object.keys(res.body.counts).sort()).toEqual(['empty', 'failed', 'missing', 'pending', 'purged', 'stored']);
    expect(res.body.items.find((i: { id: string }) => i.id === recordingId)).toMatchObject({
      callId,
      fileName,
      state: 'failed',
      attempts: 1,
      lastError: expect.stringMatching(/HTTP 500/),
      nextAttemptAt: expect.any(String),
    });
    const { agent: manager } = await t.ctx.f.login('manager');
    expect((await manager.get('/api/recordings')).status).toBe(403);
    expect((await request(t.ctx.app).get('/api/recordings')).status).toBe(401);
    expect((await supervisor.get('/api/recordings?state=lost')).status).toBe(400);
  });
});
