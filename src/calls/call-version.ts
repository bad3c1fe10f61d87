/**
 * Call versions strictly increase per call across every writer (the capture pipeline, annotations,
 * other processes): a new version is max(previous + 1, now in microseconds).
 */
export function nextVersion(previous: number, nowMs: number = Date.now()): number {
  return Math.max(previous + 1, Math.floor(nowMs * 1000));
}
