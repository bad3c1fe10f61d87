import type { CountryCode } from 'libphonenumber-js/min';
import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import { invalid, notFound } from '../errors';
import { phoneSearch } from '../contacts/phone-number';
import type { Principal } from '../users/principal';
import type { CallRecordDto } from './call-record';
import type { annotateCallBody, ListCallsQuery } from './call.dto';
import { decodeCursor, type CallFilters, type CallsRepository } from './calls.repository';
import { Outcome } from './outcome.entity';

/** Versions are max(previous + 1, now in µs): see call-version.ts. */
const nowMicrosSql = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`;

/** The live side of annotations: calls in progress are versioned by the capture pipeline. */
export interface LiveAnnotations {
  reserveVersion(callId: string): number | null;
  annotated(callId: string, a: Pick<CallRecordDto, 'topic' | 'outcome' | 'notes'>, version: number): CallRecordDto | null;
}

export type CallsService = ReturnType<typeof createCallsService>;

/** Publishes the whole record after a change (the in-process bus `call:update`). */
export type PublishCall = (call: CallRecordDto) => void;

export function createCallsService(deps: {
  ds: DataSource;
  calls: CallsRepository;
  defaultCountry: CountryCode;
  publish: PublishCall;
  live?: LiveAnnotations;
}) {
  const { ds, calls, defaultCountry, publish, live } = deps;

  function filtersOf(q: ListCallsQuery): CallFilters {
    const f: CallFilters = {
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      direction: q.direction,
      disposition: q.disposition,
      state: q.state,
      missed: q.missed,
      contactId: q.contact,
      organizationId: q.organization,
    };
    if (q.agent) {
      if (/^\d+$/.test(q.agent)) f.agentExtension = q.agent;
      else f.agentUserId = q.agent;
    }
    if (q.number) {
      const term = phoneSearch(q.number, defaultCountry);
      if (!term) throw invalid(`Invalid query: number: "${q.number}" is not a phone number`);
      if (term.e164) f.externalNumber = term.e164;
      if (term.digits) f.numberDigits = term.digits;
    }
    return f;
  }

  return {
    list: (p: Principal, q: ListCallsQuery) => calls.list(p, filtersOf(q), q.limit, q.cursor ? decodeCursor(q.cursor) : undefined),

    async get(p: Principal, id: string): Promise<CallRecordDto> {
      const call = await calls.findVisible(p, id);
      if (!call) throw notFound('Call');
      return call;
    },

    /** The manager's topic, outcome and notes; bumps the version and publishes the record. */
    async annotate(p: Principal, id: string, body: z.output<typeof annotateCallBody>): Promise<CallRecordDto> {
      if (!(await calls.findVisible(p, id))) throw notFound('Call');
      if (body.outcome && !(await ds.getRepository(Outcome).existsBy({ id: body.outcome, active: true }))) {
        throw invalid(`Invalid body: outcome: ${body.outcome} is not an active outcome`);
      }
      // a call in progress is versioned by the capture pipeline: take the next version from it
      const reserved = live?.reserveVersion(id) ?? null;
      const [row] = (await ds.query(
        `UPDATE calls SET
            topic = CASE WHEN $2::boolean THEN $3 ELSE topic END,
            outcome_id = CASE WHEN $4::boolean THEN $5::uuid ELSE outcome_id END,
            notes = CASE WHEN $6::boolean THEN $7 ELSE notes END,
            annotated_by = $8, annotated_at = now(), updated_at = now(),
            version = GREATEST(version + 1, COALESCE($9::bigint, ${nowMicrosSql}))
          WHERE id = $1 RETURNING version`,
        [
          id,
          body.topic !== undefined,
          body.topic || null,
          body.outcome !== undefined,
          body.outcome ?? null,
          body.notes !== undefined,
          body.notes || null,
          p.userId,
          reserved,
        ],
      )) as [{ version: string }[], number];
      const stored = (await calls.findByIds([id]))[0]!;
      const version = Number(row[0]?.version ?? stored.version);
      const updated = live?.annotated(id, { topic: stored.topic, outcome: stored.outcome, notes: stored.notes }, version) ?? stored;
      publish(updated);
      return updated;
    },
  };
}
