import { InitialSchema1795716000000 } from '../../migrations/1795716000000-InitialSchema';

/** Every migration, in order. `npm run migration:create` appends here. */
export const migrations = [InitialSchema1795716000000];
