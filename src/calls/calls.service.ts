import type { CountryCode } from 'libphonenumber-js/min';
import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import { invalid, notFound } from '../errors';
import { normalizePhone } from '../contacts/phone-number';
import type { Principal } from '../users/principal';
import type { CallRecordDto } from './call-record';
import type { annotateCallBody, ListCallsQuery } from './call.dto';
import { Call } from './call.entity';
import { decodeCursor, type CallFilters, type CallsRepository } from './calls.repository';
import { Outcome } from './outcome.entity';

export type CallsService = ReturnType<typeof createCallsService>;

/** Publishes the whole record after a change (the in-process bus `call:update`). */
export type PublishCall = (call: CallRecordDto) => void;

export function createCallsService(deps: {
  ds: DataSource;
  calls: CallsRepository;
  defaultCountry: CountryCode;
  publish: PublishCall;
}) {
  const { ds, calls, defaultCountry, publish } = deps;

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
      const n = normalizePhone(q.number, defaultCountry);
      const digits = q.number.replace(/\D/g, '');
      if (n.kind === 'e164') f.externalNumber = n.e164;
      else if (/^[\d\s()+\-.]+$/.test(q.number) && digits.length >= 3) f.numberDigits = digits;
      else throw invalid(`Invalid query: number: "${q.number}" is not a phone number`);
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
      await ds
        .createQueryBuilder()
        .update(Call)
        .set({
          ...(body.topic !== undefined && { topic: body.topic || null }),
          ...(body.outcome !== undefined && { outcomeId: body.outcome }),
          ...(body.notes !== undefined && { notes: body.notes || null }),
          annotatedBy: p.userId,
          annotatedAt: new Date(),
          version: () => 'version + 1',
        })
        .where('id = :id', { id })
        .execute();
      const updated = (await calls.findByIds([id]))[0]!;
      publish(updated);
      return updated;
    },
  };
}
