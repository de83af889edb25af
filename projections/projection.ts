import type { StoredEvent } from '../src/event-store/event-store.port.js';

/**
 * A read model: its schema and a pure fold from one stored event to row changes.
 * The runner (src/ledger/projections/projection-runner.ts) applies the changes and the
 * checkpoint in one transaction, so a projection is idempotent by global position and can
 * always be rebuilt from the log.
 */
export type SqlValue = string | number | bigint | null;

export type RowChange =
  | { readonly kind: 'insert'; readonly table: string; readonly row: Readonly<Record<string, SqlValue>> }
  /** Insert, or replace the row with the same primary key. */
  | { readonly kind: 'upsert'; readonly table: string; readonly row: Readonly<Record<string, SqlValue>> };

export interface Projection {
  readonly name: string;
  /** Bump when the schema or the fold changes: the runner then rebuilds this read model from zero. */
  readonly version: number;
  /** CREATE TABLE / CREATE INDEX statements (IF NOT EXISTS). */
  readonly schema: readonly string[];
  /** Tables owned by this projection (dropped on rebuild). */
  readonly tables: readonly string[];
  fold(event: StoredEvent): readonly RowChange[];
}
