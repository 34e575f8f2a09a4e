import { redactText } from '../core/redact.js';

/** One readiness check's verdict: whether that part is ready, and a short line saying how it stands. */
export interface CheckResult {
  ok: boolean;
  detail: string;
}

/** A readiness check: a verdict now, or once a query (the store's) answers; a throw counts as not ready. */
export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

/** Every check's verdict, in the order the checks were added. */
export interface ReadinessReport {
  ready: boolean;
  checks: ({ name: string } & CheckResult)[];
}

/** How long one check may take before it counts as not ready (a store that does not answer is not reachable). */
export const CHECK_TIMEOUT_MS = 2000;
/** Longest detail line kept (a driver's error message can be long). */
const MAX_DETAIL = 300;

/** The parts /readyz asks about; each part adds its check when it exists, so a part not yet there is not ready. */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly timeoutMs = CHECK_TIMEOUT_MS) {}

  /** Adds or replaces the check of a part. */
  set(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Runs every check at once and returns their verdicts; ready only when there is at least one and all pass. */
  async report(): Promise<ReadinessReport> {
    const checks = await Promise.all([...this.checks].map(async ([name, check]) => ({ name, ...(await this.run(check)) })));
    return { ready: checks.length > 0 && checks.every((c) => c.ok), checks };
  }

  private async run(check: ReadinessCheck): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${this.timeoutMs / 1000} s` }), this.timeoutMs);
      });
      const result = await Promise.race([Promise.resolve().then(check), timeout]);
      return { ok: result.ok, detail: clip(result.detail) };
    } catch (err) {
      return { ok: false, detail: clip(`failed: ${(err as Error)?.message ?? String(err)}`) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Returns the check that the store answers a trivial query (reading one setting), through its own interface. */
export function storeCheck(store: { getMeta(key: string): unknown }): ReadinessCheck {
  return async () => {
    try {
      await store.getMeta('readiness-probe');
      return { ok: true, detail: 'reachable' };
    } catch (err) {
      return { ok: false, detail: `unreachable: ${(err as Error)?.message ?? String(err)}` };
    }
  };
}

/** A Discord shard as readiness reads it (the Discord adapter's shardStatus() rows have these fields). */
export interface ShardReadiness {
  id: number;
  state: string;
  since: number;
  lastError?: string;
  waitingFor?: string;
}

/**
 * Returns the check that every Discord shard this replica runs is ready. None at all is not ready either: with
 * DISCORD_SHARDS=auto the shards are known only once Discord has given the count.
 */
export function shardsCheck(status: () => readonly ShardReadiness[], now: () => number = Date.now): ReadinessCheck {
  return () => {
    const shards = status();
    if (shards.length === 0) return { ok: false, detail: 'no gateway shard yet (waiting for Discord\'s shard count)' };
    // A shard run by another replica (which took it over) is that replica's to report; this one stands by.
    const notReady = shards.filter((s) => s.state !== 'ready' && s.state !== 'elsewhere');
    if (notReady.length === 0) {
      const ready = shards.filter((s) => s.state === 'ready').map((s) => s.id);
      const away = shards.filter((s) => s.state === 'elsewhere' && !s.waitingFor).map((s) => s.id);
      // Standing by for another count's replicas is ready too: a rolling restart to a new count waits on it.
      const waiting = shards.filter((s) => s.state === 'elsewhere' && s.waitingFor);
      const parts = [
        ...(ready.length ? [`shard${ready.length === 1 ? '' : 's'} ${ready.join(',')} ready`] : []),
        ...(away.length ? [`shard${away.length === 1 ? '' : 's'} ${away.join(',')} run by another replica`] : []),
        ...(waiting.length ? [`shard${waiting.length === 1 ? '' : 's'} ${waiting.map((s) => s.id).join(',')} waiting: ${waiting[0]!.waitingFor}`] : []),
      ];
      return { ok: true, detail: parts.join('; ') };
    }
    const parts = notReady.map((s) => {
      const seconds = s.since > 0 ? ` for ${Math.max(0, Math.round((now() - s.since) / 1000))} s` : '';
      return `shard ${s.id} ${s.state}${seconds}${s.lastError ? ` (${s.lastError})` : ''}`;
    });
    return { ok: false, detail: parts.join('; ') };
  };
}

/** A part that is ready once started (Slack: the Web API token checked, then connected or listening) until stopped. */
export interface StartedCheck {
  check: ReadinessCheck;
  started(): void;
  stopped(): void;
}

/** Returns a started/stopped check for a part that reports no finer state. */
export function startedCheck(startingDetail = 'starting'): StartedCheck {
  let state: 'starting' | 'started' | 'stopped' = 'starting';
  return {
    check: () => ({ ok: state === 'started', detail: state === 'starting' ? startingDetail : state }),
    started: () => void (state = 'started'),
    stopped: () => void (state = 'stopped'),
  };
}

/** Returns a report as /readyz's plain-text body: the verdict, then one line per part. */
export function formatReadiness(report: ReadinessReport, replica: string): string {
  const lines = [`${report.ready ? 'ready' : 'not ready'} (replica ${replica})`];
  if (report.checks.length === 0) lines.push('nothing to check yet: starting');
  for (const c of report.checks) lines.push(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  return `${lines.join('\n')}\n`;
}

/** Returns a detail on one line, bounded, with credentials in any URL it quotes (a database URL) hidden. */
function clip(text: string): string {
  const t = redactText(text).replace(/\s+/g, ' ').trim();
  return t.length <= MAX_DETAIL ? t : `${t.slice(0, MAX_DETAIL - 1)}…`;
}
