/**
 * A bounded set of recently seen keys (least recently seen dropped first): Slack redelivers an event with the same
 * event_id when our ack was late, and one message can reach us more than once; each must be answered once.
 */
export class RecentKeys {
  readonly #keys = new Map<string, true>();

  /** Creates a set remembering at most `capacity` keys. */
  constructor(readonly capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RecentKeys capacity must be a positive integer (got ${capacity})`);
  }

  /** Returns true when any of the keys was seen before; records them all either way. Empty keys are ignored. */
  seen(...keys: (string | undefined)[]): boolean {
    let hit = false;
    for (const key of keys) {
      if (!key) continue;
      if (this.#keys.has(key)) {
        hit = true;
        this.#keys.delete(key); // refresh: re-inserted below as most recent
      }
      this.#keys.set(key, true);
      if (this.#keys.size > this.capacity) this.#keys.delete(this.#keys.keys().next().value as string);
    }
    return hit;
  }

  /** Number of keys remembered. */
  get size(): number {
    return this.#keys.size;
  }
}
