import crypto from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js/min';
import type { MatchResult } from '../contacts/contact-matcher';
import type { Logger } from '../logger';
import type { ExtensionDirectory } from '../users/extension-directory';
import type { CallDraft, CallRecordDto } from './call-record';
import type { AppliedCall, CallSnapshot, CallStore } from './call-store';
import { createTrackerState, reduce, type TrackerState } from './call-tracker';
import { nextVersion } from './call-version';
import { toCallRecordDto, type CallRow } from './call.dto';
import type { PbxEvent } from './pbx-event';

/** A call the pipeline knows: the tracker's draft plus identity, people and annotation. */
interface LiveCall {
  id: string;
  version: number;
  draft: CallDraft;
  match: MatchResult | null;
  matchRequested: boolean;
  recordingId: string | null;
  /** the recording as its fetcher last stored it (null: not fetched yet: pending or empty from the draft) */
  recording: CallRecordDto['recording'];
  topic: string | null;
  outcome: { id: string; name: string } | null;
  notes: string | null;
}

export interface Annotation {
  topic: string | null;
  outcome: { id: string; name: string } | null;
  notes: string | null;
}

export interface CallCaptureOptions {
  store: CallStore;
  directory: ExtensionDirectory;
  /** contact matching for a number (E.164) */
  match: (e164: string) => Promise<MatchResult>;
  /** the same for many numbers at once; when given, waiting lookups are asked for together */
  matchMany?: (e164s: string[]) => Promise<Map<string, MatchResult>>;
  publish: (call: CallRecordDto) => void;
  logger: Logger;
  defaultCountry: CountryCode;
  /** journal every event (off when rebuilding from the journal) */
  journal?: boolean;
  /**
   * how many ended calls to remember (ids, versions, annotations), the most recent ones: a late CDR
   * may still complete one (the tracker keeps as many for it). Default 1 000: at 2 000 calls/s a
   * few KiB each mattered (tens of MiB at 5 000 here and 20 000 in the tracker)
   */
  rememberEnded?: number;
  /**
   * most contact lookups in flight at once (default 2); the rest wait in order. A burst of new
   * calls must not take every database connection: the call store's writes need one too.
   */
  maxConcurrentMatches?: number;
}

export type CallCapture = ReturnType<typeof createCallCapture>;

/** The call a PBX event concerns, for linking the journal line to it. */
export function eventCallId(e: PbxEvent): string | null {
  switch (e.type) {
    case 'linkedid-end':
      return e.pbxCallId;
    case 'dial-begin':
    case 'dial-end':
      return (e.caller ?? e.callee).pbxCallId;
    case 'blind-transfer':
      return e.transferee?.pbxCallId ?? e.transferer?.pbxCallId ?? null;
    case 'attended-transfer':
      return e.transferee?.pbxCallId ?? e.transferer?.pbxCallId ?? null;
    case 'pickup':
      return e.target.pbxCallId;
    case 'queue-agent-called':
    case 'queue-agent-connected':
    case 'queue-agent-no-answer':
      return (e.caller ?? e.agent).pbxCallId;
    case 'resync-channel':
      return e.channel.pbxCallId;
    default:
      return 'channel' in e && e.channel ? e.channel.pbxCallId : null;
  }
}

/**
 * The capture pipeline's core: PBX event → journal → tracker → record (id, version, agent, legs'
 * users, contact match) → queued write → `call:update`. Synchronous on the event path: nothing here
 * waits on the database (contact matching completes later and publishes again).
 */
export function createCallCapture(o: CallCaptureOptions) {
  const { store, directory, logger } = o;
  const rememberEnded = o.rememberEnded ?? 1000;
  let state: TrackerState = createTrackerState({ rememberEndedCalls: rememberEnded });
  const ctx = { isAgentExtension: (ext: string) => directory.has(ext), defaultCountry: o.defaultCountry };
  const calls = new Map<string, LiveCall>();
  const byId = new Map<string, LiveCall>();
  const ended: string[] = [];
  const counters = { events: 0, changes: 0, errors: 0 };
  const matching = new Set<Promise<void>>();
  const pressureListeners = new Set<(on: boolean) => void>();

  function snapshot(c: LiveCall): CallSnapshot {
    const agent = c.draft.agentExtension ? directory.lookup(c.draft.agentExtension) : undefined;
    return {
      id: c.id,
      version: c.version,
      draft: c.draft,
      agentUserId: agent?.userId ?? null,
      legUserIds: c.draft.legs.map((l) => directory.lookup(l.extension)?.userId ?? null),
      contactId: c.match?.contact?.id ?? null,
      organizationId: c.match?.organization?.id ?? null,
      contactMatch: c.match?.match ?? 'none',
      recordingId: c.recordingId,
    };
  }

  function toDto(c: LiveCall, s: CallSnapshot = snapshot(c)): CallRecordDto {
    const d = c.draft;
    const row: CallRow = {
      id: c.id,
      version: c.version,
      pbx_call_id: d.pbxCallId,
      direction: d.direction,
      state: d.state,
      disposition: d.disposition,
      missed: d.missed,
      external_number: d.externalNumber,
      external_number_raw: d.externalNumberRaw,
      tracking_number: d.trackingNumber,
      started_at: d.startedAt,
      started_at_text: d.startedAt.toISOString(),
      answered_at: d.answeredAt,
      ended_at: d.endedAt,
      agent_extension: d.agentExtension,
      agent_user_id: s.agentUserId,
      agent_name: d.agentExtension ? (directory.lookup(d.agentExtension)?.name ?? null) : null,
      hangup_by: d.hangupBy,
      end_reason: d.endReason,
      contact_id: s.contactId,
      contact_name: c.match?.contact?.name ?? null,
      organization_id: s.organizationId,
      organization_name: c.match?.organization?.name ?? null,
      contact_match: s.contactMatch,
      related_pbx_call_ids: d.relatedPbxCallIds,
      recording_file: d.recordingFile,
      recording_id: c.recordingId,
      recording_state: c.recording?.state ?? (d.recordingFile ? (d.state === 'ended' && !d.answeredAt ? 'empty' : 'pending') : null),
      recording_duration: c.recording?.durationSeconds ?? null,
      recording_channels: c.recording?.channels ?? null,
      recording_analytics: c.recording?.analytics ?? null,
      topic: c.topic,
      outcome_id: c.outcome?.id ?? null,
      outcome_name: c.outcome?.name ?? null,
      notes: c.notes,
    };
    const legs = d.legs.map((l, i) => ({
      call_id: c.id,
      extension: l.extension,
      user_id: s.legUserIds[i] ?? null,
      ringing_at: l.ringingAt,
      answered_at: l.answeredAt,
      ended_at: l.endedAt,
      result: l.result,
    }));
    const related = d.relatedPbxCallIds.map((p) => calls.get(p)?.id).filter((x): x is string => !!x);
    return toCallRecordDto(row, legs, related);
  }

  function commit(c: LiveCall): void {
    c.version = nextVersion(c.version);
    const s = snapshot(c);
    store.saveCall(s);
    try {
      o.publish(toDto(c, s));
    } catch (err) {
      logger.error({ err, pbxCallId: c.draft.pbxCallId }, 'a call:update subscriber failed');
    }
  }

  const maxConcurrentMatches = Math.max(1, o.maxConcurrentMatches ?? 2);
  let matchesRunning = 0;

  /** most numbers in one matchMany query */
  const matchBatch = 200;
  const waiting: Array<{ number: string; resolve: (r: MatchResult) => void; reject: (err: unknown) => void }> = [];

  /**
   * o.match (or o.matchMany for everything waiting), at most maxConcurrentMatches queries at a
   * time, in order.
   */
  function limitedMatch(number: string): Promise<MatchResult> {
    return new Promise<MatchResult>((resolve, reject) => {
      waiting.push({ number, resolve, reject });
      pumpMatches();
    });
  }

  function pumpMatches(): void {
    while (matchesRunning < maxConcurrentMatches && waiting.length) {
      const batch = waiting.splice(0, o.matchMany ? matchBatch : 1);
      matchesRunning++;
      const query = o.matchMany
        ? Promise.resolve()
            .then(() => o.matchMany!(batch.map((w) => w.number)))
            .then((results) => {
              for (const w of batch) {
                const r = results.get(w.number);
                if (r) w.resolve(r);
                else w.reject(new Error(`no contact match returned for ${w.number}`));
              }
            })
        : Promise.resolve()
            .then(() => o.match(batch[0]!.number))
            .then((r) => batch[0]!.resolve(r));
      void query
        .catch((err: unknown) => {
          for (const w of batch) w.reject(err);
        })
        .finally(() => {
          matchesRunning--;
          pumpMatches();
        });
    }
  }

  function requestMatch(c: LiveCall): void {
    const number = c.draft.externalNumber;
    if (c.matchRequested || !number) return;
    c.matchRequested = true;
    const pending = limitedMatch(number).then(
      (result) => {
        c.match = result;
        if (result.match !== 'none') commit(c);
      },
      (err: unknown) => logger.warn({ err, pbxCallId: c.draft.pbxCallId }, 'contact matching failed; the call stays unmatched'),
    );
    matching.add(pending);
    void pending.finally(() => matching.delete(pending));
  }

  function remember(c: LiveCall): void {
    ended.push(c.draft.pbxCallId);
    while (ended.length > rememberEnded) {
      const old = calls.get(ended.shift()!);
      if (old && old.draft.state === 'ended') {
        calls.delete(old.draft.pbxCallId);
        byId.delete(old.id);
      }
    }
  }

  function apply(draft: CallDraft): void {
    let c = calls.get(draft.pbxCallId);
    if (!c) {
      c = {
        id: crypto.randomUUID(),
        version: 0,
        draft,
        match: null,
        matchRequested: false,
        recordingId: null,
        recording: null,
        topic: null,
        outcome: null,
        notes: null,
      };
      calls.set(draft.pbxCallId, c);
      byId.set(c.id, c);
    }
    const wasEnded = c.draft.state === 'ended' && c.version > 0;
    c.draft = draft;
    if (draft.recordingFile && !c.recordingId) c.recordingId = crypto.randomUUID();
    commit(c);
    requestMatch(c);
    if (draft.state === 'ended' && !wasEnded) remember(c);
  }

  return {
    /** Feed one PBX event (with the raw frame to journal, for AMI events). */
    handle(event: PbxEvent, raw?: { kind: 'ami' | 'control'; payload: unknown; receivedAt: Date }): void {
      counters.events += 1;
      const journal = () => {
        if (o.journal === false) return;
        store.journal({
          pbxCallId: eventCallId(event),
          receivedAt: raw?.receivedAt ?? event.at,
          mono: event.mono,
          kind: raw?.kind ?? 'control',
          payload: raw?.payload ?? event,
        });
      };
      // a sweep is journalled only when it closed something (it runs every minute)
      if (event.type !== 'sweep') journal();
      let changes: CallDraft[];
      try {
        ({ state, changes } = reduce(state, event, ctx));
      } catch (err) {
        // one bad event must never stop the listener
        counters.errors += 1;
        logger.error({ err, type: event.type, pbxCallId: eventCallId(event) }, 'the call tracker failed on an event; skipped');
        return;
      }
      if (event.type === 'sweep' && changes.length) journal();
      counters.changes += changes.length;
      for (const draft of changes) apply(draft);
    },

    /** A number's owner changed: calls in progress with it take the new match. Returns their ids. */
    rematch(e164: string, match: MatchResult): string[] {
      const ids: string[] = [];
      for (const c of calls.values()) {
        if (c.draft.externalNumber !== e164 || c.draft.state === 'ended') continue;
        c.match = match;
        c.matchRequested = true;
        commit(c);
        ids.push(c.id);
      }
      return ids;
    },

    /** Journal a frame the tracker does not use (today): a later fix may, and rebuilds read it. */
    journalOnly(pbxCallId: string | null, raw: { kind: 'ami'; payload: unknown; receivedAt: Date }, mono: number): void {
      if (o.journal === false) return;
      store.journal({ pbxCallId, receivedAt: raw.receivedAt, mono, kind: raw.kind, payload: raw.payload });
    },

    /** The store's back-pressure (it is behind the event stream), passed on to whoever feeds us. */
    backpressure(on: boolean): void {
      for (const listener of [...pressureListeners]) listener(on);
    },
    onBackpressure(listener: (on: boolean) => void): () => void {
      pressureListeners.add(listener);
      return () => pressureListeners.delete(listener);
    },

    /** The database's view after a write: ids chosen earlier win, annotations made elsewhere flow in. */
    onApplied(applied: AppliedCall[]): void {
      for (const a of applied) {
        const c = calls.get(a.pbxCallId);
        if (!c) continue;
        let changed = false;
        if (c.id !== a.id) {
          byId.delete(c.id);
          c.id = a.id;
          byId.set(c.id, c);
          changed = true;
        }
        if (a.recordingId && c.recordingId !== a.recordingId) c.recordingId = a.recordingId;
        if (a.topic !== c.topic || a.notes !== c.notes || a.outcomeId !== (c.outcome?.id ?? null)) {
          c.topic = a.topic;
          c.notes = a.notes;
          c.outcome = a.outcomeId ? { id: a.outcomeId, name: a.outcomeName ?? '' } : null;
          changed = true;
        }
        if (a.version > c.version) c.version = a.version;
        if (changed) commit(c);
      }
    },

    /**
     * An annotation is being saved in this process: bump the version of the call if it is known here,
     * so the database write and every later update agree. Returns the version to store, or null.
     */
    reserveVersion(callId: string): number | null {
      const c = byId.get(callId);
      if (!c) return null;
      c.version = nextVersion(c.version);
      return c.version;
    },

    /** The saved annotation, on the live record; returns the record to publish (null: not known here). */
    annotated(callId: string, a: Annotation, version: number): CallRecordDto | null {
      const c = byId.get(callId);
      if (!c) return null;
      c.topic = a.topic;
      c.outcome = a.outcome;
      c.notes = a.notes;
      c.version = Math.max(c.version, version);
      return toDto(c);
    },

    /**
     * The recording's state after its fetcher stored (or gave up on) it: a late PBX event for the
     * call then republishes that state, not `pending` again.
     */
    recordingUpdated(call: CallRecordDto): void {
      const c = byId.get(call.id);
      if (!c || !call.recording || call.recording.state === 'pending') return;
      c.recording = call.recording;
      c.version = Math.max(c.version, call.version);
    },

    /** Records of the calls in progress, for a snapshot on (re)connect. */
    live(): CallRecordDto[] {
      return [...calls.values()].filter((c) => c.draft.state !== 'ended').map((c) => toDto(c));
    },

    /** Resolves when every contact lookup started so far has been applied. */
    async idle(): Promise<void> {
      while (matching.size) await Promise.all([...matching]);
    },

    stats: () => ({ ...counters, openCalls: [...calls.values()].filter((c) => c.draft.state !== 'ended').length }),
  };
}
