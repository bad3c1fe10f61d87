import { performance } from 'node:perf_hooks';
import type { CallCapture } from '../calls/call-capture';
import type { PbxEvent, ResyncChannel } from '../calls/pbx-event';
import type { Logger } from '../logger';
import type { AmiClient } from './ami.client';
import { amiJournalPayload } from './journal-payload';
import { toPbxEvent } from './to-pbx-event';

export interface PbxLinkOptions {
  client: AmiClient;
  capture: CallCapture;
  logger: Logger;
  mode: 'asterisk' | 'demo';
  /** close calls without any event for this long (local monotonic clock) */
  staleAfterMs: number;
  sweepIntervalMs?: number;
  /** the listener's monotonic clock, ms */
  mono?: () => number;
}

export type PbxLink = ReturnType<typeof createPbxLink>;

/**
 * The AMI side of call capture: every live frame → PbxEvent → capture; a lost link, a PBX restart
 * and the CoreShowChannels resync after each login become control events; a timer sweeps stale
 * calls. The frame is journalled as received, so records can be rebuilt through toPbxEvent again.
 */
export function createPbxLink(o: PbxLinkOptions) {
  const { client, capture, logger } = o;
  const mono = o.mono ?? (() => performance.now());
  const counters = { frames: 0, ignored: 0, resyncs: 0, resyncFailures: 0 };
  let sweepTimer: NodeJS.Timeout | null = null;
  /** the call store is behind (the database is slow or away): the link is paused */
  let pressure = false;

  const control = (event: PbxEvent) => capture.handle(event, { kind: 'control', payload: event, receivedAt: event.at });

  async function resync(): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const items = await client.coreShowChannels();
        const at = new Date();
        const m = mono();
        const channels: ResyncChannel[] = [];
        for (const frame of items) {
          const e = toPbxEvent(frame, at, m);
          if (e?.type === 'resync-channel') channels.push(e.channel);
        }
        counters.resyncs += 1;
        logger.info({ channels: channels.length }, 'PBX resynchronised (CoreShowChannels)');
        control({ type: 'resync', at, mono: m, channels });
        return;
      } catch (err) {
        counters.resyncFailures += 1;
        logger.warn({ err, attempt }, 'CoreShowChannels resync failed');
      }
    }
    logger.error('PBX resync failed three times; calls in progress may be closed by the stale sweeper');
  }

  const unsubscribe = [
    client.onFrame((frame, receivedAt, raw) => {
      counters.frames += 1;
      const m = mono();
      const event = toPbxEvent(frame, receivedAt, m);
      if (!event) {
        counters.ignored += 1;
        if (logger.isLevelEnabled('debug')) logger.debug({ event: frame.event }, 'AMI event not used by the tracker');
        const linkedid = typeof frame.linkedid === 'string' ? frame.linkedid : null;
        capture.journalOnly(linkedid, { kind: 'ami', payload: amiJournalPayload(frame, raw), receivedAt }, m);
        return;
      }
      capture.handle(event, { kind: 'ami', payload: amiJournalPayload(frame, raw), receivedAt });
    }),
    client.onLinkLost((at, reason) => {
      logger.warn({ reason }, 'PBX link lost; calls in progress are kept until the resync');
      control({ type: 'link-lost', at, mono: mono() });
    }),
    client.onPbxRestart((at, info) => {
      logger.warn(info, 'the PBX restarted; closing every call in progress');
      control({ type: 'pbx-restart', at, mono: mono() });
    }),
    client.onLogin(async () => {
      await resync();
      // a new connection reads until its resync is done; still behind: pause it too
      if (pressure) client.pause();
    }),
    capture.onBackpressure((on) => {
      pressure = on;
      if (on) client.pause();
      else client.resume();
    }),
  ];

  return {
    start(): void {
      client.start();
      const interval = o.sweepIntervalMs ?? Math.min(60_000, Math.max(1000, o.staleAfterMs / 4));
      sweepTimer = setInterval(() => control({ type: 'sweep', at: new Date(), mono: mono(), staleAfterMs: o.staleAfterMs }), interval);
      sweepTimer.unref();
    },
    async stop(): Promise<void> {
      if (sweepTimer) clearInterval(sweepTimer);
      for (const u of unsubscribe) u();
      await client.stop();
    },
    status: () => ({ mode: o.mode, ...client.state(), ...counters }),
  };
}
