import type { Browser, Page } from 'playwright-core';

/** Polls `probe` until it gives a truthy value (returned), or fails naming `what`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A JSON API call to the server under test, as the session `cookie`; throws on a non-2xx answer. */
export async function apiCall<T>(baseUrl: string, method: string, url: string, body: unknown, cookie: string): Promise<T> {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { cookie, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Logs in through the API; the session cookie (`name=value`). */
export async function loginCookie(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/**
 * A new browser context (1366×768, Ukrainian) logged in through the login page at `hash`, once
 * its live connection is up (the socket is live and the PBX link connected).
 */
export async function openLoggedIn(browser: Browser, baseUrl: string, email: string, password: string, hash = ''): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'uk-UA' });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[${email}] page error:`, err));
  await page.goto(`${baseUrl}/${hash}`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=connection][data-state=live]', { timeout: 20_000 });
  return page;
}
