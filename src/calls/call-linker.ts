import type { DataSource } from 'typeorm';
import { matchNumber } from '../contacts/contact-matcher';
import type { Logger } from '../logger';
import type { CallCapture } from './call-capture';
import type { CallRecordDto } from './call-record';
import type { CallsRepository } from './calls.repository';

/** How many re-linked past calls are pushed live per number (the rest are simply stored). */
const MAX_PUBLISHED = 100;

/**
 * When a number gets (or loses) its contact or organization, the calls from and to it follow: their
 * match is recomputed, stored with a new version and published; calls in progress re-match in the
 * capture pipeline so the next PBX event keeps the new contact.
 */
export function createCallLinker(deps: {
  ds: DataSource;
  capture: CallCapture;
  calls: CallsRepository;
  publish: (call: CallRecordDto) => void;
  logger: Logger;
}) {
  const { ds, capture, calls, publish } = deps;
  return async function relink(e164s: string[]): Promise<void> {
    for (const e164 of e164s) {
      const match = await matchNumber(ds, e164);
      const [rows] = (await ds.query(
        `UPDATE calls SET contact_id = $2, organization_id = $3, contact_match = $4, updated_at = now(),
                version = GREATEST(version + 1, (extract(epoch from clock_timestamp()) * 1000000)::bigint)
          WHERE external_number = $1
            AND (contact_id IS DISTINCT FROM $2::uuid OR organization_id IS DISTINCT FROM $3::uuid OR contact_match <> $4)
          RETURNING id, started_at`,
        [e164, match.contact?.id ?? null, match.organization?.id ?? null, match.match],
      )) as [{ id: string; started_at: Date }[], number];
      const live = new Set(capture.rematch(e164, match));
      const recent = rows
        .filter((r) => !live.has(r.id))
        .sort((a, b) => b.started_at.getTime() - a.started_at.getTime())
        .slice(0, MAX_PUBLISHED);
      for (const call of await calls.findByIds(recent.map((r) => r.id))) publish(call);
      if (rows.length) deps.logger.info({ number: e164, calls: rows.length, match: match.match }, 'calls re-linked to their contact');
    }
  };
}
