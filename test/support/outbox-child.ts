/**
 * Child process for the crash test: runs the outbox worker over a store file, sending to a recording HTTP sink.
 * Usage: node --import tsx test/support/outbox-child.ts <database> <sink origin>
 * Prints "ready" once the store is open, "done" and exits 0 when nothing is left to send. The parent SIGKILLs it at
 * random points and starts it again.
 */
import { createOutboxWorker } from '../../src/feeds/outbox-worker.js';
import { AlertSendError, type AlertSender, type OutgoingMessage } from '../../src/feeds/types.js';
import { storageOverStore } from '../../src/store/storage.js';
import { openStore } from '../../src/store/store.js';

/** An AlertSender posting to the crash test's sink, which dedupes by key the way Discord's nonce and Slack's metadata do. */
function sinkSender(platform: 'discord' | 'slack', origin: string): AlertSender {
  return {
    platform,
    async send(channelId: string, message: OutgoingMessage, idempotencyKey: string) {
      const postId = message.kind === 'alert' ? message.post.postId : undefined;
      let res: Response;
      try {
        res = await fetch(`${origin}/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ platform, channelId, key: idempotencyKey, kind: message.kind, postId }),
        });
      } catch (err) {
        throw new AlertSendError(`sink unreachable: ${(err as Error).message}`, true);
      }
      if (res.status === 429) throw new AlertSendError('429', true, Number(res.headers.get('retry-after') ?? '0') * 1000);
      if (!res.ok) throw new AlertSendError(`HTTP ${res.status}`, res.status >= 500);
      return (await res.json()) as { messageId: string };
    },
    async findSent(channelId: string, idempotencyKey: string) {
      const res = await fetch(`${origin}/find?platform=${platform}&channel=${encodeURIComponent(channelId)}&key=${encodeURIComponent(idempotencyKey)}`);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`findSent: HTTP ${res.status}`);
      return (await res.json()) as { messageId: string };
    },
  };
}

async function main(): Promise<void> {
  const [database, origin] = process.argv.slice(2);
  if (!database || !origin) throw new Error('usage: outbox-child.ts <database> <sink origin>');
  const store = openStore(database);
  const feeds = await storageOverStore(store);
  process.stdout.write('ready\n');
  const worker = createOutboxWorker({
    storage: feeds,
    senders: [sinkSender('discord', origin), sinkSender('slack', origin)],
    slackMinIntervalMs: 10,
    retryBaseMs: 20,
    maxConcurrent: 4,
  });
  for (;;) {
    await worker.drain(2000);
    if (await feeds.outbox.nextDue() === undefined && (await feeds.outbox.byStatus('sending')).length === 0) break;
  }
  store.close();
  process.stdout.write('done\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`outbox-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
