import { parentPort } from 'node:worker_threads';
import { analyseTalk, readPcm, waveformPeaks } from './talk-analytics';

/**
 * The audio work of recordings (talk analytics, waveform peaks) in a worker thread: a one-hour
 * call is ~0.2–0.4 s of CPU, which on the main thread would stall the AMI read path and the live
 * pushes. One message in, one message out (see audio-analysis.ts).
 */
export type AudioJob =
  { id: number; op: 'analyse'; file: string; customerChannel: 0 | 1 } | { id: number; op: 'waveform'; file: string; buckets: number };

export type AudioReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; name: string; message: string };

parentPort?.on('message', (job: AudioJob) => {
  void (async (): Promise<AudioReply> => {
    try {
      const { info, pcm } = await readPcm(job.file);
      if (job.op === 'analyse') {
        return {
          id: job.id,
          ok: true,
          result: analyseTalk(pcm, { sampleRate: info.sampleRate, channels: 2, customerChannel: job.customerChannel }),
        };
      }
      return { id: job.id, ok: true, result: { info, peaks: waveformPeaks(pcm, { channels: info.channels, buckets: job.buckets }) } };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return { id: job.id, ok: false, name: e.name, message: e.message };
    }
  })().then((reply) => parentPort!.postMessage(reply));
});
