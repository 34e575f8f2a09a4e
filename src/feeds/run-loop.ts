/** A background loop that runs a round, then sleeps until its next due time or until woken, until stopped. */
export interface RunLoop {
  /** Starts the loop (no-op when running). */
  start(): void;
  /** Stops it and resolves once the current round has finished. */
  stop(): Promise<void>;
  /** Cuts the current sleep short (new work arrived). */
  wake(): void;
}

/** What a loop does each round, and how long it sleeps after one. */
export interface RunLoopOptions {
  round: () => unknown;
  /** Milliseconds until the next round is due, read after each round. */
  sleepFor: () => number | Promise<number>;
  /** Sleep after a round that threw. */
  afterErrorMs: number;
  /** Told about a round that threw; the loop goes on. */
  onError: (error: unknown) => void;
}

/** Returns a loop shared by the poller and the outbox worker: one round at a time, wakeable, stoppable. */
export function createRunLoop(options: RunLoopOptions): RunLoop {
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const wakeUp = () => {
    if (timer) clearTimeout(timer);
    wake?.();
  };
  return {
    start() {
      if (!stopped) return;
      stopped = false;
      loop = (async () => {
        while (!stopped) {
          let sleep = options.afterErrorMs;
          try {
            await options.round();
            sleep = await options.sleepFor();
          } catch (error) {
            options.onError(error);
          }
          if (stopped) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, sleep);
          });
          wake = undefined;
        }
      })();
    },
    async stop() {
      stopped = true;
      wakeUp();
      await loop;
    },
    wake: wakeUp,
  };
}
