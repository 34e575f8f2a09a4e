import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A time budget for work done in slices: `spent()` says when the current slice has run its share, `pause()` ends it.
 * The clock of a slice starts at its first `spent()` check, so the wait between slices is never counted.
 */
export class Slicer {
  private start = -1;

  /** With `yieldBetween`, pause lets the event loop run: every interaction queued behind a slice shares Discord's 3-second deadline. */
  constructor(
    private readonly budgetMs: number,
    private readonly yieldBetween = false,
  ) {}

  /** Returns whether the current slice has used its budget (starting the slice's clock on the first call). */
  spent(): boolean {
    const t = performance.now();
    if (this.start < 0) {
      this.start = t;
      return false;
    }
    return t - this.start >= this.budgetMs;
  }

  /** Ends the current slice; resolves on the next turn of the event loop when slices yield, at once otherwise. */
  async pause(): Promise<void> {
    this.start = -1;
    if (this.yieldBetween) await nextTurn();
  }
}
