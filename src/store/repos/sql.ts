import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Db, SqlValue } from '../db.js';

/** Most rows in one multi-row statement: 256 rows of 8 columns stay far below both engines' parameter limits. */
const MAX_ROWS_PER_STATEMENT = 256;
/** Rows written between two turns of the event loop: a few milliseconds of work on either engine. */
export const ROWS_PER_TURN = 2_000;

/**
 * Returns the SQL fragment `IN (...)` over the strings of one JSON array parameter: one statement text whatever the
 * number of ids (SQLite's json_each, PostgreSQL's jsonb_array_elements_text), so it is prepared once.
 */
export function inJsonArray(db: Db): string {
  return db.kind === 'postgres' ? 'IN (SELECT jsonb_array_elements_text(?::jsonb))' : 'IN (SELECT value FROM json_each(?))';
}

/**
 * Inserts `rows` with multi-row statements (`head` VALUES (...), (...) `tail`), one round trip per statement. Row
 * counts per statement are powers of two, so at most nine statement texts exist per `head` and each is prepared once.
 * Yields to the event loop every ROWS_PER_TURN rows; inside a transaction the rows still commit together. Returns the
 * rows the statements changed (an `ON CONFLICT DO NOTHING` row that was already there counts none).
 */
export async function insertRows(db: Db, head: string, rows: readonly (readonly SqlValue[])[], tail = '', onRows?: (written: number) => void): Promise<number> {
  let done = 0;
  let changes = 0;
  let sinceTurn = 0;
  while (done < rows.length) {
    let n = MAX_ROWS_PER_STATEMENT;
    while (n > rows.length - done) n >>= 1;
    const batch = rows.slice(done, done + n);
    const tuple = `(${batch[0]!.map(() => '?').join(', ')})`;
    changes += (await db.run(`${head} VALUES ${Array(n).fill(tuple).join(', ')} ${tail}`, batch.flat())).changes;
    done += n;
    sinceTurn += n;
    onRows?.(done);
    if (sinceTurn >= ROWS_PER_TURN && done < rows.length) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  return changes;
}

/** Runs `fn` over `items` in slices of `size`, yielding to the event loop between slices. */
export async function inSlices<T>(items: readonly T[], size: number, fn: (slice: readonly T[]) => Promise<void>): Promise<void> {
  for (let at = 0; at < items.length; at += size) {
    await fn(items.slice(at, at + size));
    if (at + size < items.length) await nextTurn();
  }
}
