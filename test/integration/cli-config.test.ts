import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runEntry } from '../helpers/run-entry';

/** Runs the server entry point with `env` added; resolves when it exits. */
const runMain = (env: Record<string, string>) => runEntry('src/main.ts', env);

describe('the server with a bad configuration', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['DEFAULT_COUNTRY', { PORT: '0', DEFAULT_COUNTRY: 'XX' }],
  ])('exits 1 naming %s on stderr, before opening any database', async (variable, env) => {
    const dataDir = path.join(tmp, variable);
    const res = await runMain({ ...env, DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`Invalid configuration: ${variable}\\b`));
    expect(res.stdout).toBe('');
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
