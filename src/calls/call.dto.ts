import { z } from 'zod';
import { queryBoolean } from '../http/validate';
import { callDurations } from './call-durations';
import {
  DIRECTIONS,
  DISPOSITIONS,
  CALL_STATES,
  type CallRecordDto,
  type LegResult,
  type RecordingAnalytics,
  type RecordingState,
} from './call-record';

export const listCallsQuery = z
  .object({
    limit: z.coerce.number().int().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(50),
    cursor: z.string().max(200).optional(),
    from: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
    to: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
    direction: z.enum(DIRECTIONS as [string, ...string[]]).optional(),
    disposition: z.enum(DISPOSITIONS as [string, ...string[]]).optional(),
    state: z.enum(CALL_STATES as [string, ...string[]]).optional(),
    missed: queryBoolean.optional(),
    agent: z.union([z.uuid(), z.string().regex(/^\d{2,6}$/)], { message: 'must be a user id or an extension number' }).optional(),
    contact: z.uuid().optional(),
    organization: z.uuid().optional(),
    number: z.string().min(1).max(40).optional(),
  })
  .strict();
export type ListCallsQuery = z.output<typeof listCallsQuery>;

export const annotateCallBody = z
  .object({
    topic: z.string().trim().max(500).nullable().optional(),
    outcome: z.uuid({ message: 'must be an outcome id' }).nullable().optional(),
    notes: z.string().max(10_000).nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of topic, outcome, notes' });

/** A calls row joined with the names it shows (see calls.repository.ts `SELECT_CALL`). */
export interface CallRow {
  id: string;
  version: string | number;
  pbx_call_id: string;
  direction: CallRecordDto['direction'];
  state: CallRecordDto['state'];
  disposition: CallRecordDto['disposition'];
  missed: boolean;
  external_number: string | null;
  external_number_raw: string | null;
  tracking_number: string | null;
  started_at: Date;
  started_at_text: string;
  answered_at: Date | null;
  ended_at: Date | null;
  agent_extension: string | null;
  agent_user_id: string | null;
  agent_name: string | null;
  hangup_by: CallRecordDto['hangupBy'];
  end_reason: CallRecordDto['endReason'];
  contact_id: string | null;
  contact_name: string | null;
  organization_id: string | null;
  organization_name: string | null;
  contact_match: CallRecordDto['contactMatch'];
  related_pbx_call_ids: string[];
  recording_file: string | null;
  recording_id: string | null;
  recording_state: RecordingState | null;
  recording_duration: number | null;
  /** absent where a row is built without the recordings table (the live capture): null */
  recording_channels?: number | null;
  recording_analytics?: RecordingAnalytics | null;
  topic: string | null;
  outcome_id: string | null;
  outcome_name: string | null;
  notes: string | null;
}

export interface LegRow {
  call_id: string;
  extension: string;
  user_id: string | null;
  ringing_at: Date | null;
  answered_at: Date | null;
  ended_at: Date | null;
  result: LegResult | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toCallRecordDto(row: CallRow, legs: LegRow[], relatedCallIds: string[]): CallRecordDto {
  return {
    id: row.id,
    version: Number(row.version),
    pbxCallId: row.pbx_call_id,
    direction: row.direction,
    state: row.state,
    disposition: row.disposition,
    missed: row.missed,
    externalNumber: row.external_number,
    externalNumberRaw: row.external_number_raw,
    trackingNumber: row.tracking_number,
    startedAt: row.started_at.toISOString(),
    answeredAt: iso(row.answered_at),
    endedAt: iso(row.ended_at),
    ...callDurations({ startedAt: row.started_at, answeredAt: row.answered_at, endedAt: row.ended_at }),
    agent: row.agent_extension ? { userId: row.agent_user_id, extension: row.agent_extension, name: row.agent_name } : null,
    legs: legs.map((l) => ({
      extension: l.extension,
      userId: l.user_id,
      ringingAt: iso(l.ringing_at),
      answeredAt: iso(l.answered_at),
      endedAt: iso(l.ended_at),
      result: l.result,
    })),
    hangupBy: row.hangup_by,
    contact: row.contact_id ? { id: row.contact_id, name: row.contact_name ?? '' } : null,
    organization: row.organization_id ? { id: row.organization_id, name: row.organization_name ?? '' } : null,
    contactMatch: row.contact_match,
    endReason: row.end_reason,
    relatedCallIds,
    recording:
      row.recording_id && row.recording_file
        ? {
            id: row.recording_id,
            fileName: row.recording_file,
            state: row.recording_state ?? 'pending',
            durationSeconds: row.recording_duration,
            url: `/api/calls/${row.id}/recording`,
            channels: row.recording_channels ?? null,
            analytics: row.recording_analytics ?? null,
          }
        : null,
    topic: row.topic,
    outcome: row.outcome_id ? { id: row.outcome_id, name: row.outcome_name ?? '' } : null,
    notes: row.notes,
  };
}
