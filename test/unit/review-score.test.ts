import { fraction, reviewScore, valueProblem } from '../../src/reviews/score';

describe('review score', () => {
  it('is the weighted mean of the answers as a share of the best answer, in percent', () => {
    // yes (w2) → 1, scale 4 (w3) → 0.75, scale 1 (w3) → 0, no (w2) → 0: (2 + 2.25) / 10
    expect(
      reviewScore([
        { kind: 'yes_no', weight: 2, value: 1 },
        { kind: 'scale', weight: 3, value: 4 },
        { kind: 'scale', weight: 3, value: 1 },
        { kind: 'yes_no', weight: 2, value: 0 },
      ]),
    ).toBe(42.5);
  });

  it('is 100 for the best answers and 0 for the worst, whatever the weights', () => {
    expect(
      reviewScore([
        { kind: 'yes_no', weight: 7, value: 1 },
        { kind: 'scale', weight: 1, value: 5 },
      ]),
    ).toBe(100);
    expect(
      reviewScore([
        { kind: 'yes_no', weight: 7, value: 0 },
        { kind: 'scale', weight: 1, value: 1 },
      ]),
    ).toBe(0);
  });

  it('counts only the criteria scored, and is null when none is', () => {
    expect(reviewScore([{ kind: 'scale', weight: 3, value: 3 }])).toBe(50);
    expect(reviewScore([])).toBeNull();
  });

  it('rounds to hundredths', () => {
    // (1·1 + 1·0 + 1·0) / 3 = 33.333…
    expect(
      reviewScore([
        { kind: 'yes_no', weight: 1, value: 1 },
        { kind: 'yes_no', weight: 1, value: 0 },
        { kind: 'yes_no', weight: 1, value: 0 },
      ]),
    ).toBe(33.33);
  });

  it('maps scale values 1..5 to 0, ¼, ½, ¾, 1 and yes/no to 0 and 1', () => {
    expect([1, 2, 3, 4, 5].map((v) => fraction('scale', v))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect([0, 1].map((v) => fraction('yes_no', v))).toEqual([0, 1]);
  });

  it('names what is wrong with a value, and refuses to score it', () => {
    expect(valueProblem('yes_no', 1)).toBeNull();
    expect(valueProblem('yes_no', 2)).toMatch(/0 \(no\) or 1 \(yes\)/);
    expect(valueProblem('scale', 0)).toMatch(/between 1 and 5/);
    expect(valueProblem('scale', 6)).toMatch(/between 1 and 5/);
    expect(valueProblem('scale', 2.5)).toMatch(/whole number/);
    expect(() => reviewScore([{ kind: 'scale', weight: 1, value: 0 }])).toThrow(RangeError);
    expect(() => reviewScore([{ kind: 'yes_no', weight: 0, value: 1 }])).toThrow(RangeError);
  });
});
