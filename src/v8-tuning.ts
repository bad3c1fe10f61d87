import v8 from 'node:v8';

/**
 * V8's allocation-site pretenuring is turned off for this process, before anything else runs.
 *
 * V8 watches how many objects from each object literal survive a young-generation GC. Past a
 * threshold it allocates that literal's later objects straight into the old generation. AMI
 * capture made a handful of per-frame literals (the journal entry, the event, its channel
 * snapshot) look long-lived: at startup, and whenever the database fell behind, a few survived.
 * From then on every frame's objects were born old. Each one pinned the young strings, Dates and
 * numbers it referenced, so the scavenger promoted those as well, until the next full GC.
 *
 * Measured at 10,000 AMI events/s (the capture pipeline on PostgreSQL, test/bench/ingest.bench.ts):
 * promoted to the old generation 12–14.6 MB/s with pretenuring, 3.7–4.5 MB/s without it. The
 * dead objects found by a full GC were the frames' message text, Dates, numbers and channel
 * snapshots. Nothing in calltrack allocates long-lived objects in bulk from one literal, which is
 * the case pretenuring is for.
 *
 * The flag is read at run time by the GC and the compilers, so setting it here works the same as
 * `node --no-allocation-site-pretenuring`. Every entry point imports this module first.
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');
