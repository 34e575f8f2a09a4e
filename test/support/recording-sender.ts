import { AlertSendError, type AlertSender, type OutgoingMessage } from '../../src/feeds/types.js';

/** One message the recording sender accepted. */
export interface RecordedMessage {
  channelId: string;
  message: OutgoingMessage;
  key: string;
  messageId: string;
  /** Date.now() when accepted. */
  at: number;
}

/** One call to send, accepted or not. */
export interface SendAttempt {
  channelId: string;
  key: string;
  kind: OutgoingMessage['kind'];
  at: number;
  outcome: 'accepted' | 'deduplicated' | 'failed';
}

/** Decides the outcome of one send: an error to throw, or undefined to accept. */
export type SendScript = (attempt: { channelId: string; message: OutgoingMessage; key: string; call: number }) => AlertSendError | undefined;

/**
 * An AlertSender that keeps what it was sent. Like the platforms (Discord nonce + enforce_nonce, Slack metadata
 * lookup), a second send with an idempotency key it already accepted returns the first message instead of posting
 * again, and findSent answers by key.
 */
export class RecordingSender implements AlertSender {
  readonly sent: RecordedMessage[] = [];
  readonly attempts: SendAttempt[] = [];
  private readonly byKey = new Map<string, RecordedMessage>();
  private readonly queue: AlertSendError[] = [];
  private calls = 0;
  private nextId = 1;
  /** Optional script consulted on every send (after the queued failures). */
  script?: SendScript;
  /** Delay before answering each send (ms). */
  delayMs = 0;

  constructor(readonly platform: 'discord' | 'slack' = 'discord') {}

  /** Makes the next sends fail with these errors, in order. */
  failNext(...errors: AlertSendError[]): void {
    this.queue.push(...errors);
  }

  async send(channelId: string, message: OutgoingMessage, idempotencyKey: string): Promise<{ messageId: string }> {
    const call = ++this.calls;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const failure = this.queue.shift() ?? this.script?.({ channelId, message, key: idempotencyKey, call });
    if (failure) {
      this.attempts.push({ channelId, key: idempotencyKey, kind: message.kind, at: Date.now(), outcome: 'failed' });
      throw failure;
    }
    const previous = this.byKey.get(idempotencyKey);
    if (previous) {
      this.attempts.push({ channelId, key: idempotencyKey, kind: message.kind, at: Date.now(), outcome: 'deduplicated' });
      return { messageId: previous.messageId };
    }
    const recorded: RecordedMessage = { channelId, message, key: idempotencyKey, messageId: `${this.platform}-msg-${this.nextId++}`, at: Date.now() };
    this.sent.push(recorded);
    this.byKey.set(idempotencyKey, recorded);
    this.attempts.push({ channelId, key: idempotencyKey, kind: message.kind, at: Date.now(), outcome: 'accepted' });
    return { messageId: recorded.messageId };
  }

  async findSent(channelId: string, idempotencyKey: string): Promise<{ messageId: string } | undefined> {
    const m = this.byKey.get(idempotencyKey);
    return m && m.channelId === channelId ? { messageId: m.messageId } : undefined;
  }

  /** Pretends a message with this key reached the platform without the sender hearing back (a crash mid-send). */
  acceptSilently(channelId: string, message: OutgoingMessage, idempotencyKey: string): string {
    const recorded: RecordedMessage = { channelId, message, key: idempotencyKey, messageId: `${this.platform}-msg-${this.nextId++}`, at: Date.now() };
    this.sent.push(recorded);
    this.byKey.set(idempotencyKey, recorded);
    return recorded.messageId;
  }

  /** Alerts accepted for a channel (alert kind only), oldest first. */
  alerts(channelId?: string): (RecordedMessage & { message: Extract<OutgoingMessage, { kind: 'alert' }> })[] {
    return this.sent.filter((m): m is RecordedMessage & { message: Extract<OutgoingMessage, { kind: 'alert' }> } => m.message.kind === 'alert' && (channelId === undefined || m.channelId === channelId));
  }
}

/** Returns a retryable AlertSendError like a 429 with Retry-After. */
export function rateLimited(retryAfterMs: number): AlertSendError {
  return new AlertSendError(`429 Too Many Requests (retry after ${retryAfterMs} ms)`, true, retryAfterMs);
}
