import { openTestDataSource } from '../helpers/test-db';

/**
 * Many pooled connections at once, with statements of different shapes and transactions: every
 * query gets its own answer (the embedded server must never interleave two connections' messages).
 */
it('answers concurrent queries and transactions from many connections correctly', async () => {
  const ds = await openTestDataSource(10);
  try {
    const results = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        if (i % 5 === 0) {
          return ds.transaction(async (m) => {
            const [a] = await m.query(`SELECT $1::int * 2 AS v`, [i]);
            const [b] = await m.query(`SELECT $1::int + $2::int AS v`, [a.v, 1]);
            return Number(b.v) === i * 2 + 1;
          });
        }
        const r =
          i % 2
            ? await ds.query(`SELECT $1::int + 1 AS v`, [i])
            : await ds.query(`SELECT $1::int + $2::int AS v, $3::text AS t`, [i, 1, 'x']);
        return Number(r[0].v) === i + 1;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    // a failing statement does not stall or poison the others
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? ds.query(`SELECT 1/0`) : ds.query(`SELECT $1::int AS v`, [i]))),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(10);
    expect(
      outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<{ v: number }[]>).value[0]!.v),
    ).toHaveLength(30);
    const [after] = await ds.query(`SELECT 42 AS v`);
    expect(after.v).toBe(42);

    // errors inside transactions (duplicate keys) while other connections run other statements:
    // the failing connection's messages must not swallow or answer anyone else's
    const table = `race_${process.pid}_${Date.now()}`;
    await ds.query(`CREATE TABLE ${table} (name text CONSTRAINT ${table}__uq UNIQUE)`);
    const summary: Record<string, number> = {};
    const note = (k: string) => (summary[k] = (summary[k] ?? 0) + 1);
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          try {
            if (i % 3 === 0) {
              await ds.transaction((m) => m.query(`INSERT INTO ${table} (name) VALUES ($1)`, [`n${round}`]));
              note('inserted');
            } else {
              const r = i % 2 ? await ds.query(`SELECT $1::int + 1 AS v`, [i]) : await ds.query(`SELECT $1::int + $2::int AS v`, [i, 1]);
              note(Number(r[0]?.v) === i + 1 ? 'right answer' : 'WRONG ANSWER');
            }
          } catch (err) {
            note(/duplicate key/.test((err as Error).message) ? 'duplicate' : `OTHER ERROR: ${(err as Error).message}`);
          }
        }),
      );
    }
    await ds.query(`DROP TABLE ${table}`);
    expect(summary).toEqual({ inserted: 20, duplicate: 60, 'right answer': 160 });
  } finally {
    await ds.destroy();
  }
});
