import './v8-tuning';
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createAuditService } from './audit/audit.service';
import { createAmiClient } from './asterisk/ami.client';
import { createAriClient, type AriClient } from './asterisk/ari.client';
import { loadDemoScenarios, startDemoLoop, startDemoPbx } from './asterisk/demo-pbx';
import { electListener } from './asterisk/listener-election';
import { createPbxLink, type PbxLink } from './asterisk/pbx-link';
import { createCallBus } from './calls/call-bus';
import { createCallCapture, type CallCapture } from './calls/call-capture';
import { createCallLinker } from './calls/call-linker';
import { createCallStore } from './calls/call-store';
import { createCallsRepository } from './calls/calls.repository';
import { createCallsService } from './calls/calls.service';
import { createClickToCallService } from './calls/click-to-call.service';
import { createOutcomesService } from './calls/outcomes.service';
import { ConfigError, loadConfig, type Config } from './config';
import { matchNumber, matchNumbers } from './contacts/contact-matcher';
import { createContactsService } from './contacts/contacts.service';
import { seedDemo } from './demo/demo-seed';
import { migrate, openDatabase } from './db/database';
import type { DataSource } from 'typeorm';
import { createApp, type PbxStatus } from './http/app';
import { createSocketServer } from './live/socket.server';
import { createLogger, type Logger } from './logger';
import { createRecordings, demoRecordingFiles, type RecordingsSettings } from './recordings/recordings.setup';
import { createReportsService } from './reports/reports.service';
import { createCriteriaService } from './reviews/criteria.service';
import { createReviewQueue } from './reviews/review-queue';
import { createReviewsService } from './reviews/reviews.service';
import { createAuthService } from './users/auth.service';
import { createCredentialEvents } from './users/credential-events';
import { ensureFirstAdmin, resolveSessionSecret } from './users/bootstrap';
import { createExtensionDirectory } from './users/extension-directory';
import { createUsersService } from './users/users.service';

/** The package version, found from the source (src/) or the compiled (dist/src/) location. */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    const file = path.join(__dirname, rel);
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

export interface RunningServer {
  url: string;
  port: number;
  /** the first admin's one-time password when this start created it */
  firstAdminPassword: string | null;
  close(): Promise<void>;
}

/**
 * The composition root: config → logger → database → repositories → services → call capture →
 * HTTP. Nothing else creates singletons or listens.
 */
export interface WireOptions {
  logger: Logger;
  defaultCountry: Config['defaultCountry'];
  sessionSecret: string;
  trustProxy?: boolean;
  webDir?: string;
  pbxStatus?: () => PbxStatus;
  /** ARI (click-to-call, recordings); undefined: not configured */
  ari?: AriClient;
  /** ORIGINATE_ALLOW; undefined: national numbers of defaultCountry */
  originateAllow?: readonly string[];
  /** RECORDINGS_*; undefined: stored under ./data/recordings, fetched over `ari` when given */
  recordings?: RecordingsSettings;
  /** journal events the call store buffers before it pauses the PBX link (default: the store's) */
  maxBufferedEvents?: number;
}

/** Repositories, services and the HTTP app on an open database (tests call this too). */
export function wire(ds: DataSource, o: WireOptions) {
  const { logger } = o;
  const audit = createAuditService(ds);
  const directory = createExtensionDirectory(ds);
  const bus = createCallBus();
  const credentials = createCredentialEvents();
  const users = createUsersService({ ds, directory, audit, credentials });
  const auth = createAuthService({ ds, sessionSecret: o.sessionSecret, audit, credentials });
  const contacts = createContactsService({ ds, defaultCountry: o.defaultCountry, onNumbersChanged: (numbers) => relink(numbers) });
  const callsRepo = createCallsRepository(ds);
  const store = createCallStore({
    ds,
    logger,
    onApplied: (applied) => capture.onApplied(applied),
    onBackpressure: (on) => capture.backpressure(on),
    maxBufferedEvents: o.maxBufferedEvents,
  });
  const capture = createCallCapture({
    store,
    directory,
    match: (e164) => matchNumber(ds, e164),
    matchMany: (e164s) => matchNumbers(ds, e164s),
    publish: bus.publish,
    logger,
    defaultCountry: o.defaultCountry,
  });
  const calls = createCallsService({ ds, calls: callsRepo, defaultCountry: o.defaultCountry, publish: bus.publish, live: capture });
  const relink = createCallLinker({ ds, capture, calls: callsRepo, publish: bus.publish, logger });
  const outcomes = createOutcomesService(ds);
  const recordings = createRecordings({
    ds,
    settings: o.recordings,
    ari: o.ari,
    // the capture keeps what the fetcher stored, so a late PBX event does not show `pending` again
    bus: { ...bus, publish: (call) => (capture.recordingUpdated(call), bus.publish(call)) },
    callsRepo,
    audit,
    logger,
  });
  const criteria = createCriteriaService({ ds, audit });
  const reviews = createReviewsService({ ds, calls: callsRepo, audit });
  const reviewQueue = createReviewQueue({ ds, calls: callsRepo });
  const reports = createReportsService({ ds });
  const clickToCall = createClickToCallService({
    ari: o.ari,
    directory,
    audit,
    defaultCountry: o.defaultCountry,
    allow: o.originateAllow,
    logger: logger.child({ component: 'click-to-call' }),
  });
  const app = createApp({
    logger,
    ds,
    auth,
    users,
    contacts,
    calls,
    outcomes,
    clickToCall,
    audit,
    recordings: recordings.service,
    criteria,
    reviews,
    reviewQueue,
    reports,
    pbxStatus: o.pbxStatus ?? (() => ({ mode: 'disabled', status: 'disabled' })),
    trustProxy: o.trustProxy,
    webDir: o.webDir,
    version: packageVersion(),
  });
  return {
    audit,
    directory,
    bus,
    credentials,
    users,
    auth,
    contacts,
    callsRepo,
    store,
    capture,
    calls,
    outcomes,
    clickToCall,
    recordings,
    criteria,
    reviews,
    app,
  };
}

/**
 * The composition root: config → logger → database → repositories → services → call capture →
 * HTTP. Nothing else creates singletons or listens.
 */
export async function start(config: Config, logger: Logger): Promise<RunningServer> {
  const db = await openDatabase(config, logger, 'server');
  const { ds } = db;
  await migrate(ds, logger);
  let pbxStatus: () => PbxStatus = () => ({ mode: 'disabled', status: 'disabled' });
  const ari = config.ari ? createAriClient({ ...config.ari, logger }) : undefined;
  const parts = wire(ds, {
    logger,
    pbxStatus: () => pbxStatus(),
    defaultCountry: config.defaultCountry,
    sessionSecret: resolveSessionSecret(config.sessionSecret, config.dataDir),
    trustProxy: config.http.trustProxy,
    webDir: path.join(__dirname, '..', 'web'),
    ari,
    originateAllow: config.originateAllow,
    recordings: recordingsSettings(config),
  });
  const { app } = parts;
  await parts.directory.reload();
  const firstAdminPassword = await ensureFirstAdmin(parts.users, logger);
  if (!config.ami && firstAdminPassword) {
    await seedDemo({ users: parts.users, contacts: parts.contacts, criteria: parts.criteria, logger });
    await parts.directory.reload();
  }
  const pbx = await startPbx(config, logger, parts.capture, ds);
  pbxStatus = pbx.status;
  ari?.start();
  parts.recordings.start();
  // extensions added by another process (CLI, a second node) apply within seconds
  const directoryTimer = setInterval(
    () => void parts.directory.reload().catch((err: unknown) => logger.warn({ err }, 'extension reload failed')),
    10_000,
  );
  directoryTimer.unref();

  const server = http.createServer(app);
  const live = await createSocketServer(server, {
    logger,
    auth: parts.auth,
    calls: parts.callsRepo,
    capture: parts.capture,
    bus: parts.bus,
    credentials: parts.credentials,
    ds,
    pbxStatus: () => pbxStatus(),
    redisUrl: config.redisUrl,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const shownHost = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  const url = `http://${shownHost}:${port}`;
  logger.info({ url, database: db.kind, dataDir: db.kind === 'embedded' ? config.dataDir : undefined }, 'calltrack listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    firstAdminPassword,
    close: () =>
      (closing ??= (async () => {
        clearInterval(directoryTimer);
        await live.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await pbx.stop();
        await parts.recordings.stop();
        await ari?.stop();
        await parts.store.flush().catch((err: unknown) => logger.error({ err }, 'could not write the last call changes'));
        await parts.store.close();
        await db.close();
        logger.info('calltrack stopped');
      })()),
  };
}

/**
 * RECORDINGS_*. In demo mode (no PBX to fetch from) the demo calls' recordings are copies of the
 * WAVs shipped with the demo transcripts, kept an hour unless RECORDINGS_RETENTION_DAYS says otherwise.
 */
function recordingsSettings(config: Config): RecordingsSettings {
  const demo = !config.ami && !config.ari && !config.recordingsSourceDir;
  return {
    dir: config.recordingsDir,
    sourceDir: config.recordingsSourceDir,
    deleteFromPbx: config.recordingsDeleteFromPbx,
    demoFiles: demo ? demoRecordingFiles() : undefined,
    retentionDays: demo && config.recordingsRetentionDays === 0 ? 1 / 24 : config.recordingsRetentionDays,
    retentionIntervalMs: demo ? 10 * 60_000 : undefined,
  };
}

/**
 * The PBX link: the configured Asterisk, or (no AMI_HOST) the demo PBX — a real AMI server on
 * loopback replaying recorded calls — through exactly the same client and pipeline.
 */
async function startPbx(config: Config, logger: Logger, capture: CallCapture, ds: DataSource) {
  const staleAfterMs = config.staleCallSeconds * 1000;
  if (config.ami) {
    const ami = config.ami;
    let link: PbxLink | null = null;
    const election = electListener({
      ds,
      key: `calltrack-ami:${ami.host}:${ami.port}`,
      logger,
      onElected: () => {
        const client = createAmiClient({ ...ami, logger: logger.child({ component: 'ami' }) });
        link = createPbxLink({ client, capture, logger, mode: 'asterisk', staleAfterMs });
        link.start();
        logger.info({ host: ami.host, port: ami.port, username: ami.username }, 'listening to Asterisk over AMI');
      },
      onDeposed: async () => {
        await link?.stop();
        link = null;
      },
    });
    await election.start();
    return {
      demo: false,
      status: (): PbxStatus =>
        link?.status() ?? { mode: 'asterisk', status: 'standby', note: 'another calltrack process holds the AMI listener' },
      stop: () => election.stop(),
    };
  }
  const secret = crypto.randomBytes(16).toString('hex');
  const demoPbx = await startDemoPbx({ port: 0, username: 'calltrack-demo', secret, logger: logger.child({ component: 'demo-pbx' }) });
  const loop = startDemoLoop(demoPbx, { scenarios: await loadDemoScenarios(), speed: 1, gapMs: 6000, logger });
  const client = createAmiClient({ ...demoPbx.address(), username: 'calltrack-demo', secret, logger: logger.child({ component: 'ami' }) });
  const link = createPbxLink({ client, capture, logger, mode: 'demo', staleAfterMs });
  link.start();
  logger.warn(
    'DEMO MODE: AMI_HOST is not set, so calls come from the built-in demo PBX replaying recorded calls. Set AMI_HOST to listen to your Asterisk.',
  );
  return {
    demo: true,
    status: link.status,
    async stop() {
      await loop.stop();
      await link.stop();
      await demoPbx.close();
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  let running: RunningServer;
  try {
    running = await start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'calltrack failed to start');
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) void main();
