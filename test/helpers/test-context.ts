import crypto from 'node:crypto';
import type { DataSource } from 'typeorm';
import request from 'supertest';
import type { Express } from 'express';
import { createLogger } from '../../src/logger';
import { wire, type WireOptions } from '../../src/main';
import { Factories } from '../factories/factories';
import { openTestDataSource } from './test-db';

export interface TestContext {
  ds: DataSource;
  app: Express;
  parts: ReturnType<typeof wire>;
  f: Factories;
  close(): Promise<void>;
}

/** The real app on the real test database. Each test file owns one, and each test owns its data. */
export async function createTestContext(options: Partial<WireOptions> = {}, dataSource?: DataSource): Promise<TestContext> {
  const ds = dataSource ?? (await openTestDataSource());
  const parts = wire(ds, {
    logger: createLogger('silent'),
    defaultCountry: 'UA',
    sessionSecret: crypto.randomBytes(32).toString('hex'),
    ...options,
  });
  await parts.directory.reload();
  const f = new Factories(ds, parts);
  await f.init();
  return {
    ds,
    app: parts.app,
    parts,
    f,
    // the recordings' fetch worker, purge timer and audio worker thread go with the context
    close: async () => {
      await parts.recordings.stop();
      await ds.destroy();
    },
  };
}

/** Logs in through the API and returns an agent that carries the session cookie. */
export async function loginAgent(app: Express, email: string, password: string) {
  const agent = request.agent(app);
  const res = await agent.post('/api/auth/login').send({ email, password });
  if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return agent;
}
