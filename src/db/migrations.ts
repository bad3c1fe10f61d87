import { InitialSchema1795716000000 } from '../../migrations/1795716000000-InitialSchema';
import { CallEventJournal1795716100000 } from '../../migrations/1795716100000-CallEventJournal';
import { CallListAccessIndexes1795719960632 } from '../../migrations/1795719960632-CallListAccessIndexes';
import { RecordingsAndReviews1795800000000 } from '../../migrations/1795800000000-RecordingsAndReviews';
import { JournalWriteCost1795800000100 } from '../../migrations/1795800000100-JournalWriteCost';
import { JournalSource1795800000200 } from '../../migrations/1795800000200-JournalSource';
import { AuditOrder1795800000300 } from '../../migrations/1795800000300-AuditOrder';
import { RecordingsLeftOnPbx1795800000400 } from '../../migrations/1795800000400-RecordingsLeftOnPbx';
import { ExtensionFilter1795800000500 } from '../../migrations/1795800000500-ExtensionFilter';

/** Every migration, in order. `npm run migration:create` appends here. */
export const migrations = [
  InitialSchema1795716000000,
  CallEventJournal1795716100000,
  CallListAccessIndexes1795719960632,
  RecordingsAndReviews1795800000000,
  JournalWriteCost1795800000100,
  JournalSource1795800000200,
  AuditOrder1795800000300,
  RecordingsLeftOnPbx1795800000400,
  ExtensionFilter1795800000500,
];
