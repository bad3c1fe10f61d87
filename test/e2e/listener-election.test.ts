import crypto from 'node:crypto';
import { electListener } from '../../src/asterisk/listener-election';
import { createLogger } from '../../src/logger';
import { waitFor } from '../helpers/capture-harness';
import { createDataSource } from '../../src/db/data-source';
import { createThrowawayDatabase } from '../helpers/throwaway-postgres';

/**
 * Several calltrack processes on one PBX (PostgreSQL deployments): exactly one holds the AMI
 * listener; another takes over when it goes. Real PostgreSQL: the embedded database is one session.
 */
it('elects one listener per PBX and hands over when the leader stops', async () => {
  const key = `test-${crypto.randomUUID()}`;
  const logger = createLogger('silent');
  const db = await createThrowawayDatabase();
  const dsA = createDataSource({ url: db.url, poolSize: 2 });
  const dsB = createDataSource({ url: db.url, poolSize: 2 });
  await dsA.initialize();
  await dsB.initialize();
  const events: string[] = [];
  const a = electListener({
    ds: dsA,
    key,
    logger,
    intervalMs: 50,
    onElected: () => void events.push('A up'),
    onDeposed: () => void events.push('A down'),
  });
  const b = electListener({
    ds: dsB,
    key,
    logger,
    intervalMs: 50,
    onElected: () => void events.push('B up'),
    onDeposed: () => void events.push('B down'),
  });
  try {
    await a.start();
    await b.start();
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.isLeader()).toBe(false);
    await a.stop();
    await waitFor(() => b.isLeader(), 'B to take over');
    expect(events).toEqual(['A up', 'A down', 'B up']);
  } finally {
    await a.stop();
    await b.stop();
    await dsA.destroy();
    await dsB.destroy();
    await db.drop();
  }
});
