import { backoffDelay } from '../../src/asterisk/ami.client';

describe('backoffDelay (full jitter, capped)', () => {
  const options = { baseMs: 500, capMs: 30_000 };

  it('grows exponentially from the base up to the cap', () => {
    const half = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map((a) => backoffDelay(a, options, half))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000,
    ]);
    expect(backoffDelay(1000, options, () => 0.999999)).toBeLessThan(30_000);
  });

  it('draws uniformly below the ceiling', () => {
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(2000);
    expect(backoffDelay(100, { baseMs: 500, capMs: 10_000 }, () => 0.25)).toBe(2500);
  });
});
