import type { Database as Db, Statement } from 'better-sqlite3';
import type { RowChange, SqlValue } from '../../projections/projection.js';
import { RowShapes, type RowShape } from './row-shapes.js';

/** A shape's prepared statement and the one argument array it is bound from. */
export interface ShapeStatement {
  readonly statement: Statement;
  /** Reused for every run of the statement: filled, run, overwritten by the next row. */
  readonly args: SqlValue[];
}

/**
 * Writes projections' row changes to one read-model connection. Statements are prepared once
 * per row shape; a change already seen costs a shape lookup, the argument copy and the run.
 */
export class RowWriter {
  private readonly shapes = new RowShapes();
  /** Indexed by RowShape.id of `shapes`. */
  private readonly prepared: ShapeStatement[] = [];

  constructor(private readonly db: Db) {}

  write(change: RowChange): void {
    const shape = this.shapes.shapeOf(change);
    const { statement, args } = this.prepared[shape.id] ?? (this.prepared[shape.id] = this.prepare(shape));
    const row = change.row;
    const columns = shape.columns;
    for (let i = 0; i < columns.length; i++) args[i] = row[columns[i]!] ?? null;
    statement.run(args);
  }

  /** A statement for a shape numbered elsewhere (a rebuild worker's); not cached here. */
  prepare(shape: Omit<RowShape, 'id'>): ShapeStatement {
    const verb = shape.kind === 'upsert' ? 'INSERT OR REPLACE' : 'INSERT';
    const sql = `${verb} INTO ${shape.table} (${shape.columns.join(', ')}) VALUES (${shape.columns.map(() => '?').join(', ')})`;
    return { statement: this.db.prepare(sql), args: new Array<SqlValue>(shape.columns.length).fill(null) };
  }
}
