import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Response } from 'superagent';
import { pcmBytes, recordingRow, seedRecording, sha256, SHORT_WAV, LONG_WAV, stereoRaw, tempDir, unique } from '../helpers/recordings';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * GET /api/calls/:id/recording and its neighbours on the real app and database: byte ranges as an
 * <audio> element uses them, who may listen, what the audit log keeps, path traversal, retention.
 * The recordings are stored by the real fetch worker from a source directory (RECORDINGS_SOURCE_DIR).
 */

const shortWav = fs.readFileSync(SHORT_WAV);
const longWav = fs.readFileSync(LONG_WAV);
const SIZE = longWav.length;

let ctx: TestContext;
let storeDir: string;
let sourceDir: string;
let prefix: string;
let n = 0;

type Agent = ReturnType<typeof request.agent>;
let owner: { id: string };
let ownerAgent: Agent;
let otherAgent: Agent;
let supervisorAgent: Agent;
let adminAgent: Agent;
let ownerToken: string;
let otherToken: string;

/** calls: a stored mono recording (long), a stereo one, one still pending, one without recording */
let stored: { callId: string; recordingId: string };
let stereo: { callId: string; recordingId: string };
let pending: { callId: string; recordingId: string };
let bare: string;

/** Collects a response body as bytes, whatever its type. */
function bytes(res: Response, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}
const json = (res: { body: Buffer }) =>
  JSON.parse(res.body.toString('utf8')) as { error: { code: string; message: string; details?: unknown } };

async function sourceFile(content: Buffer, ext = 'wav'): Promise<string> {
  const fileName = `${prefix}in-${Date.now()}.${n++}.${ext}`;
  fs.mkdirSync(path.join(sourceDir, path.dirname(fileName)), { recursive: true });
  fs.writeFileSync(path.join(sourceDir, fileName), content);
  return fileName;
}

beforeAll(async () => {
  storeDir = tempDir('play-store');
  sourceDir = tempDir('play-source');
  prefix = `calltrack/p${unique()}-`;
  ctx = await createTestContext({ recordings: { dir: storeDir, sourceDir, onlyFileNamePrefix: prefix } });
  const ext = ctx.f.extension();
  const o = await ctx.f.login('manager', [ext]);
  owner = o.user;
  ownerAgent = o.agent;
  const other = await ctx.f.login('manager', [ctx.f.extension()]);
  otherAgent = other.agent;
  supervisorAgent = (await ctx.f.login('supervisor')).agent;
  const a = await ctx.f.login('admin');
  adminAgent = a.agent;
  const token = async (userId: string) =>
    (await adminAgent.post('/api/tokens').send({ name: `t-${unique()}`, userId })).body.token as string;
  ownerToken = await token(owner.id);
  otherToken = await token(other.user.id);

  const call = { agentExtension: ext, agentUserId: owner.id, startedAt: new Date('2026-05-04T09:08:07Z') };
  stored = await seedRecording(ctx, { fileName: await sourceFile(longWav), call });
  const raw = stereoRaw(pcmBytes(shortWav), pcmBytes(longWav).subarray(0, 20_000));
  stereo = await seedRecording(ctx, { fileName: await sourceFile(raw, 'raw'), call: { ...call, direction: 'inbound' } });
  pending = await seedRecording(ctx, { fileName: `${prefix}nowhere.wav`, call, state: 'pending' });
  // the fetcher must not touch the pending one: its call is still in progress
  await ctx.ds.query(`UPDATE calls SET state = 'talking', ended_at = NULL WHERE id = $1`, [pending.callId]);
  bare = await ctx.f.call(call);
  expect(await ctx.parts.recordings.fetcher.runOnce()).toBe(2);
  expect((await recordingRow(ctx, stored.recordingId)).state).toBe('stored');
  expect((await recordingRow(ctx, stereo.recordingId)).state).toBe('stored');
});
afterAll(async () => {
  await ctx?.close();
  fs.rmSync(storeDir, { recursive: true, force: true });
  fs.rmSync(sourceDir, { recursive: true, force: true });
});

const url = (callId: string) => `/api/calls/${callId}/recording`;
const get = (agent: Agent | ReturnType<typeof request>, callId: string, range?: string) => {
  const req = agent.get(url(callId)).buffer(true).parse(bytes);
  return range === undefined ? req : req.set('Range', range);
};

describe('byte ranges', () => {
  it('the whole file: 200, audio/wav, Accept-Ranges, private, a strong ETag (its sha-256)', async () => {
    const res = await get(ownerAgent, stored.callId);
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'content-type': 'audio/wav',
      'content-length': String(SIZE),
      'accept-ranges': 'bytes',
      'cache-control': 'private',
      etag: `"${sha256(longWav)}"`,
      'x-content-type-options': 'nosniff',
    });
    expect(res.headers['content-disposition']).toBe(`inline; filename="call-2026-05-04-09-08-07-${stored.recordingId.slice(0, 8)}.wav"`);
    expect(Date.parse(res.headers['last-modified']!)).not.toBeNaN();
    expect(res.body.equals(longWav)).toBe(true);
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, SIZE - 1],
    ['bytes=-500', SIZE - 500, SIZE - 1],
    [`bytes=${SIZE - 1}-`, SIZE - 1, SIZE - 1],
    ['bytes=1000-999999999', 1000, SIZE - 1], // a last-pos past the end is cut to the end
    [`bytes=-${SIZE + 10}`, 0, SIZE - 1], // a suffix longer than the file is the file
    ['bytes=0-9, 50-59', 0, 59], // several ranges: coalesced into one
    ['bytes=500-599,0-9', 0, 599],
    ['bytes= 7 - 8 ', 7, 8],
  ])('%s → 206 with exactly bytes %i-%i', async (range, start, end) => {
    const res = await get(ownerAgent, stored.callId, range);
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.body.equals(longWav.subarray(start, end + 1))).toBe(true);
  });

  it.each([
    [`bytes=${SIZE}-`],
    [`bytes=${SIZE + 100}-${SIZE + 200}`],
    ['bytes=-0'],
    ['bytes=5-2'],
    ['bytes=abc'],
    ['bytes=0-1x'],
    ['bytes=-'],
    ['bytes='],
    ['bytes=1-2-3'],
    ['bytes=99999999999999999999-'],
  ])('%s → 416 with Content-Range: bytes */size and a JSON error', async (range) => {
    const res = await get(ownerAgent, stored.callId, range);
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${SIZE}`);
    expect(json(res).error.code).toBe('range-not-satisfiable');
  });

  it('a unit other than bytes is ignored (RFC 9110): the whole file', async () => {
    const res = await get(ownerAgent, stored.callId, 'items=0-5');
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(SIZE);
  });

  it('If-Range: the range only while the ETag (or date) still matches', async () => {
    const etag = `"${sha256(longWav)}"`;
    const lastModified = (await get(ownerAgent, stored.callId)).headers['last-modified']!;
    const same = await get(ownerAgent, stored.callId, 'bytes=0-9').set('If-Range', etag);
    expect([same.status, same.body.length]).toEqual([206, 10]);
    const byDate = await get(ownerAgent, stored.callId, 'bytes=0-9').set('If-Range', lastModified);
    expect([byDate.status, byDate.body.length]).toEqual([206, 10]);
    const changed = await get(ownerAgent, stored.callId, 'bytes=0-9').set('If-Range', '"something-else"');
    expect([changed.status, changed.body.length]).toEqual([200, SIZE]);
    const older = await get(ownerAgent, stored.callId, 'bytes=0-9').set('If-Range', 'Tue, 01 Jan 2019 00:00:00 GMT');
    expect([older.status, older.body.length]).toEqual([200, SIZE]);
  });

  it('HEAD: the same headers, no body', async () => {
    const res = await ownerAgent.head(url(stored.callId)).set('Range', 'bytes=10-19');
    expect(res.status).toBe(206);
    expect(res.headers).toMatchObject({ 'content-range': `bytes 10-19/${SIZE}`, 'content-length': '10', 'accept-ranges': 'bytes' });
    expect(res.text ?? '').toBe('');
  });

  it('?download=1: an attachment', async () => {
    const res = await ownerAgent
      .get(`${url(stored.callId)}?download=1`)
      .buffer(true)
      .parse(bytes);
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="call-2026-05-04-09-08-07-[0-9a-f]{8}\.wav"$/);
    expect(res.body.equals(longWav)).toBe(true);
  });
});

describe('who may listen', () => {
  it('owner manager 200, other manager 404, supervisor 200, admin 200, anonymous 401, API token as its user', async () => {
    const status = async (agent: Agent | ReturnType<typeof request>, headers: Record<string, string> = {}) =>
      (await get(agent, stored.callId, 'bytes=0-0').set(headers)).status;
    expect(await status(ownerAgent)).toBe(206);
    expect(await status(otherAgent)).toBe(404);
    expect(await status(supervisorAgent)).toBe(206);
    expect(await status(adminAgent)).toBe(206);
    expect(await status(request(ctx.app))).toBe(401);
    expect(await status(request(ctx.app), { Authorization: `Bearer ${ownerToken}` })).toBe(206);
    expect(await status(request(ctx.app), { Authorization: `Bearer ${otherToken}` })).toBe(404);
    expect(await status(request(ctx.app), { Authorization: 'Bearer ct_not-a-token' })).toBe(401);
    // the other manager learns nothing: the same 404 as a call that does not exist
    const hidden = await get(otherAgent, stored.callId);
    const none = await get(otherAgent, '00000000-0000-4000-8000-000000000000');
    expect(json(hidden)).toEqual(json(none));
    expect(hidden.body.includes(longWav.subarray(44, 100))).toBe(false);
    // the same rule for the waveform
    expect((await otherAgent.get(`${url(stored.callId)}/waveform`)).status).toBe(404);
    expect((await request(ctx.app).get(`${url(stored.callId)}/waveform`)).status).toBe(401);
  });

  it('no stored recording: 404 that says why (details.recordingState), or that there is none', async () => {
    const p = await get(ownerAgent, pending.callId);
    expect(p.status).toBe(404);
    expect(json(p).error).toMatchObject({ code: 'not-found', details: { recordingState: 'pending' } });
    expect(json(p).error.message).toMatch(/pending/);
    const b = await get(ownerAgent, bare);
    expect(b.status).toBe(404);
    expect(json(b).error.message).toBe('Recording of this call not found');
  });
});

describe('a stored file that is gone', () => {
  it('is a JSON 404 (missing), never a broken audio answer', async () => {
    const lost = await seedRecording(ctx, { fileName: await sourceFile(shortWav), call: { agentUserId: owner.id } });
    await ctx.parts.recordings.fetcher.runOnce();
    const row = await recordingRow(ctx, lost.recordingId);
    fs.rmSync(path.join(storeDir, row.stored_path!));
    const res = await get(ownerAgent, lost.callId, 'bytes=0-99');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-range']).toBeUndefined();
    expect(json(res).error).toMatchObject({ code: 'not-found', details: { recordingState: 'missing' } });
  });
});

describe('path traversal', () => {
  it('the id is a UUID or nothing: no path ever reaches the filesystem', async () => {
    for (const p of [
      '/api/calls/..%2f..%2fetc%2fpasswd/recording',
      '/api/calls/..%2F..%2F..%2F..%2Fetc%2Fpasswd/recording',
      '/api/calls/%2e%2e%2f%2e%2e%2fetc%2fpasswd/recording',
      '/api/calls/..%5c..%5cwindows%5cwin.ini/recording',
      '/api/calls/not-a-uuid/recording',
      `/api/calls/${stored.callId}%00/recording`,
      `/api/calls/${stored.callId}%2f..%2f..%2fetc%2fpasswd/recording`,
      '/api/calls/..%2f..%2fetc%2fpasswd/recording/waveform',
    ]) {
      const res = await adminAgent.get(p).buffer(true).parse(bytes);
      expect([p, res.status]).toEqual([p, 400]);
      expect(json(res).error.code).toBe('validation');
    }
    for (const p of ['/api/calls/../../etc/passwd/recording', `/api/calls/${stored.callId}/recording/../../../../etc/passwd`]) {
      const res = await adminAgent.get(p).buffer(true).parse(bytes);
      expect([p, res.status]).toEqual([p, 404]);
      expect(res.body.toString()).not.toMatch(/root:/);
    }
    const q = await get(adminAgent, stored.callId).query({ download: '../../etc/passwd' });
    expect(q.status).toBe(400);
  });

  it('even a tampered stored_path in the database is not followed outside RECORDINGS_DIR', async () => {
    const victim = await seedRecording(ctx, { fileName: `${prefix}tampered.wav`, call: { agentUserId: owner.id }, state: 'stored' });
    const u = unique(); // stored_path is unique, and the database may be kept between runs
    for (const storedPath of [
      `../../../../../../tmp/${u}/../../etc/passwd`,
      `/etc/${u}/../passwd`,
      `2026/05/${u}/../../../../../etc/passwd`,
    ]) {
      await ctx.ds.query(`UPDATE recordings SET stored_path = $2, sha256 = 'x' WHERE id = $1`, [victim.recordingId, storedPath]);
      const res = await get(adminAgent, victim.callId);
      expect([storedPath, res.status]).toEqual([storedPath, 500]);
      expect(res.body.toString()).not.toMatch(/root:/);
    }
    await ctx.ds.query(`UPDATE recordings SET stored_path = NULL WHERE id = $1`, [victim.recordingId]);
  });
});

describe('audit', () => {
  it('one recording.listen per user and call within 10 minutes, however many range requests; downloads apart; admins see them', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    const own = await seedRecording(ctx, { fileName: await sourceFile(shortWav), call: { agentExtension: ext, agentUserId: user.id } });
    await ctx.parts.recordings.fetcher.runOnce();
    for (const range of ['bytes=0-', 'bytes=1000-', 'bytes=5000-6000', undefined])
      expect((await get(agent, own.callId, range)).status).toBeLessThan(300);
    await agent.head(url(own.callId)); // HEAD plays nothing: not audited
    expect((await agent.get(`${url(own.callId)}?download=1`)).status).toBe(200);
    expect((await agent.get(`${url(own.callId)}?download=true`)).status).toBe(200);
    expect((await get(otherAgent, own.callId)).status).toBe(404); // refused: not audited as a listen

    const rows = (await ctx.ds.query(
      `SELECT action, entity_type, entity_id, details, ip FROM audit_log WHERE actor_user_id = $1 AND action LIKE 'recording.%' ORDER BY at`,
      [user.id],
    )) as { action: string; entity_type: string; entity_id: string; details: Record<string, unknown>; ip: string }[];
    expect(rows).toEqual([
      {
        action: 'recording.listen',
        entity_type: 'call',
        entity_id: own.callId,
        details: { recordingId: own.recordingId, range: `0-${shortWav.length - 1}` },
        ip: expect.any(String),
      },
      {
        action: 'recording.download',
        entity_type: 'call',
        entity_id: own.callId,
        details: { recordingId: own.recordingId },
        ip: expect.any(String),
      },
    ]);
    // another user listening is their own entry
    expect((await get(supervisorAgent, own.callId)).status).toBe(200);
    const res = await adminAgent.get('/api/audit').query({ entity: own.callId, action: 'recording.listen' });
    expect(res.status).toBe(200);
    const listens = res.body.items as { action: string; entityId: string; actor: { id: string; name: string } }[];
    expect(listens).toHaveLength(2);
    expect(listens.map((i) => i.actor.id)).toContain(user.id);
    expect((await agent.get('/api/audit')).status).toBe(403);
  });
});

describe('waveform', () => {
  it('peaks per channel in 0..1; a stereo recording says which channel is the customer', async () => {
    const mono = await ownerAgent.get(`${url(stored.callId)}/waveform?buckets=50`);
    expect(mono.status).toBe(200);
    expect(mono.headers['cache-control']).toBe('private');
    expect(mono.body).toMatchObject({ sampleRate: 8000, channels: 1, customerChannel: null });
    expect(mono.body.durationSeconds).toBeCloseTo((SIZE - 44) / 16000, 3);
    expect(mono.body.peaks).toHaveLength(1);
    expect(mono.body.peaks[0]).toHaveLength(50);
    for (const p of mono.body.peaks[0] as number[]) expect(p >= 0 && p <= 1).toBe(true);
    expect(Math.max(...(mono.body.peaks[0] as number[]))).toBeGreaterThan(0);

    const st = await ownerAgent.get(`${url(stereo.callId)}/waveform`);
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({ channels: 2, customerChannel: 0 });
    expect(st.body.peaks.map((p: number[]) => p.length)).toEqual([600, 600]);

    expect((await ownerAgent.get(`${url(stored.callId)}/waveform?buckets=5`)).status).toBe(400);
    expect((await ownerAgent.get(`${url(stored.callId)}/waveform?path=/etc/passwd`)).status).toBe(400);
    expect((await ownerAgent.get(`${url(pending.callId)}/waveform`)).status).toBe(404);
  });
});

describe('retention', () => {
  it('deletes the files of recordings stored longer than N days; the record stays, purged; playback says so', async () => {
    const old = await seedRecording(ctx, { fileName: await sourceFile(shortWav), call: { agentUserId: owner.id } });
    const recent = await seedRecording(ctx, { fileName: await sourceFile(shortWav), call: { agentUserId: owner.id } });
    await ctx.parts.recordings.fetcher.runOnce();
    const before = await recordingRow(ctx, old.recordingId);
    const file = path.join(storeDir, before.stored_path!);
    expect(fs.existsSync(file)).toBe(true);
    await ctx.ds.query(`UPDATE recordings SET stored_at = clock_timestamp() - interval '31 days' WHERE id = $1`, [old.recordingId]);
    await ctx.ds.query(`UPDATE recordings SET stored_at = clock_timestamp() - interval '29 days' WHERE id = $1`, [recent.recordingId]);

    expect(await ctx.parts.recordings.retention.purge(0)).toBe(0); // 0: kept forever
    expect(await ctx.parts.recordings.retention.purge(30)).toBe(1);

    expect(fs.existsSync(file)).toBe(false);
    const after = await recordingRow(ctx, old.recordingId);
    expect(after).toMatchObject({ state: 'purged', stored_path: null, sha256: before.sha256, size_bytes: before.size_bytes });
    expect(after.purged_at).toBeInstanceOf(Date);
    const res = await get(ownerAgent, old.callId);
    expect(res.status).toBe(404);
    expect(json(res).error).toMatchObject({ details: { recordingState: 'purged' } });
    expect(json(res).error.message).toMatch(/retention/);
    const call = await ownerAgent.get(`/api/calls/${old.callId}`);
    expect(call.body.recording).toMatchObject({ id: old.recordingId, state: 'purged' });
    // the recent one plays on
    expect((await recordingRow(ctx, recent.recordingId)).state).toBe('stored');
    expect((await get(ownerAgent, recent.callId)).status).toBe(200);
    // a second purge finds nothing more
    expect(await ctx.parts.recordings.retention.purge(30)).toBe(0);
  });

  it('runs at start when RECORDINGS_RETENTION_DAYS is set, and not when it is 0', async () => {
    const local = await createTestContext({ recordings: { dir: storeDir, sourceDir, onlyFileNamePrefix: prefix, retentionDays: 30 } });
    try {
      const old = await seedRecording(local, { fileName: await sourceFile(shortWav), call: {} });
      await local.parts.recordings.fetcher.runOnce();
      await local.ds.query(`UPDATE recordings SET stored_at = clock_timestamp() - interval '40 days' WHERE id = $1`, [old.recordingId]);
      local.parts.recordings.retention.start();
      await local.parts.recordings.retention.stop(); // waits for the run start() began
      expect((await recordingRow(local, old.recordingId)).state).toBe('purged');
    } finally {
      await local.close();
    }
    const forever = await createTestContext({ recordings: { dir: storeDir, sourceDir, onlyFileNamePrefix: prefix } });
    try {
      const old = await seedRecording(forever, { fileName: await sourceFile(shortWav), call: {} });
      await forever.parts.recordings.fetcher.runOnce();
      await forever.ds.query(`UPDATE recordings SET stored_at = clock_timestamp() - interval '4000 days' WHERE id = $1`, [old.recordingId]);
      forever.parts.recordings.retention.start();
      await forever.parts.recordings.retention.stop();
      expect((await recordingRow(forever, old.recordingId)).state).toBe('stored');
    } finally {
      await forever.close();
    }
  });
});
