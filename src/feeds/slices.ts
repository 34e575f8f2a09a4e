import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A time budget for work done in slices: `spent()` says when the current slice has run its share, `pause()` ends it.
 * The clock of a slice starts at its first `spent()` check, so the wait between slices is never counted.
 */
export class Slicer {
  private start = -1;

  constructor(private readonly budgetMs: number) {}

  /** Returns whether the current slice has used its budget (starting the slice's clock on the first call). */
  spent(): boolean {
    const t = performance.now();
    if (this.start < 0) {
      this.start = t;
      return false;
    }
    return t - this.start >= this.budgetMs;
  }

  /** Ends the current slice; meant as `yield slicer.pause()`, so the driver can let the event loop run. */
  pause(): void {
    this.start = -1;
  }
}

/** Returns a sliced job's result, running its slices back to back (one call, nothing else runs meanwhile). */
export function runSync<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Returns a sliced job's result, letting the event loop run between slices: every interaction queued behind a slice
 * shares Discord's 3-second deadline, so no slice may hold the loop for long.
 */
export async function runAsync<T>(steps: Generator<void, T, void>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await nextTurn();
  }
}
