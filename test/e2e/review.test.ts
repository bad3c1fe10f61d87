import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { classifyFrame, parseTranscript, rewriteTranscript, startDemoPbx, type DemoPbx } from '../../src/asterisk/demo-pbx';
import type { CallRecordDto } from '../../src/calls/call-record';
import { parseWavHeader, wavHeader } from '../../src/recordings/wav';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { apiCall, loginCookie, openLoggedIn, until } from '../helpers/e2e';

/**
 * Call review, for real: the fake PBX (a TCP server speaking AMI) plays a captured Asterisk call
 * (answered by 101, transferred to 102) into the compiled server; its recording waits in the
 * directory shared with "Asterisk" (RECORDINGS_SOURCE_DIR) and the server fetches and stores it.
 * A supervisor opens the review queue, plays the recording, seeks to 0:07 on the waveform, scores
 * every criterion, pins a comment at 0:07 and submits; the manager who owns 101 logs in, sees the
 * score and the comment at 0:07 in "Reviews" and on the call page, and replies.
 */
const artifacts = path.resolve(__dirname, '../../test-artifacts');
const SCENARIO = path.resolve(__dirname, '../fixtures/ami/attended_transfer');
const LINKED_ID = '1795714621.46';
const RECORDING = `in-380441234567-${LINKED_ID}.wav`;
const AMI = { username: 'calltrack', secret: crypto.randomBytes(12).toString('hex') };

let dataDir: string;
let sourceDir: string;
let pbx: DemoPbx;
let server: ServerProcess;
let browser: Browser;
let cookie = '';
const contexts: BrowserContext[] = [];

const api = <T>(method: string, url: string, body?: unknown, as = cookie) => apiCall<T>(server.url, method, url, body, as);
const login = (email: string, password: string) => loginCookie(server.url, email, password);

/**
 * A two-channel recording as MixMonitor `D` writes it for an inbound call (left: the customer,
 * right: the agent), made from the scenario's real mono recording: the customer speaks the
 * first 5 s and the last 2 s, the agent from 4.5 s to 10.5 s (half a second of overtalk at each end).
 */
function stereoRecording(): Buffer {
  const mono = fs.readFileSync(path.join(SCENARIO, RECORDING));
  const info = parseWavHeader(mono, mono.length);
  expect(info).toMatchObject({ audioFormat: 1, channels: 1, bitsPerSample: 16 });
  const frames = info.dataBytes / 2;
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const t = i / info.sampleRate;
    const s = mono.readInt16LE(info.dataOffset + i * 2);
    data.writeInt16LE(t < 5 || t >= 10 ? s : 0, i * 4);
    data.writeInt16LE(t >= 4.5 && t < 10.5 ? s : 0, i * 4 + 2);
  }
  return Buffer.concat([wavHeader({ channels: 2, sampleRate: info.sampleRate, bitsPerSample: 16, dataBytes: data.length }), data]);
}

async function openAs(email: string, password: string): Promise<Page> {
  const page = await openLoggedIn(browser, server.url, email, password);
  contexts.push(page.context());
  return page;
}

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-review-'));
  sourceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-review-pbx-'));
  pbx = await startDemoPbx({ port: 0, username: AMI.username, secret: AMI.secret, uptimeSeconds: 3600 });
  server = await startServerProcess({
    DATA_DIR: dataDir,
    AMI_HOST: '127.0.0.1',
    AMI_PORT: String(pbx.address().port),
    AMI_USERNAME: AMI.username,
    AMI_SECRET: AMI.secret,
    RECORDINGS_SOURCE_DIR: sourceDir,
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
  });
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
  await pbx?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(sourceDir, { recursive: true, force: true });
});

it('a supervisor plays, seeks, scores and comments at 0:07; the manager sees it and replies', async () => {
  // ---- setup through the API, as the first admin
  const announcement = server.logs.find((l) => typeof l.oneTimePassword === 'string');
  cookie = await login('admin@calltrack.local', String(announcement!.oneTimePassword));
  const manager = {
    email: 'olena@salon.test',
    name: 'Олена Коваль',
    password: 'manager-a-password',
    role: 'manager',
    extensions: ['101'],
    locale: 'uk',
  };
  const supervisor = {
    email: 'svitlana@salon.test',
    name: 'Світлана Бондар',
    password: 'supervisor-password',
    role: 'supervisor',
    extensions: [],
    locale: 'uk',
  };
  await api('POST', '/api/users', manager);
  await api('POST', '/api/users', supervisor);
  // 101 transfers the customer to 102: a colleague's phone (an extension nobody owns would count as an outside number)
  await api('POST', '/api/users', {
    email: 'bohdan@salon.test',
    name: 'Богдан Мельник',
    password: 'manager-b-password',
    role: 'manager',
    extensions: ['102'],
    locale: 'uk',
  });
  // the scorecard: two yes/no criteria and a 1–5 scale, weighted
  const greeted = await api<{ id: string }>('POST', '/api/review-criteria', {
    name: 'Привітався й назвав салон',
    kind: 'yes_no',
    weight: 2,
    position: 1,
  });
  const needs = await api<{ id: string }>('POST', '/api/review-criteria', {
    name: 'З’ясував, що потрібно клієнтові',
    description: 'Уточнив послугу, майстра і зручний час',
    kind: 'scale',
    weight: 3,
    position: 2,
  });
  const nextStep = await api<{ id: string }>('POST', '/api/review-criteria', {
    name: 'Домовився про наступний крок',
    kind: 'yes_no',
    weight: 1,
    position: 3,
  });

  await until('the server to log in to the fake PBX', async () => {
    const health = await api<{ pbx: { status: string } }>('GET', '/health');
    return pbx.clientCount() > 0 && health.pbx.status === 'connected';
  });

  // ---- the call, with fresh ids and times (as if it happened a minute ago); its recording waits in the PBX's directory
  const frames = parseTranscript(fs.readFileSync(path.join(SCENARIO, 'ami.jsonl'), 'utf8'));
  const firstRx = frames.find((f) => classifyFrame(f) === 'event')!.rx;
  const call = rewriteTranscript(frames, { idBase: 8_000_000, timeShiftSeconds: Date.now() / 1000 - 60 - firstRx });
  const linkedId = call.ids.get(LINKED_ID)!;
  fs.writeFileSync(path.join(sourceDir, `in-380441234567-${linkedId}.wav`), stereoRecording());
  await pbx.play(call.frames, { speed: 0 });
  const stored = await until(
    'the call and its recording to be stored',
    async () => {
      const page = await api<{ items: CallRecordDto[] }>('GET', '/api/calls?number=%2B380501112233&limit=20');
      const c = page.items.find((x) => x.pbxCallId === linkedId);
      return c?.state === 'ended' && c.recording?.state === 'stored' ? c : null;
    },
    30_000,
  );
  expect(stored).toMatchObject({ direction: 'inbound', agent: { extension: '101', name: manager.name } });
  expect(stored.recording).toMatchObject({ channels: 2, url: `/api/calls/${stored.id}/recording` });
  expect(stored.recording!.durationSeconds).toBeCloseTo(12.04, 1);

  // ---- the supervisor: the review queue shows the call, not yet reviewed
  const sup = await openAs(supervisor.email, supervisor.password);
  const ranges: string[] = [];
  const statuses: number[] = [];
  sup.on('request', (req) => {
    if (req.url().endsWith(`/api/calls/${stored.id}/recording`)) void req.allHeaders().then((hd) => ranges.push(hd.range ?? '(none)'));
  });
  sup.on('response', (res) => {
    if (res.url().endsWith(`/api/calls/${stored.id}/recording`)) statuses.push(res.status());
  });
  await sup.click('nav a[href="#/review"]');
  const row = sup.locator(`[data-testid=review-queue] tr[data-call-id="${stored.id}"]`);
  await row.waitFor({ timeout: 10_000 });
  expect(await sup.isChecked('[data-testid=queue-not-reviewed]')).toBe(true);
  expect(await row.textContent()).toContain('Не оцінено');
  expect(await row.textContent()).toContain(manager.name);
  await sup.screenshot({ path: path.join(artifacts, 'review-queue.png') });

  // ---- opens it: the player, two lanes (customer / manager), the legs 101 and 102 on the same timeline
  await row.locator('[data-testid=open-review]').click();
  await sup.waitForSelector('[data-testid=player] .wt-row.customer canvas');
  expect(await sup.locator('.wt-row.customer .wt-label').textContent()).toBe('Клієнт');
  expect(await sup.locator('.wt-row.agent .wt-label').textContent()).toBe('Менеджер');
  await until('the legs on the timeline', async () => (await sup.locator('[data-testid=timeline-leg]').count()) === 2, 10_000);
  expect(await sup.locator('[data-testid=timeline-leg][data-extension="101"] .wt-leg.talk').count()).toBe(1);
  expect(await sup.locator('[data-testid=timeline-leg][data-extension="102"] .wt-leg.talk').count()).toBe(1);
  // the talk analytics of the two channels
  const analytics = (await sup.locator('[data-testid=analytics]').textContent()) ?? '';
  expect(analytics).toContain('Найдовший монолог');
  expect(analytics).toContain('Тиша');
  await until('the recording’s metadata', () => sup.evaluate(`document.querySelector('[data-testid=audio]').readyState >= 1`), 10_000);
  const duration = Number(await sup.evaluate(`document.querySelector('[data-testid=audio]').duration`));
  expect(duration).toBeCloseTo(12.04, 1);
  expect(await sup.locator('[data-testid=player-time]').textContent()).toBe('0:00 / 0:12');

  // ---- play: time advances
  await sup.click('[data-testid=play]');
  const played = await until(
    'playback to advance',
    async () => {
      const t = Number(await sup.evaluate(`document.querySelector('[data-testid=audio]').currentTime`));
      return t > 0.6 ? t : null;
    },
    10_000,
  );
  expect(played).toBeGreaterThan(0.6);
  await sup.click('[data-testid=play]'); // pause
  expect(await sup.evaluate(`document.querySelector('[data-testid=audio]').paused`)).toBe(true);

  // ---- seek to 0:07 by clicking the waveform
  const track = (await sup.locator('.wt-row.agent .wt-track').boundingBox())!;
  await sup.mouse.click(track.x + (track.width * 7.3) / duration, track.y + track.height / 2);
  await until('the seek to 0:07', async () => (await sup.locator('[data-testid=player-time]').textContent()) === '0:07 / 0:12', 5_000);
  const at = Number(await sup.evaluate(`document.querySelector('[data-testid=audio]').currentTime`));
  expect(at).toBeGreaterThanOrEqual(7);
  expect(at).toBeLessThan(7.6);
  // the browser fetched the audio in ranges (seekable): a Range request answered 206
  expect(ranges.some((r) => r.startsWith('bytes='))).toBe(true);
  expect(statuses).toContain(206);

  // ---- score every criterion: the overall score follows live
  const criterion = (id: string) => sup.locator(`[data-testid=criterion][data-criterion-id="${id}"]`);
  await criterion(greeted.id).locator('label', { hasText: 'Так' }).click();
  expect(await sup.locator('[data-testid=overall-score]').textContent()).toBe('100');
  expect(await sup.isDisabled('[data-testid=submit-review]')).toBe(true);
  await criterion(needs.id).locator('label', { hasText: '4' }).click();
  await criterion(nextStep.id).locator('label', { hasText: 'Ні' }).click();
  // 100 · (2·1 + 3·0.75 + 1·0) / 6 = 70.83
  expect(await sup.locator('[data-testid=overall-score]').textContent()).toBe('71');
  await sup.fill('textarea[name=summary]', 'Ввічливо, але не запропонувала запис на конкретний час.');

  // ---- a comment pinned to the moment we are at
  const add = sup.locator('[data-testid=add-comment]');
  expect(await add.textContent()).toBe('Коментар на 0:07');
  await add.click();
  expect(await sup.inputValue('[data-testid=comment-time]')).toBe('0:07');
  await sup.fill('[data-testid=comment-body-input]', 'at 0:07: тут варто було уточнити ім’я клієнтки');
  await sup.click('[data-testid=comment-save]');
  const mine = sup.locator('[data-testid=comments-panel] [data-testid=comment]');
  await mine.waitFor({ timeout: 10_000 });
  expect(await mine.locator('[data-testid=comment-at]').textContent()).toBe('0:07');
  expect(await mine.locator('[data-testid=comment-body]').textContent()).toContain('at 0:07');
  expect(await sup.locator('.wt-marker').count()).toBe(1);
  // the timestamp seeks: move away, click it, back at 0:07
  await sup.locator('[data-testid=waveform]').focus();
  await sup.keyboard.press('Home');
  await until('the seek to 0:00', async () => (await sup.locator('[data-testid=player-time]').textContent()) === '0:00 / 0:12', 5_000);
  await mine.locator('[data-testid=comment-at]').click();
  await until('the seek back to 0:07', async () => (await sup.locator('[data-testid=player-time]').textContent()) === '0:07 / 0:12', 5_000);

  // ---- submit
  await sup.click('[data-testid=submit-review]');
  await sup.waitForSelector('[data-testid=scorecard] [data-testid=review-state]:has-text("Надіслано")', { timeout: 10_000 });
  await sup.evaluate('window.scrollTo(0, 0)');
  await sup.screenshot({ path: path.join(artifacts, 'review.png') });
  const reviews = await api<{ items: { id: string; state: string; score: number; comments: { atSeconds: number; body: string }[] }[] }>(
    'GET',
    `/api/calls/${stored.id}/reviews`,
  );
  expect(reviews.items).toHaveLength(1);
  expect(reviews.items[0]).toMatchObject({ state: 'submitted', comments: [{ atSeconds: 7 }] });
  expect(reviews.items[0]!.score).toBeCloseTo(70.83, 2);

  // ---- back in the queue: a reviewed call leaves "not yet reviewed"; every filter lives in the URL
  const queue = sup.locator('[data-testid=review-queue]');
  const applyFilters = () => sup.click('[data-testid=queue-filters] button[type=submit]');
  await sup.click('nav a[href="#/review"]');
  await queue.locator('tr.empty').waitFor({ timeout: 10_000 });
  await sup.uncheck('[data-testid=queue-not-reviewed]');
  await applyFilters();
  const reviewedRow = queue.locator(`tr[data-call-id="${stored.id}"]`);
  await reviewedRow.waitFor({ timeout: 10_000 });
  expect(await reviewedRow.locator('[data-testid=score]').textContent()).toBe('71');
  // the talk analytics as filters: silence is 6 % of this call
  await sup.click('.analytics-filters summary');
  await sup.fill('#q-minSilence', '50');
  await applyFilters();
  await queue.locator('tr.empty').waitFor({ timeout: 10_000 });
  expect(sup.url()).toContain('minSilence=50');
  expect(sup.url()).toContain('reviewed=all');
  await sup.reload();
  await sup.waitForSelector('[data-testid=connection][data-state=live]');
  await queue.locator('tr.empty').waitFor({ timeout: 10_000 });
  expect(await sup.inputValue('#q-minSilence')).toBe('50');
  expect(await sup.isChecked('[data-testid=queue-not-reviewed]')).toBe(false);
  await sup.fill('#q-minSilence', '5');
  await sup.fill('#q-sample', '100');
  await applyFilters();
  await reviewedRow.waitFor({ timeout: 10_000 });
  expect(sup.url()).toMatch(/sample=100&seed=\w+/);

  // ---- the manager who owns 101: "Reviews" lists it with the score
  const mgr = await openAs(manager.email, manager.password);
  await mgr.click('nav a[href="#/reviews"]');
  const listed = mgr.locator(`[data-testid=reviews] tr[data-call-id="${stored.id}"]`);
  await listed.waitFor({ timeout: 10_000 });
  expect(await listed.locator('[data-testid=score]').textContent()).toBe('71');
  await mgr.screenshot({ path: path.join(artifacts, 'review-manager-list.png') });

  // the call page shows the review: the score, the comment at 0:07
  await mgr.goto(`${server.url}/#/calls/${stored.id}`);
  const onCall = mgr.locator('[data-testid=call-reviews] [data-testid=review-card]');
  await onCall.waitFor({ timeout: 10_000 });
  expect(await onCall.locator('[data-testid=score]').first().textContent()).toBe('71');
  expect(await onCall.locator('[data-testid=comment-at]').textContent()).toBe('0:07');
  expect(await onCall.locator('[data-testid=comment-body]').textContent()).toContain('at 0:07');
  expect(await mgr.locator('[data-testid=recording-state]').textContent()).toBe('Запис збережено');
  await mgr.screenshot({ path: path.join(artifacts, 'review-manager-call.png'), fullPage: true });

  // the review page, read-only, and a reply to the comment
  await onCall.locator('[data-testid=open-review]').click();
  const card = mgr.locator('[data-testid=review-card]');
  await card.waitFor({ timeout: 10_000 });
  expect(await mgr.locator('[data-testid=scorecard]').count()).toBe(0);
  expect(await card.locator('[data-testid=review-summary]').textContent()).toContain('не запропонувала');
  expect(await card.locator('[data-testid=review-scores]').textContent()).toContain('4 / 5');
  await card.locator('[data-testid=comment-at]').click();
  await until(
    'the manager’s seek to 0:07',
    async () => (await mgr.locator('[data-testid=player-time]').textContent()) === '0:07 / 0:12',
    5_000,
  );
  await card.locator('[data-testid=reply]').click();
  await mgr.fill('[data-testid=reply-body]', 'Дякую, наступного разу уточню.');
  await mgr.click('[data-testid=reply-save]');
  await card.locator('[data-testid=comment-reply]').waitFor({ timeout: 10_000 });
  expect(await card.locator('[data-testid=comment-reply]').textContent()).toContain(manager.name);
  await mgr.screenshot({ path: path.join(artifacts, 'review-manager.png') });

  const after = await api<{ items: { comments: { parentId: string | null; body: string; author: { name: string } }[] }[] }>(
    'GET',
    `/api/calls/${stored.id}/reviews`,
  );
  const reply = after.items[0]!.comments.find((c) => c.parentId);
  expect(reply).toMatchObject({ body: 'Дякую, наступного разу уточню.', author: { name: manager.name } });

  // ---- the supervisor's report for the last 7 days: Олена took the customer's call and made the consultation call
  // to 102 (both answered, 2 s wait each; her own talk until she handed the caller over); one review, 71;
  // Богдан answered the consultation call and took the transferred customer: 2 calls, 2 answered; the CSV in the UI language
  await sup.click('nav a[href="#/reports"]');
  const reportRow = sup.locator('[data-testid=report-agents] tr', { hasText: manager.name });
  await reportRow.waitFor({ timeout: 10_000 });
  const cells = await reportRow.locator('td').allTextContents();
  expect(cells).toEqual([manager.name, '101', '2', '2', '0', '0:02', '0:06', '1', '71']);
  const colleagueCells = await sup.locator('[data-testid=report-agents] tr', { hasText: 'Богдан Мельник' }).locator('td').allTextContents();
  expect(colleagueCells.slice(0, 5)).toEqual(['Богдан Мельник', '102', '2', '2', '0']);
  expect(await sup.locator('[data-testid=chart-agents] rect.bar.answered').count()).toBeGreaterThan(0);
  expect(await sup.locator('[data-testid=chart-days] rect.bar').count()).toBe(7 * 3);
  const csvHref = (await sup.getAttribute('[data-testid=report-csv]', 'href'))!;
  expect(csvHref).toMatch(/^\/api\/reports\/agents\.csv\?from=.+&to=.+&lang=uk$/);
  const csv = await fetch(`${server.url}${csvHref}`, { headers: { cookie: await login(supervisor.email, supervisor.password) } });
  expect(csv.status).toBe(200);
  expect(await csv.text()).toContain(manager.name);
  await sup.screenshot({ path: path.join(artifacts, 'reports.png'), fullPage: true });

  // ---- the admin's scorecard settings: the three criteria; a weight changed in place
  const admin = await openAs('admin@calltrack.local', String(announcement!.oneTimePassword));
  await admin.goto(`${server.url}/#/admin/criteria`);
  const rows = admin.locator('[data-testid=criteria] tbody tr');
  await rows.first().waitFor({ timeout: 10_000 });
  expect(await rows.count()).toBe(3);
  const last = admin.locator(`[data-testid=criteria] tr[data-criterion-id="${nextStep.id}"]`);
  await last.locator('input[type=number]').first().fill('2');
  await last.locator('button', { hasText: 'Зберегти' }).click();
  await until('the new weight', async () => {
    const all = await api<{ items: { id: string; weight: number }[] }>('GET', '/api/review-criteria?all=true');
    return all.items.find((c) => c.id === nextStep.id)?.weight === 2;
  });
  await admin.screenshot({ path: path.join(artifacts, 'review-criteria.png') });

  // ---- the admin's audit log: who listened to the recording (the supervisor, then the manager), with the call linked
  await admin.goto(`${server.url}/#/admin/audit`);
  await admin.selectOption('[data-testid=audit-filter]', 'recording.');
  const listens = admin.locator('[data-testid=audit-entry][data-action="recording.listen"]');
  await listens.first().waitFor({ timeout: 10_000 });
  const listeners = (await listens.locator('td:nth-child(2)').allTextContents()).sort();
  expect(listeners).toEqual([supervisor.name, manager.name].sort());
  expect(await listens.first().textContent()).toContain('Прослухав запис');
  expect(await listens.first().locator(`a[href="#/calls/${stored.id}"]`).count()).toBe(1);
  expect(admin.url()).toContain('#/admin/audit?action=recording.');
  await admin.screenshot({ path: path.join(artifacts, 'audit.png') });
});
