/**
 * The scorecard arithmetic, pure. A criterion is answered yes/no (value 0 or 1) or on a scale of
 * 1–5; each answer becomes a fraction f of the best answer (yes_no: the value; scale: (value-1)/4)
 * and the review's score is the weighted mean of those fractions in percent:
 *
 *     score = 100 · Σ(weight · f) / Σ weight      over the criteria scored
 *
 * A criterion left unscored does not count (neither up nor down); no score at all is null.
 */
export type CriterionKind = 'yes_no' | 'scale';
export const CRITERION_KINDS: readonly CriterionKind[] = ['yes_no', 'scale'];

export interface ScoredCriterion {
  kind: CriterionKind;
  weight: number;
  value: number;
}

/** Why `value` is not an answer to a criterion of `kind`, or null when it is. */
export function valueProblem(kind: CriterionKind, value: number): string | null {
  if (!Number.isInteger(value)) return 'must be a whole number';
  if (kind === 'yes_no') return value === 0 || value === 1 ? null : 'must be 0 (no) or 1 (yes) for a yes/no criterion';
  return value >= 1 && value <= 5 ? null : 'must be between 1 and 5 for a scale criterion';
}

/** The share of the best answer a value is worth, 0..1. */
export function fraction(kind: CriterionKind, value: number): number {
  return kind === 'yes_no' ? value : (value - 1) / 4;
}

/** 0..100 rounded to 0.01, or null when nothing is scored. */
export function reviewScore(scores: readonly ScoredCriterion[]): number | null {
  let weights = 0;
  let points = 0;
  for (const s of scores) {
    const problem = valueProblem(s.kind, s.value);
    if (problem) throw new RangeError(`value ${s.value} ${problem}`);
    if (!(s.weight > 0)) throw new RangeError(`weight ${s.weight} must be positive`);
    weights += s.weight;
    points += s.weight * fraction(s.kind, s.value);
  }
  if (weights === 0) return null;
  return Math.round((10_000 * points) / weights) / 100;
}
