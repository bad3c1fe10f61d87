import v8 from 'node:v8';

/**
 * V8 settings for this process. The first two are made here, before anything else runs: the GC
 * reads them at run time, so setting them here works the same as passing them on node's command
 * line. Every entry point imports this module first. One more, a command-line flag, is in
 * node-flags.ts.
 *
 * 1. Allocation-site pretenuring is off.
 *
 *    V8 watches how many objects from each object literal survive a young-generation GC. Past a
 *    threshold it allocates that literal's later objects straight into the old generation. AMI
 *    capture made a handful of per-frame literals (the journal entry, the event, its channel
 *    snapshot) look long-lived: at startup, and whenever the database fell behind, a few survived.
 *    From then on every frame's objects were born old. Each one pinned the young strings, Dates and
 *    numbers it referenced, so the scavenger promoted those as well, until the next full GC.
 *
 *    Measured at 10,000 AMI events/s (the capture pipeline on PostgreSQL, test/bench/ingest.bench.ts):
 *    promoted to the old generation 12–14.6 MB/s with pretenuring, 3.7–4.5 MB/s without it. The
 *    dead objects found by a full GC were the frames' message text, Dates, numbers and channel
 *    snapshots. Nothing in calltrack allocates long-lived objects in bulk from one literal, which is
 *    the case pretenuring is for.
 *
 * 2. The old generation may grow to 1.5 times what survived the last full GC before the next one
 *    (V8 lets it grow up to 4 times on a host with much memory). At 10,000 events/s, the old
 *    generation took 166–197 MiB against 98–100 MiB with this setting, and the process RSS
 *    367–399 MiB against 251–259 MiB. The extra full GCs cost nothing measurable, because with
 *    pretenuring off little is promoted (CPU per event 33.1 µs before, 32.1 µs after).
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');
v8.setFlagsFromString('--heap-growing-percent=50');
