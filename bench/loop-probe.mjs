// Loaded into the bot by bench/startup.ts (`node --import ./bench/loop-probe.mjs`): when the process exits, writes the
// longest time its event loop was held (from a timer sampled every 10 ms) to stderr, where the bench reads it.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
process.on('exit', () => {
  process.stderr.write(`\nloop-max-ms:${Math.round(histogram.max / 1e6)}\n`);
});
