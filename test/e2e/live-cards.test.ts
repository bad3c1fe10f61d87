import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  classifyFrame,
  parseTranscript,
  rewriteTranscript,
  startDemoPbx,
  type DemoPbx,
  type TranscriptFrame,
} from '../../src/asterisk/demo-pbx';
import type { CallRecordDto } from '../../src/calls/call-record';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { apiCall, loginCookie, openLoggedIn, until } from '../helpers/e2e';

/**
 * The screen-pop, for real: the fake PBX (a TCP server speaking AMI) plays a captured Asterisk call
 * into the compiled server; three people watch in three browsers. Manager A's phone (101) rings:
 * A's page shows the card with the contact's name before anyone answers, the supervisor's board
 * shows the call live, the card follows the call to its end, A annotates it and the annotation
 * survives a reload (and reaches the supervisor live); manager B, not involved, never sees it.
 */
const artifacts = path.resolve(__dirname, '../../test-artifacts');
const FIXTURE = path.resolve(__dirname, '../fixtures/ami/inbound_answered/ami.jsonl');
/** the fixture's linkedid, the customer and the contact we give that number */
const LINKED_ID = '1795715947.0';
const CONTACT = { firstName: 'Ірина', lastName: 'Шевченко' };
const CONTACT_NAME = 'Ірина Шевченко';
const AMI = { username: 'calltrack', secret: crypto.randomBytes(12).toString('hex') };

let dataDir: string;
let pbx: DemoPbx;
let server: ServerProcess;
let browser: Browser;
let cookie = '';
let idBase = 7_000_000;
const contexts: BrowserContext[] = [];

const api = <T>(method: string, url: string, body?: unknown, as = cookie) => apiCall<T>(server.url, method, url, body, as);
const login = (email: string, password: string) => loginCookie(server.url, email, password);

/** The capture with fresh ids, its first event happening `offsetSeconds` from now. */
function freshCall(offsetSeconds = 0): { frames: TranscriptFrame[]; linkedId: string } {
  const frames = parseTranscript(fs.readFileSync(FIXTURE, 'utf8'));
  const firstRx = frames.find((f) => classifyFrame(f) === 'event')!.rx;
  const rewritten = rewriteTranscript(frames, { idBase, timeShiftSeconds: Date.now() / 1000 + offsetSeconds - firstRx });
  idBase = rewritten.nextIdBase + 1;
  return { frames: rewritten.frames, linkedId: rewritten.ids.get(LINKED_ID)! };
}

/** Splits at the first frame matching `at` (that frame starts the second part). */
function splitBefore(frames: TranscriptFrame[], at: (raw: string) => boolean): [TranscriptFrame[], TranscriptFrame[]] {
  const i = frames.findIndex((f) => at(f.raw));
  if (i < 0) throw new Error('split point not found');
  return [frames.slice(0, i), frames.slice(i)];
}

async function callByPbxId(linkedId: string): Promise<CallRecordDto | undefined> {
  const page = await api<{ items: CallRecordDto[] }>('GET', `/api/calls?number=%2B380501112233&limit=20`);
  return page.items.find((c) => c.pbxCallId === linkedId);
}

async function openAs(email: string, password: string, hash = ''): Promise<Page> {
  const page = await openLoggedIn(browser, server.url, email, password, hash);
  contexts.push(page.context());
  return page;
}

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-live-'));
  pbx = await startDemoPbx({ port: 0, username: AMI.username, secret: AMI.secret, uptimeSeconds: 3600 });
  server = await startServerProcess({
    DATA_DIR: dataDir,
    AMI_HOST: '127.0.0.1',
    AMI_PORT: String(pbx.address().port),
    AMI_USERNAME: AMI.username,
    AMI_SECRET: AMI.secret,
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--disable-dev-shm-usage'] });
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
  await pbx?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('pops the card on the ringing manager’s screen only, follows the call live, keeps the annotation', async () => {
  // ---- setup through the API, as the first admin
  const announcement = server.logs.find((l) => typeof l.oneTimePassword === 'string');
  cookie = await login('admin@calltrack.local', String(announcement!.oneTimePassword));
  const users = {
    a: {
      email: 'olena@salon.test',
      name: 'Олена Коваль',
      password: 'manager-a-password',
      role: 'manager',
      extensions: ['101'],
      locale: 'uk',
    },
    b: {
      email: 'bohdan@salon.test',
      name: 'Богдан Мельник',
      password: 'manager-b-password',
      role: 'manager',
      extensions: ['102'],
      locale: 'uk',
    },
    s: {
      email: 'svitlana@salon.test',
      name: 'Світлана Бондар',
      password: 'supervisor-password',
      role: 'supervisor',
      extensions: [],
      locale: 'uk',
    },
  };
  const a = await api<{ id: string }>('POST', '/api/users', users.a);
  await api('POST', '/api/users', users.b);
  await api('POST', '/api/users', users.s);
  const contact = await api<{ id: string }>('POST', '/api/contacts', { ...CONTACT, ownerId: a.id, phones: [{ number: '+380501112233' }] });
  const outcomes = (await api<{ items: { id: string; code: string | null; name: string }[] }>('GET', '/api/outcomes')).items;
  const callbackNeeded = outcomes.find((o) => o.code === 'callback-needed')!;

  await until('the server to log in to the fake PBX', async () => {
    const health = await api<{ pbx: { status: string } }>('GET', '/health');
    return pbx.clientCount() > 0 && health.pbx.status === 'connected';
  });

  // ---- yesterday the same customer called and asked to be called back
  const earlier = freshCall(-86_400);
  await pbx.play(earlier.frames, { speed: 0 });
  const earlierCall = await until('yesterday’s call to be stored', async () => {
    const c = await callByPbxId(earlier.linkedId);
    return c?.state === 'ended' ? c : null;
  });
  await api('PATCH', `/api/calls/${earlierCall.id}`, { topic: 'Фарбування: уточнити ціну', outcome: callbackNeeded.id });

  // ---- three people watching
  const pageA = await openAs(users.a.email, users.a.password);
  const pageB = await openAs(users.b.email, users.b.password);
  const board = await openAs(users.s.email, users.s.password, '#/board');
  await pageA.waitForSelector('[data-testid=live-cards]', { state: 'attached' });
  await board.waitForSelector('[data-testid=board-live]', { state: 'attached' });

  const call = freshCall();
  const card = `.call-card[data-pbx-call-id="${call.linkedId}"]`;
  // B's page: remember whether this call (its id, the contact's name or the number) ever appears
  // (browser code as a string: this project's test tsconfig has no DOM types)
  await pageB.evaluate(`(() => {
    window.sawCall = false;
    const check = () => {
      const text = document.body.textContent || '';
      if (document.querySelector('[data-pbx-call-id="${call.linkedId}"]') || text.includes(${JSON.stringify(CONTACT_NAME)}) || text.includes('111 22 33')) {
        window.sawCall = true;
      }
    };
    new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    check();
  })()`);

  // ---- part 1: the carrier's call reaches the dialplan, 101 starts ringing; the PBX pauses there
  const [ringing, rest] = splitBefore(call.frames, (raw) => raw.includes('EventName: ANSWER'));
  const [answered, hangup] = splitBefore(rest, (raw) => raw.startsWith('Event: RTCPSent'));
  await pbx.play(ringing, { speed: 0 });

  // A's screen-pop: the contact's name while 101 is still ringing
  await pageA.waitForSelector(`${card}[data-state=ringing] [data-testid=contact-name]`, { timeout: 15_000 });
  const pop = pageA.locator(card);
  expect(await pop.getAttribute('data-state')).toBe('ringing');
  expect(await pop.locator('[data-testid=contact-name]').textContent()).toBe(CONTACT_NAME);
  expect(await pop.locator('[data-testid=card-number]').textContent()).toBe('+380 50 111 22 33');
  expect(await pop.locator('[data-testid=card-status]').textContent()).toContain('Дзвонить вам');
  // the last calls with this number (yesterday's topic) and the callback it still waits for (loaded once the card shows)
  await pop.locator('[data-testid=open-callbacks]').waitFor({ timeout: 10_000 });
  await pop.locator('.card-facts', { hasText: users.a.name }).waitFor({ timeout: 10_000 }); // the personal manager
  expect(await pop.getAttribute('data-state')).toBe('ringing');
  expect(await pop.textContent()).toContain('+380 44 123 45 67'); // the number they dialled
  expect(await pop.locator('[data-testid=last-calls]').textContent()).toContain('Фарбування: уточнити ціну');
  await pop.screenshot({ path: path.join(artifacts, 'screen-pop.png') });
  await pageA.screenshot({ path: path.join(artifacts, 'live-cards-a-ringing.png') });

  // the supervisor's board shows it live, waiting for an answer
  await board.waitForSelector(`.tile[data-pbx-call-id="${call.linkedId}"][data-state=ringing]`, { timeout: 10_000 });
  expect(await board.locator(`.tile[data-pbx-call-id="${call.linkedId}"]`).textContent()).toContain(CONTACT_NAME);
  await board.screenshot({ path: path.join(artifacts, 'live-cards-board-ringing.png') });

  // ---- part 2: 101 answers
  await pbx.play(answered, { speed: 0 });
  await pageA.waitForSelector(`${card}[data-state=talking]`, { timeout: 10_000 });
  expect(await pop.locator('[data-testid=card-status]').textContent()).toContain('Ви відповіли');
  await board.waitForSelector(`.group.agent .tile[data-pbx-call-id="${call.linkedId}"][data-state=talking]`, { timeout: 10_000 });
  expect(await board.locator('.group.agent', { has: board.locator(`[data-pbx-call-id="${call.linkedId}"]`) }).textContent()).toContain(
    users.a.name,
  );

  // ---- part 3: the customer hangs up
  await pbx.play(hangup, { speed: 0 });
  await pageA.waitForSelector(`${card}[data-state=ended]`, { timeout: 10_000 });
  expect(await pop.getAttribute('data-tone')).toBe('answered');
  const endedText = (await pop.textContent()) ?? '';
  expect(endedText).toContain('Ви відповіли');
  expect(endedText).toMatch(/Розмова\s*0:05/); // talk 5 s
  expect(endedText).toMatch(/Очікування\s*0:02/); // it rang 2 s
  await board.locator(`.tile[data-pbx-call-id="${call.linkedId}"]`).waitFor({ state: 'detached', timeout: 10_000 });
  const stored = (await callByPbxId(call.linkedId))!;
  expect(stored).toMatchObject({ state: 'ended', disposition: 'answered', contact: { id: contact.id, name: CONTACT_NAME } });

  // the supervisor opens the call page and watches while A annotates
  await board.goto(`${server.url}/#/calls/${stored.id}`);
  await board.waitForSelector('[data-testid=call-facts]');

  // ---- A annotates on the card: outcome from the admin list, a topic, notes; saves
  const topic = 'Манікюр, запис на суботу 10:00';
  await pop.locator('select[name=outcome]').selectOption({ label: 'Продаж' });
  await pop.locator('input[name=topic]').fill(topic);
  await pop.locator('textarea[name=notes]').fill('Просила майстра Оксану');
  await pop.locator('button[type=submit]', { hasText: 'Зберегти' }).click();
  await pop.locator('.form-status.ok').waitFor({ timeout: 10_000 });
  await pageA.screenshot({ path: path.join(artifacts, 'live-cards-a-annotated.png') });

  // everyone watching sees it: the supervisor's open call page updates by itself (call:update)
  await until(
    'the supervisor’s call page to show the topic',
    async () => (await board.locator('input[name=topic]').inputValue()) === topic,
    10_000,
  );
  expect(await board.locator('select[name=outcome] option:checked').textContent()).toBe('Продаж');
  await board.screenshot({ path: path.join(artifacts, 'live-cards-call-page.png'), fullPage: true });

  // ---- reload: still there (the card and today's list, from the server)
  await pageA.reload();
  await pageA.waitForSelector('[data-testid=connection][data-state=live]');
  const row = pageA.locator(`[data-testid=today-calls] tr[data-pbx-call-id="${call.linkedId}"]`);
  await row.waitFor({ timeout: 10_000 });
  expect(await row.locator('[data-testid=row-topic]').textContent()).toBe(topic);
  expect(await row.locator('[data-testid=row-outcome]').textContent()).toBe('Продаж');
  await pageA.waitForSelector(card);
  expect(await pageA.locator(`${card} input[name=topic]`).inputValue()).toBe(topic);
  expect(await pageA.locator(`${card} textarea[name=notes]`).inputValue()).toBe('Просила майстра Оксану');
  const saved = await api<CallRecordDto>('GET', `/api/calls/${stored.id}`);
  expect(saved).toMatchObject({ topic, outcome: { name: 'Sale' }, notes: 'Просила майстра Оксану' });

  // ---- B was live the whole time and never saw the call
  expect(await pageB.getAttribute('[data-testid=connection]', 'data-state')).toBe('live');
  expect(await pageB.evaluate('window.sawCall')).toBe(false);
  expect(await pageB.locator(`[data-pbx-call-id="${call.linkedId}"]`).count()).toBe(0);
  await pageB.screenshot({ path: path.join(artifacts, 'live-cards-b.png') });
});
