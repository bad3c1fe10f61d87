import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger';
import type { AudioJob, AudioReply } from './audio-worker';
import type { TalkAnalytics } from './talk-analytics';
import type { WavInfo } from './wav';
import { COMMAND_LINE_FLAGS } from '../node-flags';

export type AudioAnalysis = ReturnType<typeof createAudioAnalysis>;

/** An AudioJob without its id (per member of the union). */
type JobInput = AudioJob extends infer J ? (J extends AudioJob ? Omit<J, 'id'> : never) : never;

/** An error the worker raised (WavError, RangeError, …), with its name kept. */
export class AudioError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Talk analytics and waveform peaks of stored recordings, computed off the main thread by one
 * worker (audio-worker.ts), started on first use and replaced if it dies. Jobs run one at a time
 * in order. From the TypeScript sources (tests) the worker loads them through @swc-node/register.
 */
export function createAudioAnalysis(o: { logger: Logger }) {
  let worker: Worker | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  function start(): Worker {
    if (worker) return worker;
    const ts = __filename.endsWith('.ts');
    // a worker inherits node's options, less the V8 ones (src/node-flags.ts), which node refuses
    // when they are passed to a worker explicitly (ERR_WORKER_INVALID_EXEC_ARGV)
    const w = new Worker(path.join(__dirname, `audio-worker${ts ? '.ts' : '.js'}`), {
      execArgv: ts ? [...process.execArgv.filter((a) => !COMMAND_LINE_FLAGS.includes(a)), '-r', '@swc-node/register'] : undefined,
    });
    w.unref();
    w.on('message', (reply: AudioReply) => {
      const job = waiting.get(reply.id);
      if (!job) return;
      waiting.delete(reply.id);
      if (reply.ok) job.resolve(reply.result);
      else job.reject(new AudioError(reply.name, reply.message));
    });
    const fail = (err: Error) => {
      if (worker === w) worker = null;
      for (const [id, job] of waiting) {
        waiting.delete(id);
        job.reject(err);
      }
    };
    w.on('error', (err) => {
      o.logger.error({ err }, 'audio worker failed');
      fail(err);
    });
    w.on('exit', (code) => fail(new Error(`audio worker exited (code ${code})`)));
    worker = w;
    return w;
  }

  function run<T>(job: JobInput): Promise<T> {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      start().postMessage({ ...job, id });
    });
  }

  return {
    analyse: (file: string, customerChannel: 0 | 1) => run<TalkAnalytics>({ op: 'analyse', file, customerChannel }),
    waveform: (file: string, buckets: number) => run<{ info: WavInfo; peaks: number[][] }>({ op: 'waveform', file, buckets }),
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
