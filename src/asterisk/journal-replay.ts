import type { CountryCode } from 'libphonenumber-js/min';
import type { DataSource } from 'typeorm';
import { createCallCapture } from '../calls/call-capture';
import { rebuildCalls, reviveControlEvent, type JournalRow } from '../calls/call-rebuild';
import { createCallStore } from '../calls/call-store';
import { matchNumber } from '../contacts/contact-matcher';
import type { Logger } from '../logger';
import { createExtensionDirectory } from '../users/extension-directory';
import { amiFrameOfPayload } from './journal-payload';
import { toPbxEvent } from './to-pbx-event';

/** A journal row back to its event: AMI frames through today's toPbxEvent, control events as stored. */
export function decodeJournalRow(row: JournalRow) {
  return row.kind === 'ami'
    ? toPbxEvent(amiFrameOfPayload(row.payload), new Date(row.received_at), Number(row.mono))
    : reviveControlEvent(JSON.parse(row.payload));
}

/**
 * `npm run calls:rebuild`: fresh pipelines (no journalling, no publishing) over the journal, one
 * per source; `sources` limits it to the rows those processes journalled.
 */
export async function rebuildFromJournal(
  ds: DataSource,
  defaultCountry: CountryCode,
  logger: Logger,
  window: { from: Date; to: Date; sources?: readonly string[] },
) {
  const directory = createExtensionDirectory(ds);
  await directory.reload();
  const store = createCallStore({ ds, logger, onApplied: () => undefined });
  const newCapture = () =>
    createCallCapture({
      store,
      directory,
      match: (e164) => matchNumber(ds, e164),
      publish: () => undefined,
      logger,
      defaultCountry,
      journal: false,
    });
  try {
    return await rebuildCalls({ ds, newCapture, store, decode: decodeJournalRow, logger, ...window });
  } finally {
    await store.close();
  }
}
