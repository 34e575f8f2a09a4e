import type Database from 'better-sqlite3';

/** One schema step; `version` is the `PRAGMA user_version` the database has once `sql` has run. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The ordered schema history. Append only: a released step is never edited, because databases that already ran it
 * will not run it again. Later steps (feeds, posts, subscriptions, outbox) reference `incidents.origin` by value
 * (e.g. origin "feed:<feed id>") rather than by foreign key, so a feed can be deleted and re-added without
 * cascading into incidents, and `removeOrigin` stays the one way to drop what a source contributed.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'incidents, imports log, meta',
    sql: `
      CREATE TABLE incidents (
        id         TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        origin     TEXT NOT NULL,
        -- the validated Incident as JSON without its body, so listing every record stays small
        data       TEXT NOT NULL CHECK (json_valid(data)),
        body       TEXT,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX incidents_origin ON incidents(origin);
      CREATE INDEX incidents_kind ON incidents(kind);

      CREATE TABLE imports (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        origin      TEXT NOT NULL,
        format      TEXT NOT NULL,
        count       INTEGER NOT NULL,
        imported_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX imports_origin ON imports(origin);

      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'feeds, feed items, posts, subscriptions, outbox, alert threads',
    // Times are INTEGER milliseconds since the epoch (UTC) so due-work queries compare numbers, not strings.
    sql: `
      CREATE TABLE feeds (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        url                  TEXT NOT NULL UNIQUE,
        name                 TEXT,
        interval_seconds     INTEGER,
        etag                 TEXT,
        last_modified        TEXT,
        -- sha-256 of the last body parsed: an unchanged body is skipped without parsing (a 15,000-item feed re-polled)
        body_hash            TEXT,
        next_poll_at         INTEGER,
        last_success_at      INTEGER,
        last_error           TEXT,
        last_error_at        INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        failing              INTEGER NOT NULL DEFAULT 0,
        failing_notified     INTEGER NOT NULL DEFAULT 0,
        -- 0 until the first successful poll stored the feed's items: that poll alerts nothing
        seeded               INTEGER NOT NULL DEFAULT 0,
        items_seen           INTEGER NOT NULL DEFAULT 0,
        polls                INTEGER NOT NULL DEFAULT 0,
        not_modified         INTEGER NOT NULL DEFAULT 0,
        -- an admin removed it: kept as a tombstone so the feed list file does not bring it back
        removed              INTEGER NOT NULL DEFAULT 0,
        added_by             TEXT,
        created_at           INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE posts (
        id          TEXT PRIMARY KEY,
        feed_id     INTEGER NOT NULL REFERENCES feeds(id),
        -- by value, not foreign key: the incident may be a bundled record that is not in this file
        incident_id TEXT NOT NULL,
        url         TEXT,
        -- url normalised for same-link detection (no fragment, no utm_ parameters, lower-case host)
        url_key     TEXT,
        title       TEXT NOT NULL,
        published   TEXT,
        summary     TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX posts_url_key ON posts(url_key);
      CREATE INDEX posts_incident ON posts(incident_id);
      CREATE INDEX posts_published ON posts(published);

      CREATE TABLE feed_items (
        feed_id    INTEGER NOT NULL REFERENCES feeds(id),
        item_key   TEXT NOT NULL,
        post_id    TEXT REFERENCES posts(id),
        first_seen INTEGER NOT NULL,
        PRIMARY KEY (feed_id, item_key)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE subscriptions (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        platform     TEXT NOT NULL CHECK (platform IN ('discord', 'slack')),
        channel_id   TEXT NOT NULL,
        workspace_id TEXT,
        filter       TEXT NOT NULL DEFAULT '',
        role_id      TEXT,
        created_by   TEXT,
        created_at   INTEGER NOT NULL,
        UNIQUE (platform, channel_id, filter)
      ) STRICT;

      CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        platform        TEXT NOT NULL,
        channel_id      TEXT NOT NULL,
        post_id         TEXT REFERENCES posts(id),
        incident_id     TEXT,
        kind            TEXT NOT NULL CHECK (kind IN ('alert', 'digest', 'notice')),
        status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'folded')),
        -- notice text (alerts and digests are rendered from posts at send time)
        text            TEXT,
        role_id         TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        -- travels with the message (Discord nonce: at most 25 characters) so an interrupted send can be found
        idempotency_key TEXT NOT NULL UNIQUE,
        message_id      TEXT,
        thread_of       TEXT,
        -- for folded rows: the digest row that carries them
        digest_id       INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
        error           TEXT,
        created_at      INTEGER NOT NULL,
        sent_at         INTEGER,
        UNIQUE (subscription_id, post_id),
        -- one alert per post per channel, however many of the channel's subscriptions match it
        UNIQUE (platform, channel_id, post_id)
      ) STRICT;
      CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
      CREATE INDEX outbox_channel ON outbox(platform, channel_id, status);
      CREATE INDEX outbox_digest ON outbox(digest_id);

      CREATE TABLE alert_threads (
        platform    TEXT NOT NULL,
        channel_id  TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (platform, channel_id, incident_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'tenants: feed owners, subscription tenants, private records, audit log',
    // Feeds already watched become operator feeds: no tenant can be told from a row added before tenants existed
    // (chat and CLI both wrote added_by 'admin'), and every channel already received them, so keeping them for
    // everyone widens nothing, while giving them to a guessed tenant could leak one tenant's list to another or
    // silently stop feeds that channels rely on. The operator sees them in `npm run cli -- feeds list` and can
    // remove them there. Feed-list rows become FEEDS_FILE feeds, which the next start reconciles with the file.
    sql: `
      CREATE TABLE feed_owners (
        feed_id  INTEGER NOT NULL REFERENCES feeds(id),
        -- 'operator', 'discord:<guild id>' or 'slack:<team id>'
        tenant   TEXT NOT NULL,
        -- file: listed in FEEDS_FILE (re-read at every start); cli: added by the operator; chat: added by a tenant
        source   TEXT NOT NULL CHECK (source IN ('file', 'cli', 'chat')),
        -- the tenant's own name for the feed (feeds.name is the operator's name or the feed's title)
        name     TEXT,
        added_by TEXT,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (feed_id, tenant)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX feed_owners_tenant ON feed_owners(tenant);
      INSERT INTO feed_owners (feed_id, tenant, source, name, added_by, added_at)
        SELECT id, 'operator', CASE WHEN added_by = 'feed list' THEN 'file' ELSE 'cli' END, NULL,
               CASE WHEN added_by = 'feed list' THEN 'FEEDS_FILE' ELSE 'before tenants (' || coalesce(added_by, 'unknown') || ')' END,
               created_at
        FROM feeds WHERE removed = 0;

      ALTER TABLE subscriptions ADD COLUMN tenant TEXT NOT NULL DEFAULT 'operator';
      UPDATE subscriptions SET tenant = platform || ':' || workspace_id WHERE workspace_id IS NOT NULL AND workspace_id <> '';
      CREATE INDEX subscriptions_tenant ON subscriptions(tenant);

      -- records made from a post of a feed that no operator owned at the time: shown only to that feed's owners
      CREATE TABLE private_records (
        incident_id TEXT PRIMARY KEY,
        feed_id     INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE audit_log (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        at              INTEGER NOT NULL,
        tenant          TEXT NOT NULL,
        platform        TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        action          TEXT NOT NULL CHECK (action IN ('feed-add', 'feed-rename', 'feed-remove', 'subscribe', 'unsubscribe')),
        feed_id         INTEGER,
        subscription_id INTEGER,
        channel_id      TEXT,
        -- redacted URL and name, or the filter
        detail          TEXT
      ) STRICT;
      CREATE INDEX audit_log_tenant ON audit_log(tenant, at);
    `,
  },
  {
    version: 4,
    name: 'synced sources and their records',
    // A source's records live apart from `incidents` (file imports), keyed (source, id): two sources, or a source and
    // a file, may hold the same id, and a sync replaces exactly one source's rows. Times are epoch milliseconds.
    sql: `
      CREATE TABLE sources (
        name                     TEXT PRIMARY KEY,
        format                   TEXT NOT NULL,
        url                      TEXT NOT NULL,
        references_url           TEXT,
        -- validators of the version stored, sent back as If-None-Match / If-Modified-Since
        etag                     TEXT,
        last_modified            TEXT,
        references_etag          TEXT,
        references_last_modified TEXT,
        -- sha-256 of the bodies imported: a 200 with the same bytes (no validators upstream) is skipped unparsed
        body_hash                TEXT,
        version                  TEXT,
        -- the publisher's copyright statement carried by the data (STIX marking definitions), shown with the source
        notice                   TEXT,
        record_count             INTEGER NOT NULL DEFAULT 0,
        bytes                    INTEGER,
        last_attempt_at          INTEGER,
        last_success_at          INTEGER,
        last_changed_at          INTEGER,
        last_error               TEXT,
        last_error_at            INTEGER,
        consecutive_failures     INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE source_records (
        source     TEXT NOT NULL,
        id         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        -- the validated Incident as JSON without its body, as in incidents.data
        data       TEXT NOT NULL CHECK (json_valid(data)),
        body       TEXT,
        -- sha-256 of data and body: a re-sync tells updated from unchanged without reading the old rows
        hash       TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, id)
      ) STRICT;
      CREATE INDEX source_records_id ON source_records(id);
    `,
  },
  {
    version: 5,
    name: 'feed bounds: skipped-item counters, indexes for retention pruning',
    sql: `
      -- items recorded as seen but not stored (over the per-poll limit, older than the retention, unreadable)
      ALTER TABLE feeds ADD COLUMN items_skipped INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE feeds ADD COLUMN last_skipped INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE feeds ADD COLUMN last_skip_reason TEXT;
      -- pruning a feed's oldest posts and keys, and checking a post's outbox rows, without full scans
      CREATE INDEX posts_feed_published ON posts(feed_id, published);
      CREATE INDEX feed_items_post ON feed_items(post_id);
      -- keys recorded without a post (skipped items, pruned posts), oldest first: what key pruning reads
      CREATE INDEX feed_items_unlinked ON feed_items(feed_id, first_seen) WHERE post_id IS NULL;
      CREATE INDEX outbox_post ON outbox(post_id);
    `,
  },
  {
    version: 6,
    name: 'relations (the knowledge graph)',
    // Derived from the served records at start-up and rewritten when they change (meta "relations_fingerprint").
    // Each rewrite fills a new generation in slices, then switches meta "relations_generation" to it in one step, so
    // readers never see half a graph and no single write holds the event loop. Ids by value: relations also name
    // nodes that are no record (country:RU, sector:..., post:...).
    sql: `
      CREATE TABLE relations (
        generation INTEGER NOT NULL,
        subject    TEXT NOT NULL,
        type       TEXT NOT NULL,
        object     TEXT NOT NULL,
        PRIMARY KEY (generation, subject, type, object)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX relations_object ON relations(generation, object, type);

      CREATE TABLE relation_labels (
        generation INTEGER NOT NULL,
        node       TEXT NOT NULL,
        label      TEXT NOT NULL,
        PRIMARY KEY (generation, node)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'Slack installations (OAuth distribution: one bot token per workspace)',
    // `data` is Bolt's installation object as JSON, tokens included; with SLACK_TOKEN_ENCRYPTION_KEY it is sealed
    // ('sealed:v1:' + AES-256-GCM bound to the row's key). The other columns hold no secret, so they can be listed.
    sql: `
      CREATE TABLE slack_installations (
        -- 'team:<team id>' for a workspace install, 'enterprise:<enterprise id>' for an org-wide one
        key                   TEXT PRIMARY KEY,
        team_id               TEXT,
        enterprise_id         TEXT,
        is_enterprise_install INTEGER NOT NULL CHECK (is_enterprise_install IN (0, 1)),
        team_name             TEXT,
        app_id                TEXT,
        bot_user_id           TEXT,
        installer_user_id     TEXT,
        -- bot scopes granted, comma-separated
        scopes                TEXT,
        data                  TEXT NOT NULL,
        installed_at          INTEGER NOT NULL,
        updated_at            INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX slack_installations_enterprise ON slack_installations(enterprise_id);
    `,
  },
  {
    version: 8,
    name: 'leases (replicas sharing a database take turns at feeds and syncs)',
    // One statement, so that the Db interface can run it as well (its statements are prepared one at a time).
    sql: `
      CREATE TABLE leases (
        -- what the lease guards: 'feed:<id>', 'source:<name>'...
        name        TEXT PRIMARY KEY,
        -- the replica holding it (REPLICA_ID)
        holder      TEXT NOT NULL,
        -- bumped each time another holder takes the lease, so work begun under an older fence can be refused
        fence       INTEGER NOT NULL,
        acquired_at INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
      ) STRICT
    `,
  },
  {
    version: 9,
    name: 'conversation contexts (follow-ups), kept in the store with their expiry',
    // In the store rather than in memory so that, with several replicas on one database, a follow-up answered by
    // another replica still resolves. `data` is the context as JSON; expires_at is epoch milliseconds.
    sql: `
      CREATE TABLE conversations (
        key        TEXT PRIMARY KEY,
        data       TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX conversations_expiry ON conversations(expires_at);
    `,
  },
  {
    version: 10,
    name: 'outbox claim time and recovery checks (an interrupted send is looked for from its claim, a bounded number of times)',
    sql: `
      ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;
      ALTER TABLE outbox ADD COLUMN recovery_checks INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 11,
    name: 'outbox claim token (a send marks sent only the claim it made, not one another replica made since)',
    sql: `
      ALTER TABLE outbox ADD COLUMN claim_token TEXT;
    `,
  },
];

/** The schema version this code expects (the last migration's version). */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Thrown when the database was written by a newer version of the bot than this one. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/** Returns the versions applied now (empty when the database was already current); throws if the file is newer. */
export function applyMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const readVersion = (): number => db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const tooNew = (current: number): SchemaTooNewError =>
    new SchemaTooNewError(
      `database schema version ${current} is newer than this program supports (${latest}); upgrade the bot or use another DATABASE_PATH`,
    );
  if (readVersion() > latest) throw tooNew(readVersion());
  const applied: number[] = [];
  for (const step of migrations) {
    // IMMEDIATE takes the write lock before reading user_version, so two processes starting together cannot both
    // run the same step; user_version lives in the file header and rolls back with the transaction.
    const ran = db
      .transaction((): boolean => {
        const current = readVersion();
        if (current > latest) throw tooNew(current);
        if (current >= step.version) return false;
        if (current !== step.version - 1) {
          throw new Error(`migration ${step.version} expects schema version ${step.version - 1}, found ${current}`);
        }
        db.exec(step.sql);
        db.pragma(`user_version = ${Math.trunc(step.version)}`);
        return true;
      })
      .immediate();
    if (ran) applied.push(step.version);
  }
  return applied;
}
