// Loaded into the bot by bench/startup.ts (`node --import ./bench/loop-probe.mjs`): when the process exits, writes to
// stderr the longest times its event loop was held, each with when it began (ms after this module loaded), from a
// timer that ticks every 5 ms. Blocks early on are mostly modules being loaded and compiled.
const TICK_MS = 5;
const started = performance.now();
let last = started;
/** [held ms, began at ms], longest first, a few of them. */
const longest = [];
setInterval(() => {
  const now = performance.now();
  const held = now - last - TICK_MS;
  if (held > 50) {
    longest.push([Math.round(held), Math.round(last - started)]);
    longest.sort((a, b) => b[0] - a[0]);
    longest.length = Math.min(longest.length, 3);
  }
  last = now;
}, TICK_MS).unref();
process.on('exit', () => {
  process.stderr.write(`\nloop-longest:${JSON.stringify(longest)}\n`);
});
