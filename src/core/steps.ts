import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Work written as a generator that yields between small steps, so that the same code runs either at once (a worker,
 * a CLI) or spread over turns of the event loop (the bot, where no piece of work may hold the loop for long).
 */
export type Steps<T> = Generator<unknown, T, undefined>;

/** Runs stepped work to its end at once; returns its result. */
export function runAtOnce<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Most milliseconds stepped work runs before it lets the event loop turn: well under the ~200 ms any piece of work may
 * hold it (Discord's 3 s reply deadline is shared by everything waiting behind it).
 */
export const SLICE_MS = 25;

/** Runs stepped work, letting the event loop turn every `sliceMs`; resolves to its result. */
export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let started = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (performance.now() - started >= sliceMs) {
      await nextTurn();
      started = performance.now();
    }
  }
}
