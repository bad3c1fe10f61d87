import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMAND_LINE_FLAGS } from '../../src/node-flags';

const root = path.join(__dirname, '..', '..');

describe("node's command-line flags for the service", () => {
  it('are passed by npm start and by the Docker image', () => {
    const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toBe(`node ${COMMAND_LINE_FLAGS.join(' ')} dist/src/main.js`);
    const cmd = /^CMD (.+)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', ...COMMAND_LINE_FLAGS, 'dist/src/main.js']);
  });

  it('leave the audio worker working (node refuses V8 flags passed to a worker explicitly)', () => {
    const wav = path.join(root, 'test', 'fixtures', 'recordings', 'in-380441234567-1795715947.0.wav');
    const script = `const { createAudioAnalysis } = require('./src/recordings/audio-analysis');
      const a = createAudioAnalysis({ logger: { warn() {}, error() {}, info() {}, debug() {} } });
      a.waveform(${JSON.stringify(wav)}, 10).then((r) => { process.stdout.write(String(r.peaks[0].length)); return a.close(); },
        (err) => { process.stdout.write('failed: ' + err.message); process.exitCode = 1; return a.close(); });`;
    const out = execFileSync(process.execPath, [...COMMAND_LINE_FLAGS, '-r', '@swc-node/register', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toBe('10');
  });

  it('give V8 a young generation of half its default size', () => {
    // the young generation's capacity, once a burst of short-lived objects has grown it to its limit
    const probe = `let x; for (let i = 0; i < 2e7; i++) x = { i, s: 'v' + i };
      process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))`;
    const newSpace = (flags: readonly string[]) => Number(execFileSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' }));
    const limited = newSpace(COMMAND_LINE_FLAGS);
    const unlimited = newSpace([]);
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(unlimited).toBeGreaterThan(limited);
  });
});
