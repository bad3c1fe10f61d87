import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** Runs the server entry point with `env` added; resolves when it exits. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DATABASE_URL; // so a database would be the embedded one, in DATA_DIR
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

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
