import fs from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { AriClient } from '../asterisk/ari.client';
import type { AuditService } from '../audit/audit.service';
import type { CallBus } from '../calls/call-bus';
import type { CallsRepository } from '../calls/calls.repository';
import type { Logger } from '../logger';
import { createRecordingFetcher, type RecordingFetcherOptions } from './recording-fetcher';
import { createRecordingRetention } from './recording-retention';
import { ariSource, demoSource, directorySource, type RecordingSource } from './recording-sources';
import { createRecordingStorage } from './recording-storage';
import { createRecordingsService } from './recordings.service';
import { createAudioAnalysis } from './audio-analysis';

/** The recordings settings main.ts reads from the config (tests pass their own). */
export interface RecordingsSettings {
  /** RECORDINGS_DIR */
  dir: string;
  /** RECORDINGS_SOURCE_DIR: fetched from this directory when ARI is not configured */
  sourceDir?: string;
  /** demo mode: WAV files any recording name maps to (when neither ARI nor a source directory is set) */
  demoFiles?: string[];
  /** RECORDINGS_RETENTION_DAYS; 0 or unset: kept forever (fractions allowed: the demo keeps an hour) */
  retentionDays?: number;
  /** how often the purge runs. Default 24 h. */
  retentionIntervalMs?: number;
  /** RECORDINGS_DELETE_FROM_PBX */
  deleteFromPbx?: boolean;
  /** the fetch worker's timings (tests shorten them) */
  fetch?: Pick<RecordingFetcherOptions, 'retry' | 'pollMs' | 'wakeDelayMs' | 'leaseMs' | 'concurrency' | 'analyse'>;
  /** default 10 min */
  auditWindowMs?: number;
  /** only recordings whose file name starts with this are fetched and purged (tests: several test files share one database) */
  onlyFileNamePrefix?: string;
}

/**
 * Storage, source (ARI, else RECORDINGS_SOURCE_DIR, else the demo files, else none), fetch worker,
 * retention and the playback service. Nothing starts here: main.ts starts the worker and the purge.
 */
export function createRecordings(deps: {
  ds: DataSource;
  settings: RecordingsSettings | undefined;
  ari: AriClient | undefined;
  bus: CallBus;
  callsRepo: CallsRepository;
  audit: AuditService;
  logger: Logger;
}) {
  const settings = deps.settings ?? { dir: path.resolve('data', 'recordings') };
  const storage = createRecordingStorage(settings.dir);
  const { ari } = deps;
  let source: RecordingSource | null = null;
  if (ari) source = ariSource(ari);
  else if (settings.sourceDir) source = directorySource(settings.sourceDir);
  else if (settings.demoFiles?.length) source = demoSource(settings.demoFiles);
  const deleteFromPbx = settings.deleteFromPbx ?? false;
  const retentionDays = settings.retentionDays ?? 0;
  // talk analytics and waveforms off the main thread (a long call is ~0.3 s of CPU)
  const audio = createAudioAnalysis({ logger: deps.logger });
  const fetcher = createRecordingFetcher({
    ds: deps.ds,
    source,
    sourceReady: ari ? () => ari.state().status === 'connected' : undefined,
    storage,
    calls: deps.callsRepo,
    publish: deps.bus.publish,
    subscribe: deps.bus.subscribe,
    logger: deps.logger,
    deleteFromPbx,
    onlyFileNamePrefix: settings.onlyFileNamePrefix,
    analyse: audio.analyse,
    ...settings.fetch,
  });
  const retention = createRecordingRetention({
    ds: deps.ds,
    storage,
    logger: deps.logger,
    retentionDays,
    intervalMs: settings.retentionIntervalMs,
    onlyFileNamePrefix: settings.onlyFileNamePrefix,
  });
  const service = createRecordingsService({
    ds: deps.ds,
    audit: deps.audit,
    storage,
    fetcher,
    audio,
    logger: deps.logger,
    settings: { source: source?.kind ?? null, retentionDays, deleteFromPbx },
    auditWindowMs: settings.auditWindowMs,
  });
  return {
    storage,
    fetcher,
    retention,
    service,
    /** Starts the fetch worker and the daily purge. */
    start(): void {
      fetcher.start();
      retention.start();
    },
    async stop(): Promise<void> {
      await fetcher.stop();
      await retention.stop();
      await audio.close();
    },
  };
}

export type Recordings = ReturnType<typeof createRecordings>;

/** The WAV files shipped with the demo transcripts (src/asterisk/demo-transcripts, copied into dist). */
export function demoRecordingFiles(dir = path.join(__dirname, '..', 'asterisk', 'demo-transcripts')): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.toLowerCase().endsWith('.wav'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}
