import fs from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { DataSource } from 'typeorm';
import { listAuditQuery, type AuditService } from '../audit/audit.service';
import { callsRoutes } from '../calls/calls.routes';
import type { CallsService } from '../calls/calls.service';
import type { ClickToCallService } from '../calls/click-to-call.service';
import type { OutcomesService } from '../calls/outcomes.service';
import { contactsRoutes } from '../contacts/contacts.routes';
import type { ContactsService } from '../contacts/contacts.service';
import type { Logger } from '../logger';
import { recordingsRoutes } from '../recordings/recordings.routes';
import type { RecordingsService } from '../recordings/recordings.service';
import { reportsRoutes } from '../reports/reports.routes';
import type { ReportsService } from '../reports/reports.service';
import type { CriteriaService } from '../reviews/criteria.service';
import type { ReviewQueue } from '../reviews/review-queue';
import { reviewsRoutes } from '../reviews/reviews.routes';
import type { ReviewsService } from '../reviews/reviews.service';
import { authRoutes } from '../users/auth.routes';
import type { AuthService } from '../users/auth.service';
import { usersRoutes } from '../users/users.routes';
import type { UsersService } from '../users/users.service';
import { authenticate, requireRole, sameOriginWrites } from './auth.middleware';
import { errorHandler, notFoundRoute } from './error-handler';
import { openApiDocument } from './openapi';
import { parse } from './validate';

export interface PbxStatus {
  mode: 'asterisk' | 'demo' | 'disabled';
  status: string;
  [key: string]: unknown;
}

export interface AppDeps {
  logger: Logger;
  ds: DataSource;
  auth: AuthService;
  users: UsersService;
  contacts: ContactsService;
  calls: CallsService;
  outcomes: OutcomesService;
  clickToCall: ClickToCallService;
  audit: AuditService;
  recordings: RecordingsService;
  criteria: CriteriaService;
  reviews: ReviewsService;
  reviewQueue: ReviewQueue;
  reports: ReportsService;
  pbxStatus: () => PbxStatus;
  trustProxy?: boolean;
  /** built web app (index.html + assets); served with SPA fallback when present */
  webDir?: string;
  version?: string;
}

/** The express app. Never listens: main.ts and tests do. */
export function createApp(deps: AppDeps): Express {
  const { logger, ds } = deps;
  const version = deps.version ?? '0.0.0';
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(pinoHttp({ logger, autoLogging: { ignore: (req) => req.url === '/health' }, quietReqLogger: true }));
  app.use(express.json({ limit: '256kb' }));

  app.get('/health', async (_req, res) => {
    let database: 'up' | 'down' = 'up';
    try {
      await ds.query('SELECT 1');
    } catch {
      database = 'down';
    }
    res
      .status(database === 'up' ? 200 : 503)
      .json({ status: database === 'up' ? 'ok' : 'degraded', database, pbx: deps.pbxStatus(), version });
  });
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument(version));
  });

  app.use(authenticate(deps.auth));
  app.use(sameOriginWrites);
  app.use(authRoutes(deps));
  app.use(usersRoutes(deps));
  app.use(contactsRoutes(deps));
  app.use(callsRoutes(deps));
  app.use(recordingsRoutes(deps));
  app.use(reviewsRoutes(deps));
  app.use(reportsRoutes(deps));
  app.get('/api/audit', requireRole('admin'), async (req, res) => {
    res.json(await deps.audit.list(parse(listAuditQuery, req.query, 'query')));
  });
  app.use('/api', notFoundRoute);

  const webDir = deps.webDir;
  if (webDir && fs.existsSync(path.join(webDir, 'index.html'))) {
    app.use(express.static(webDir, { index: false, maxAge: '1h' }));
    app.get(/^\/(?!api\/|health$).*/, (_req, res) => {
      res.sendFile(path.join(webDir, 'index.html'));
    });
  }
  app.use(notFoundRoute);
  app.use(errorHandler(logger));
  return app;
}
