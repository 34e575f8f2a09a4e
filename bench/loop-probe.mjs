// Loaded into the bot by bench/startup.ts (`node --import ./bench/loop-probe.mjs`): when the process exits, writes to
// stderr every time its event loop was held over 50 ms (from a timer that ticks every 5 ms), with when each began, so
// that the bench can tell module loading (before the bot's start-up begins) from the bot's own work.
const TICK_MS = 5;
const started = performance.now();
let last = started;
/** [held ms, began at ms after this module loaded], in order; bounded. */
const blocks = [];
setInterval(() => {
  const now = performance.now();
  const held = now - last - TICK_MS;
  if (held > 50 && blocks.length < 1_000) blocks.push([Math.round(held), Math.round(last - started)]);
  last = now;
}, TICK_MS).unref();
process.on('exit', () => {
  process.stderr.write(`\nloop-blocks:${JSON.stringify({ t0: performance.timeOrigin + started, blocks })}\n`);
});
