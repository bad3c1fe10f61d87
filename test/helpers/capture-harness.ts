import crypto from 'node:crypto';
import { createAmiClient, type AmiClient } from '../../src/asterisk/ami.client';
import { rewriteTranscript, startDemoPbx, type DemoPbx, type TranscriptFrame } from '../../src/asterisk/demo-pbx';
import { createPbxLink, type PbxLink } from '../../src/asterisk/pbx-link';
import type { CallDraft, CallRecordDto } from '../../src/calls/call-record';
import { createLogger } from '../../src/logger';
import type { TestContext } from './test-context';

let idBase = 1_000_000 + (process.pid % 1000) * 100_000;

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The real capture path on the wire: the fake PBX (a TCP server speaking AMI) → the real
 * asterisk-manager client → PbxLink → the app's capture pipeline → the test database.
 */
export interface CaptureHarness {
  pbx: DemoPbx;
  client: AmiClient;
  link: PbxLink;
  /** plays frames with fresh ids; resolves when the listener has processed them and they are stored */
  play(
    frames: readonly TranscriptFrame[],
    o?: { speed?: number; fresh?: boolean },
  ): Promise<{ ids: Map<string, string>; startedAtMs: number }>;
  /** waits until everything received is processed and written */
  settle(): Promise<void>;
  records(pbxCallIds: string[]): Promise<CallRecordDto[]>;
  close(): Promise<void>;
}

export async function startCaptureHarness(
  ctx: TestContext,
  o: { beforeConnect?: (pbx: DemoPbx) => Promise<void> } = {},
): Promise<CaptureHarness> {
  const secret = crypto.randomBytes(8).toString('hex');
  const logger = createLogger('silent');
  const pbx = await startDemoPbx({ port: 0, username: 'calltrack', secret, uptimeSeconds: 1000 });
  await o.beforeConnect?.(pbx);
  const client = createAmiClient({
    ...pbx.address(),
    username: 'calltrack',
    secret,
    logger,
    reconnectDelay: () => 20,
    pingIntervalMs: 60_000,
  });
  const link = createPbxLink({
    client,
    capture: ctx.parts.capture,
    logger,
    mode: 'asterisk',
    staleAfterMs: 3_600_000,
    sweepIntervalMs: 3_600_000,
  });
  link.start();
  await waitFor(() => link.status().resyncs >= 1, 'the first login and resync');

  const settle = async () => {
    await ctx.parts.capture.idle();
    await ctx.parts.store.flush();
  };
  return {
    pbx,
    client,
    link,
    async play(frames, o = {}) {
      let ids = new Map<string, string>();
      let toPlay = frames;
      if (o.fresh !== false) {
        const rewritten = rewriteTranscript(frames, { idBase, timeShiftSeconds: 0 });
        idBase = rewritten.nextIdBase + 1;
        ids = new Map(rewritten.ids);
        toPlay = rewritten.frames;
      }
      const before = link.status().frames;
      const startedAtMs = Date.now();
      const result = await pbx.play(toPlay, { speed: o.speed ?? 0 });
      await waitFor(() => link.status().frames >= before + result.framesPlayed, 'the listener to receive every frame');
      await settle();
      return { ids, startedAtMs };
    },
    settle,
    async records(pbxCallIds) {
      const rows: { id: string }[] = await ctx.ds.query(`SELECT id FROM calls WHERE pbx_call_id = ANY($1::text[])`, [pbxCallIds]);
      return ctx.parts.callsRepo.findByIds(rows.map((r) => r.id));
    },
    async close() {
      await link.stop();
      await pbx.close();
    },
  };
}

/** A stored record in the tracker's vocabulary, for the fixtures' comparator. */
export function recordAsDraft(r: CallRecordDto, idMap?: Map<string, string>): CallDraft {
  const back = new Map([...(idMap ?? new Map<string, string>()).entries()].map(([a, b]) => [b, a]));
  const date = (s: string | null) => (s ? new Date(s) : null);
  return {
    pbxCallId: back.get(r.pbxCallId) ?? r.pbxCallId,
    direction: r.direction,
    state: r.state,
    disposition: r.disposition,
    missed: r.missed,
    externalNumber: r.externalNumber,
    externalNumberRaw: r.externalNumberRaw,
    trackingNumber: r.trackingNumber,
    startedAt: new Date(r.startedAt),
    answeredAt: date(r.answeredAt),
    endedAt: date(r.endedAt),
    agentExtension: r.agent?.extension ?? null,
    legs: r.legs.map((l) => ({
      extension: l.extension,
      ringingAt: date(l.ringingAt),
      answeredAt: date(l.answeredAt),
      endedAt: date(l.endedAt),
      result: l.result,
    })),
    hangupBy: r.hangupBy,
    endReason: r.endReason,
    relatedPbxCallIds: [],
    recordingFile: r.recording ? r.recording.fileName.replace(/\d{6,}\.\d+/g, (t) => back.get(t) ?? t) : null,
  };
}

/** Splits a capture where its conversation is up: after the last BridgeEnter. */
export function splitWhileTalking(all: TranscriptFrame[]): [TranscriptFrame[], TranscriptFrame[]] {
  let at = -1;
  all.forEach((f, i) => {
    if (f.raw.startsWith('Event: BridgeEnter')) at = i;
  });
  return [all.slice(0, at + 1), all.slice(at + 1)];
}
