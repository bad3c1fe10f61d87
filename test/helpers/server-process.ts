import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { COMMAND_LINE_FLAGS } from '../../src/node-flags';

const root = path.resolve(__dirname, '../..');
export const compiledMain = path.join(root, 'dist/src/main.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** every JSON log line the server printed */
  logs: Record<string, unknown>[];
  stop(): Promise<number | null>;
}

/** Starts the compiled service (`npm start`) as a child process and waits for it to listen. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  if (!fs.existsSync(compiledMain)) throw new Error('dist/ is missing: run `npm run build` (npm install does it)');
  const child = spawn(process.execPath, [...COMMAND_LINE_FLAGS, compiledMain], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr: ${stderr}`)), 60_000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'calltrack listening') {
          clearTimeout(timer);
          resolve(String(entry.url));
        }
      } catch {
        logs.push({ raw: line });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}; stderr: ${stderr}`));
    });
  });
  return {
    url,
    child,
    logs,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
