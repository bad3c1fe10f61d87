import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrations } from '../../src/db/migrations';
import { runEntry } from '../helpers/run-entry';

/** `calltrack <args>` (src/cli.ts) on an embedded database of its own in `dataDir`. */
const cli = (dataDir: string, ...args: string[]) => runEntry('src/cli.ts', { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, ...args);

describe('the shell commands (npm run migrate, user:create, calls:rebuild, …)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-cli-commands-'));
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('migrate applies every migration once, then says the database is up to date', async () => {
    const first = await cli(dataDir, 'migrate');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`applied: ${migrations.map((m) => m.name).join(', ')}\n`);
    const again = await cli(dataDir, 'migrate');
    expect([again.code, again.stdout]).toEqual([0, 'database is up to date\n']);
    // the last migration goes back down, and up again
    const revert = await cli(dataDir, 'migrate:revert');
    expect([revert.code, revert.stdout]).toEqual([0, 'reverted the last migration\n']);
    const redo = await cli(dataDir, 'migrate');
    expect([redo.code, redo.stdout]).toEqual([0, `applied: ${migrations.at(-1)!.name}\n`]);
  }, 60_000);

  it('user:create makes a user with extensions, and names the argument it refuses', async () => {
    // a manager with extension 101, as the README shows it
    const createManager = (email: string) =>
      cli(dataDir, 'user:create', '--email', email, '--password', 'a-long-password', '--role', 'manager', '--extension', '101');
    const ok = await createManager('olena@salon.test');
    expect([ok.code, ok.stdout]).toEqual([0, 'created manager olena@salon.test (extensions 101)\n']);
    const bad = await createManager('not-an-email');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^user:create: --email: /);
    const taken = await createManager('bohdan@salon.test');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^user:create: .*101/);
  }, 60_000);

  it('calls:rebuild checks its dates, and rebuilds what the journal holds in the window', async () => {
    const bad = await cli(dataDir, 'calls:rebuild', '--from', 'yesterday', '--to', '2026-01-02');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^calls:rebuild: --from: "yesterday" is not a date/);
    const none = await cli(
      dataDir,
      'calls:rebuild',
      '--from',
      '2026-01-01T00:00:00Z',
      '--to',
      '2026-01-02T00:00:00Z',
      '--source',
      'nobody:1:x',
    );
    expect([none.code, none.stdout]).toEqual([0, 'rebuilt 0 calls from 0 journal events (0 sources)\n']);
  }, 60_000);

  it('an unknown command prints the usage and exits 1', async () => {
    const res = await cli(dataDir, 'calls:delete-everything');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^usage: calltrack <command>/);
  });
});
