/**
 * The feed model moved to src/core/feed-model.ts, where the store can import it without depending on the feed
 * watcher; this module re-exports it so feed code keeps one short import path.
 */
export * from '../core/feed-model.js';
