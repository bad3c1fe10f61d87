/**
 * node's command-line flags for the service (V8 reads them when it sets up the heap, before any of
 * our code runs; the settings V8 reads later are made in v8-tuning.ts). `npm start`, the
 * Dockerfile, the benches and the e2e tests' server pass them; test/unit/node-flags.test.ts checks
 * that they agree.
 *
 * --max-semi-space-size=8: the young generation's two semi-spaces are at most 8 MiB each (V8's
 * default is 16 on 64-bit hosts). A frame's objects die within a few milliseconds, long before an
 * 8 MiB semi-space fills. Measured in bench:ingest (30,000 calls, 2,000 open at once, full speed):
 * peak RSS 203 → 181 MiB, CPU per event 16.7 → 17.9 µs, on a host that sustains 52–54k events/s.
 */
export const COMMAND_LINE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
