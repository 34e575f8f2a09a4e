import type { ConversationStore } from '../../core/conversation.js';
import type { Db } from '../db.js';
import type { SlackInstallationRepo } from '../slack-installations.js';
import { storeDb, type Store } from '../store.js';
import { createDbConversationStore } from './conversations.js';
import { createInstallationRepo, type InstallationRepoOptions } from './installations.js';
import { createRecordRepo, type RecordRepo, type RecordRepoOptions } from './records.js';
import { createRelationRepo, type RelationRepo } from './relations.js';
import { createSourceRepo, type SourceRepo } from './sources.js';

/** The records side of the store: imported records, synced sources, relations, Slack installations, conversations. */
export interface RecordRepos {
  records: RecordRepo;
  sources: SourceRepo;
  relations: RelationRepo;
  installations: SlackInstallationRepo;
  conversations: ConversationStore;
}

/** Options for openRecordRepos. */
export interface RecordReposOptions {
  /** Clock in epoch milliseconds for every repository (tests pin it). */
  now?: () => number;
  /** Seals the Slack installations' tokens (SLACK_TOKEN_ENCRYPTION_KEY). */
  sealer?: InstallationRepoOptions['sealer'];
  /** Names the database in messages about a stored record that fails validation. */
  label?: RecordRepoOptions['label'];
}

/** Returns the records-side repositories over one migrated database (SQLite or PostgreSQL). */
export function openRecordRepos(db: Db, options: RecordReposOptions = {}): RecordRepos {
  const now = options.now;
  return {
    records: createRecordRepo(db, { ...(now ? { now: () => new Date(now()) } : {}), ...(options.label ? { label: options.label } : {}) }),
    sources: createSourceRepo(db, now),
    relations: createRelationRepo(db),
    installations: createInstallationRepo(db, { ...(now ? { now } : {}), ...(options.sealer ? { sealer: options.sealer } : {}) }),
    conversations: createDbConversationStore(db, now ? { now } : {}),
  };
}

const ofStores = new WeakMap<Store, RecordRepos>();

/** Returns the record repositories over a SQLite store's own connection (see storeDb), made once per store. */
export function recordReposOf(store: Store): RecordRepos {
  let repos = ofStores.get(store);
  if (!repos) {
    repos = openRecordRepos(storeDb(store), { label: store.path });
    ofStores.set(store, repos);
  }
  return repos;
}
