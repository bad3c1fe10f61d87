/**
 * The one place durations are derived from timestamps (never stored): wait = start → answer (or →
 * end if never answered), talk = answer → end (0 if never answered), duration = start → end.
 * All null while the call is live.
 */
export interface CallDurations {
  waitSeconds: number | null;
  talkSeconds: number | null;
  durationSeconds: number | null;
}

const seconds = (from: Date, to: Date) => Math.max(0, Math.round(to.getTime() - from.getTime())) / 1000;

export function callDurations(call: { startedAt: Date; answeredAt: Date | null; endedAt: Date | null }): CallDurations {
  if (!call.endedAt) return { waitSeconds: null, talkSeconds: null, durationSeconds: null };
  return {
    waitSeconds: seconds(call.startedAt, call.answeredAt ?? call.endedAt),
    talkSeconds: call.answeredAt ? seconds(call.answeredAt, call.endedAt) : 0,
    durationSeconds: seconds(call.startedAt, call.endedAt),
  };
}
