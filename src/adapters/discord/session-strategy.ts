import { SimpleShardingStrategy, type ClientOptions, type IShardingStrategy, type SessionInfo } from 'discord.js';

/** @discordjs/ws's manager, as discord.js hands it to buildStrategy (discord.js's own WebSocketManager is another class). */
type WSManager = Parameters<NonNullable<NonNullable<ClientOptions['ws']>['buildStrategy']>>[0];

/**
 * A discord.js sharding strategy (ClientOptions.ws.buildStrategy) that lets a shard's gateway session outlive the
 * process running it: the session id and resume URL are handed out as they change, and a new process can start from
 * a stored session, so that it RESUMEs it and Discord replays the events sent since (instead of a new IDENTIFY, which
 * would lose them). It is discord.js's own SimpleShardingStrategy; only the session info it reads and writes passes
 * through here.
 */

/** A session to start from, as the previous holder of the shard stored it. */
export interface SeedSession {
  sessionId: string;
  sequence: number;
  resumeUrl: string;
  /** The bot user of the session's READY. */
  botUser?: Record<string, unknown>;
}

/** What the strategy reports and needs. */
export interface SessionHooks {
  /** The shard's stored session, resumed on the first connect (undefined: identify). */
  seed?: SeedSession;
  /** The application id, for the READY a resumed session is primed with. */
  applicationId: string;
  /** A new session began (READY), or the session ended for good (null): Discord will not resume it any more. */
  sessionChanged(shardId: number, session: { sessionId: string; resumeUrl: string; botUser?: Record<string, unknown> } | null): void;
}

/** A strategy to build, and a way to close its sockets so that the session stays resumable by another process. */
export interface SessionStrategy {
  /** ClientOptions.ws.buildStrategy. */
  build(manager: WSManager): IShardingStrategy;
  /**
   * Closes every shard's socket with a resumable close code (4200), without ending the session as a normal close
   * (1000) would, so that the replica taking the shard over can resume it. A no-op before the client connected.
   */
  handOver(reason: string): Promise<void>;
}

/** Returns the sharding strategy of a client running a shard whose session another replica may resume. */
export function sessionStrategy(hooks: SessionHooks): SessionStrategy {
  let built: SimpleShardingStrategy | undefined;
  let handingOver = false;
  const build = (manager: WSManager): IShardingStrategy => {
    let seed = hooks.seed;
    let primed = false;
    const options = manager.options;
    // The manager's typed emit takes its event map; the strategy forwards whatever its shards emit, untyped.
    const emit = (event: string, payload: unknown): boolean => (manager.emit as (e: string, p: unknown) => boolean).call(manager, event, payload);
    // The inner strategy sees the manager through this view: the same manager, with the session hooks below and an
    // emit that primes discord.js before the first event of a resumed session.
    const view: WSManager = Object.create(manager, {
      options: {
        value: {
          ...options,
          async retrieveSessionInfo(shardId: number): Promise<SessionInfo | null> {
            const own = await options.retrieveSessionInfo(shardId);
            if (own) return own;
            if (!seed) return null;
            return { sessionId: seed.sessionId, sequence: seed.sequence, resumeURL: seed.resumeUrl, shardId, shardCount: options.shardCount ?? 1 };
          },
          async updateSessionInfo(shardId: number, info: SessionInfo | null): Promise<void> {
            await options.updateSessionInfo(shardId, info);
            if (info === null) {
              // A handover closes with 4200 and keeps the session; anything else ending it means no one can resume it.
              if (handingOver) return;
              seed = undefined;
              hooks.sessionChanged(shardId, null);
              return;
            }
            seed = undefined;
          },
        },
      },
      emit: {
        value(event: string, payload: { shardId: number; data?: any }) {
          if (event === 'dispatch' && payload.data?.op === 0) {
            const t = payload.data.t;
            if (t === 'READY') {
              primed = true;
              const d = payload.data.d;
              hooks.sessionChanged(payload.shardId, { sessionId: d.session_id, resumeUrl: d.resume_gateway_url, ...(d.user ? { botUser: d.user } : {}) });
            } else if (!primed) {
              primed = true;
              prime(payload.shardId);
            }
          }
          return emit(event, payload);
        },
      },
    });

    // A resumed session gets no READY, but discord.js sets up its client (user, application) and starts handing out
    // events (it queues every other event until then) on READY only: give it the READY of the stored session, with
    // no guilds to wait for (a resume sends no GUILD_CREATE; interactions carry what they need).
    function prime(shardId: number): void {
      const d = {
        v: 10,
        user: hooks.seed?.botUser ?? { id: hooks.applicationId, username: 'bot', discriminator: '0', global_name: null, avatar: null, bot: true },
        guilds: [],
        session_id: hooks.seed?.sessionId,
        resume_gateway_url: hooks.seed?.resumeUrl,
        shard: [shardId, options.shardCount ?? 1],
        application: { id: hooks.applicationId, flags: 0 },
      };
      emit('ready', { data: d, shardId });
      emit('dispatch', { data: { op: 0, t: 'READY', s: null, d }, shardId });
    }

    built = new SimpleShardingStrategy(view);
    return built;
  };
  return {
    build,
    async handOver(reason) {
      handingOver = true;
      await built?.destroy({ code: 4200, reason });
    },
  };
}
