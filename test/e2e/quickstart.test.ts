import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServerProcess } from '../helpers/server-process';

/**
 * The README's quick start, for real: the compiled service on the embedded database, the first
 * admin's one-time password from the log, a login in headless chromium, a restart that keeps data.
 */
const artifacts = path.resolve(__dirname, '../../test-artifacts');
let browser: Browser;
let dataDir: string;

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-e2e-'));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--disable-dev-shm-usage'] });
});
afterAll(async () => {
  await browser?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('starts on embedded storage, serves /health and the web app, and keeps data across a restart', async () => {
  const first = await startServerProcess({ DATA_DIR: dataDir });
  let password: string;
  try {
    const health = await fetch(`${first.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'up' });

    const announcement = first.logs.find((l) => typeof l.oneTimePassword === 'string');
    expect(announcement).toMatchObject({ email: 'admin@calltrack.local' });
    password = String(announcement!.oneTimePassword);
    // the one-time password is the only secret printed, and only once
    expect(first.logs.filter((l) => JSON.stringify(l).includes(password))).toHaveLength(1);

    const page = await browser.newPage();
    await page.goto(first.url);
    await page.fill('input[name=email]', 'admin@calltrack.local');
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('table.calls');
    await page.screenshot({ path: path.join(artifacts, 'quickstart-calls.png') });

    const created = await page.evaluate(async () => {
      const res = await fetch('/api/contacts', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ firstName: 'Олена', lastName: 'Коваль', phones: [{ number: '067 765 43 21' }] }),
      });
      return { status: res.status, body: (await res.json()) as { id: string } };
    });
    expect(created.status).toBe(201);
    await page.close();

    expect(await first.stop()).toBe(0);

    const second = await startServerProcess({ DATA_DIR: dataDir });
    try {
      expect(second.logs.some((l) => 'oneTimePassword' in l)).toBe(false);
      const login = await fetch(`${second.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'admin@calltrack.local', password }),
      });
      expect(login.status).toBe(200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      const lookup = await fetch(`${second.url}/api/contacts/lookup?phone=%2B380677654321`, { headers: { cookie } });
      expect(await lookup.json()).toMatchObject({ match: 'matched', contact: { id: created.body.id, name: 'Олена Коваль' } });
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
  }
});
