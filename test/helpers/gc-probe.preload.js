// Test-only preload for a spawned app started with --expose-gc: on SIGUSR2 it
// runs a full garbage collection and prints the live heap as one JSON line, so
// a test can compare retained memory (not garbage waiting for the collector)
// before and after a load. See spawnApp's nodeArgs and waitForLog.
'use strict';

let probe = 0;
process.on('SIGUSR2', () => {
  if (typeof global.gc !== 'function') return;
  global.gc();
  probe += 1;
  const { heapUsed, rss } = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ event: 'test.gc_probe', probe, heap_used: heapUsed, rss })}\n`,
  );
});
