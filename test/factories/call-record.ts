import crypto from 'node:crypto';
import type { CallRecordDto } from '../../src/calls/call-record';

/** A ringing inbound call record, as the bus carries it, with the given fields changed. */
export function callRecord(o: Partial<CallRecordDto> = {}): CallRecordDto {
  return {
    id: crypto.randomUUID(),
    version: Date.now() * 1000,
    pbxCallId: `${Math.floor(Date.now() / 1000)}.${crypto.randomInt(1e9)}`,
    direction: 'inbound',
    state: 'ringing',
    disposition: null,
    missed: false,
    externalNumber: `+38050${String(crypto.randomInt(0, 10_000_000)).padStart(7, '0')}`,
    externalNumberRaw: null,
    trackingNumber: null,
    startedAt: new Date().toISOString(),
    answeredAt: null,
    endedAt: null,
    waitSeconds: null,
    talkSeconds: null,
    durationSeconds: null,
    agent: null,
    legs: [],
    hangupBy: null,
    contact: null,
    organization: null,
    contactMatch: 'none',
    endReason: null,
    relatedCallIds: [],
    recording: null,
    topic: null,
    outcome: null,
    notes: null,
    ...o,
  };
}
