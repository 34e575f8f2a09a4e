/**
 * A bounded memory of signed requests already answered, each kept until Slack's signature on it has expired (after
 * that the timestamp check refuses a replay anyway). Keys are whatever names a request: its signature, or a slash
 * command's team and trigger id.
 */
export class ReplayCache {
  // Insertion order is nearly expiry order (expiry = request timestamp + window), so pruning looks at the front only.
  readonly #expiry = new Map<string, number>();

  /** Creates a cache holding at most `capacity` keys; past that the oldest are forgotten first. */
  constructor(readonly capacity = 20_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ReplayCache capacity must be a positive integer (got ${capacity})`);
  }

  /**
   * Returns true when any key was recorded before and has not expired at `now` (ms); records every key until
   * `expiresAt` (ms) either way. Empty keys are ignored.
   */
  seen(keys: readonly (string | undefined)[], expiresAt: number, now: number): boolean {
    this.#prune(now);
    let hit = false;
    for (const key of keys) {
      if (!key) continue;
      const until = this.#expiry.get(key);
      if (until !== undefined && until > now) hit = true;
      this.#expiry.delete(key);
      this.#expiry.set(key, Math.max(expiresAt, until ?? 0));
      if (this.#expiry.size > this.capacity) this.#expiry.delete(this.#expiry.keys().next().value as string);
    }
    return hit;
  }

  /** Number of keys remembered. */
  get size(): number {
    return this.#expiry.size;
  }

  #prune(now: number): void {
    for (const [key, until] of this.#expiry) {
      if (until > now) break;
      this.#expiry.delete(key);
    }
  }
}
