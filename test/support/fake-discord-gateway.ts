import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';

/**
 * The fake Discord's gateway: one session per IDENTIFY, each on the shard `[id, count]` it names. A guild's events
 * go only to the sessions of the shard that owns it, `(guild_id >> 22) % count`, as Discord routes them; a DM's go
 * to shard 0. Two live sessions on one shard both get its events, as on Discord (the bug of two replicas running
 * the same shard). As on Discord, a session outlives its socket unless it was closed with 1000/1001 or a fatal code:
 * dispatches for it meanwhile are kept with their sequence numbers, and a RESUME (from any process) with the session
 * id replays every dispatch after the sequence it names, then RESUMED.
 */

/** A gateway event the fake handled, for tests about sessions. */
export interface GatewayEvent {
  kind: 'connect' | 'identify' | 'resume' | 'heartbeat' | 'close';
  /** The path the client connected to (`/gateway` for a new session, `/resume` for a resume). */
  path?: string;
  payload?: any;
  /** The shard of the session, once known (identify, resume of a known session, close of an identified socket). */
  shard?: number;
  at: number;
}

/** One gateway session as the fake keeps it. */
export interface GatewaySession {
  id: string;
  shard: number;
  count: number;
  /** The token the session identified with (tests give each replica its own to tell them apart). */
  token: string;
  /** The socket events go to; undefined while disconnected (the session can still be resumed). */
  socket?: WebSocket;
  seq: number;
  /** Every dispatch of the session by sequence, for replay on RESUME. */
  log: { seq: number; frame: string }[];
  /** Closed for good (1000/1001 from the client, or a fatal code): it can no longer be resumed nor receive events. */
  invalid?: boolean;
}

/** One dispatch the fake sent: which event (and the id in it, e.g. an interaction's) went on which session. */
export interface GatewayDispatch {
  t: string;
  /** `d.id` of the event, when it has one. */
  id?: string;
  session: string;
  shard: number;
  token: string;
  /** Kept for a disconnected session (sent if it is resumed). */
  buffered?: true;
}

/** What the gateway needs from the rest of the fake. */
export interface FakeGatewayHost {
  applicationId: string;
  botUserId: string;
  resumeUrl(): string;
  /** Every guild the bot is in. */
  guildIds(): string[];
  /** A guild as GUILD_CREATE carries it. */
  guild(id: string): Record<string, unknown>;
  /** Identifies with fewer shards than this are closed with 4011 (sharding required). */
  minShards: number;
  /** Called for each event, after it is recorded. */
  onEvent(event: GatewayEvent): void;
  /** Called for each IDENTIFY accepted (it spends one session start). */
  onSessionStart(): void;
  /** A fresh snowflake. */
  snowflake(): string;
}

/** Close codes after which Discord does not let a session resume (authentication, shard, version, intents). */
const FATAL_CLOSE_CODES = new Set([4004, 4010, 4011, 4012, 4013, 4014]);
/** Dispatches kept per session for replay. */
const MAX_REPLAY = 20_000;

/** Returns the shard that owns a guild: `(guild_id >> 22) % count`, on the snowflake as a 64-bit integer. */
export function shardOfGuild(guildId: string, count: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(count));
}

/** Returns a realistic guild id owned by `shard` of `count`; `n` picks another one on the same shard. */
export function guildIdOnShard(shard: number, count: number, n = 0): string {
  // A timestamp part of about 300e9 ms after the Discord epoch (2024), aligned so that its remainder is `shard`.
  const base = 300_000_000_000n - (300_000_000_000n % BigInt(count));
  return String(((base + BigInt(n * count + shard)) << 22n) | 0x1e240n);
}

/** The WebSocket side of the fake Discord. */
export class FakeGateway {
  /** Sessions by id, resumable ones included. */
  readonly sessions = new Map<string, GatewaySession>();
  /** Every dispatch sent, in order. */
  readonly dispatches: GatewayDispatch[] = [];
  /** RESUMEs of a session whose socket was still open: two processes on one session (a shard run twice). */
  readonly resumesOfLiveSessions: { session: string; shard: number; at: number }[] = [];
  private readonly bySocket = new WeakMap<WebSocket, GatewaySession>();

  constructor(private readonly host: FakeGatewayHost) {}

  /** Takes a new connection: HELLO, then IDENTIFY or RESUME frames. */
  connect(ws: WebSocket, path: string): void {
    this.event({ kind: 'connect', path, at: performance.now() });
    ws.on('message', (data) => this.onFrame(ws, String(data)));
    ws.on('close', (code) => {
      const session = this.bySocket.get(ws);
      if (session?.socket === ws) {
        session.socket = undefined;
        // Discord ends a session closed normally (1000, 1001) or fatally; any other close keeps it resumable.
        if (code === 1000 || code === 1001 || FATAL_CLOSE_CODES.has(code)) session.invalid = true;
      }
      this.event({ kind: 'close', payload: { code }, shard: session?.shard, at: performance.now() });
    });
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
  }

  /** Live sessions (with an open socket), optionally only those of one shard. */
  live(shard?: number): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => s.socket && (shard === undefined || s.shard === shard));
  }

  /** Sessions that get a shard's events: live ones, and disconnected ones that can still be resumed. */
  resumable(shard: number, count?: number): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => !s.invalid && s.shard === shard && (count === undefined || s.count === count));
  }

  /**
   * Sends a dispatch on `shard`, or else on the shard owning `d.guild_id`, or else on shard 0; a session without a
   * socket keeps it for its resume. Throws when the shard has no session at all.
   */
  dispatch(t: string, d: any, shard?: number): void {
    const guildId: unknown = shard === undefined ? d?.guild_id : undefined;
    const targets =
      typeof guildId === 'string'
        ? [...this.sessions.values()].filter((s) => !s.invalid && s.shard === shardOfGuild(guildId, s.count))
        : this.resumable(shard ?? 0);
    if (targets.length === 0) {
      const which = typeof guildId === 'string' ? `the shard of guild ${guildId}` : `shard ${shard ?? 0}`;
      throw new Error(`fake discord: no gateway session on ${which} (did the client log in?)`);
    }
    for (const session of targets) this.send(session, t, d);
  }

  /** Sends GUILD_CREATE for a guild the bot joined, on the sessions of the shard that owns it. */
  guildCreate(guildId: string): void {
    const targets = [...this.sessions.values()].filter((s) => s.socket && s.shard === shardOfGuild(guildId, s.count));
    for (const session of targets) this.send(session, 'GUILD_CREATE', this.host.guild(guildId));
  }

  /** Sends a raw opcode (e.g. 7, reconnect) on the live sessions of a shard; throws when it has none. */
  sendOp(op: number, d: unknown, shard: number): void {
    const targets = this.live(shard);
    if (targets.length === 0) throw new Error(`fake discord: no gateway session on shard ${shard}`);
    for (const session of targets) session.socket!.send(JSON.stringify({ op, d }));
  }

  /** Closes the sockets of a shard's live sessions with a close code, as Discord does on an error. */
  disconnect(shard: number, code: number, reason = 'fake close'): void {
    const targets = this.live(shard);
    if (targets.length === 0) throw new Error(`fake discord: no gateway session on shard ${shard}`);
    for (const session of targets) {
      if (FATAL_CLOSE_CODES.has(code)) session.invalid = true;
      session.socket!.close(code, reason);
    }
  }

  private send(session: GatewaySession, t: string, d: any): void {
    const id = typeof d?.id === 'string' ? d.id : undefined;
    this.dispatches.push({ t, ...(id ? { id } : {}), session: session.id, shard: session.shard, token: session.token, ...(session.socket ? {} : { buffered: true as const }) });
    session.seq += 1;
    const frame = JSON.stringify({ op: 0, t, s: session.seq, d });
    session.log.push({ seq: session.seq, frame });
    if (session.log.length > MAX_REPLAY) session.log.splice(0, session.log.length - MAX_REPLAY);
    session.socket?.send(frame);
  }

  private onFrame(ws: WebSocket, text: string): void {
    let frame: any;
    try {
      frame = JSON.parse(text);
    } catch {
      ws.close(4002, 'decode error');
      return;
    }
    switch (frame.op) {
      case 1:
        this.event({ kind: 'heartbeat', payload: frame.d, shard: this.bySocket.get(ws)?.shard, at: performance.now() });
        ws.send(JSON.stringify({ op: 11 }));
        return;
      case 2:
        return this.onIdentify(ws, frame.d);
      case 6:
        return this.onResume(ws, frame.d);
      default:
        return;
    }
  }

  private onIdentify(ws: WebSocket, d: any): void {
    // discord.js always sends `shard`, [0, 1] when unsharded; Discord treats a missing one the same way.
    const [shard, count] = Array.isArray(d?.shard) ? (d.shard as number[]) : [0, 1];
    this.event({ kind: 'identify', payload: d, shard, at: performance.now() });
    if (!Number.isInteger(shard) || !Number.isInteger(count) || count < 1 || shard < 0 || shard >= count) {
      ws.close(4010, 'Invalid shard');
      return;
    }
    if (count < this.host.minShards) {
      ws.close(4011, 'Sharding required');
      return;
    }
    this.host.onSessionStart();
    const session: GatewaySession = { id: `session-${this.host.snowflake()}`, shard, count, token: String(d?.token ?? ''), socket: ws, seq: 0, log: [] };
    this.sessions.set(session.id, session);
    this.bySocket.set(ws, session);
    const guilds = this.host.guildIds().filter((id) => shardOfGuild(id, count) === shard);
    this.send(session, 'READY', {
      v: 10,
      user: { id: this.host.botUserId, username: 'incident-bot', discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0 },
      guilds: guilds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.host.resumeUrl(),
      application: { id: this.host.applicationId, flags: 0 },
      shard: [shard, count],
      private_channels: [],
    });
    // discord.js waits (15 s) for a GUILD_CREATE of every guild listed in READY before the shard is ready.
    for (const id of guilds) this.send(session, 'GUILD_CREATE', this.host.guild(id));
  }

  private onResume(ws: WebSocket, d: any): void {
    const session = typeof d?.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    this.event({ kind: 'resume', payload: d, shard: session?.shard, at: performance.now() });
    if (!session || session.invalid) {
      ws.send(JSON.stringify({ op: 9, d: false }));
      return;
    }
    const previous = session.socket;
    if (previous && previous !== ws && previous.readyState === previous.OPEN) {
      this.resumesOfLiveSessions.push({ session: session.id, shard: session.shard, at: performance.now() });
      // Discord moves the session to the new connection; the old one hears no more of it.
      this.bySocket.delete(previous);
      previous.close(4000, 'session resumed elsewhere');
    }
    session.socket = ws;
    this.bySocket.set(ws, session);
    const after = Number(d?.seq ?? 0);
    for (const entry of session.log) if (entry.seq > after) ws.send(entry.frame);
    this.send(session, 'RESUMED', {});
  }

  private event(event: GatewayEvent): void {
    this.host.onEvent(event);
  }
}
