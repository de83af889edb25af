import type { Database as Db } from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-store.port.js';
import type { Projection } from '../../projections/projection.js';
import { runEncodedRows, type EncodedRows } from './row-change-codec.js';
import type { ShapeStatement } from './row-writer.js';
import { RowWriter } from './row-writer.js';

/**
 * One page of the log for a bulk load, events [first, next): either the events themselves
 * (folded here) or their row changes already folded and encoded by a worker thread.
 */
export type LoadPage =
  | { readonly first: number; readonly next: number; readonly events: readonly StoredEvent[] }
  | { readonly first: number; readonly next: number; readonly rows: EncodedRows };

/** Events applied per transaction of a bulk load. */
const LOAD_TRANSACTION = 65_536;

/** A plain secondary index: safe to build after the rows are in (nothing depends on it for constraints). */
const DEFERRABLE_INDEX = /^\s*CREATE\s+INDEX\s/i;

/** The projections' DDL split into what must exist before rows go in, and plain indexes that can wait. */
export function splitSchema(projections: readonly Projection[]): { tables: string[]; indexes: string[] } {
  const tables: string[] = [];
  const indexes: string[] = [];
  for (const p of projections) for (const ddl of p.schema) (DEFERRABLE_INDEX.test(ddl) ? indexes : tables).push(ddl);
  return { tables, indexes };
}

/**
 * Fills empty read-model tables on `db` from pages of the log that start at 0 and follow each
 * other, in transactions of LOAD_TRANSACTION events; every projection's checkpoint is saved
 * with each transaction. Returns the position after the last page. The caller builds the
 * deferred indexes afterwards.
 */
export async function loadReadModels(
  db: Db,
  projections: readonly Projection[],
  pages: AsyncIterable<LoadPage>,
  saveCheckpoint: (projection: Projection, position: number) => void,
): Promise<number> {
  const writer = new RowWriter(db);
  /** Statements for encoded pages, by encoder and then by that encoder's shape id. */
  const encoded: ShapeStatement[][] = [];
  let position = 0;
  let inTransaction = 0;
  try {
    for await (const page of pages) {
      if (page.first !== position) throw new Error(`rebuild pages out of order: expected ${position}, got ${page.first}`);
      if (inTransaction === 0) db.exec('BEGIN');
      if ('events' in page) {
        for (const p of projections) for (const event of page.events) for (const change of p.fold(event)) writer.write(change);
      } else {
        const statements = (encoded[page.rows.encoder] ??= []);
        for (const shape of page.rows.shapes) statements[shape.id] = writer.prepare(shape);
        runEncodedRows(page.rows, statements);
      }
      position = page.next;
      inTransaction += page.next - page.first;
      if (inTransaction >= LOAD_TRANSACTION) {
        for (const p of projections) saveCheckpoint(p, position);
        db.exec('COMMIT');
        inTransaction = 0;
      }
    }
    if (inTransaction > 0) {
      for (const p of projections) saveCheckpoint(p, position);
      db.exec('COMMIT');
    }
  } catch (error) {
    // Into a file without a journal the rollback is best effort: the caller discards that file.
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
  return position;
}
