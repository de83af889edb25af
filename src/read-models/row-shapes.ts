import type { RowChange } from '../../projections/projection.js';

/**
 * What a row change writes: its kind, its table and its column names in the fold's key order.
 * Every change of one shape runs the same prepared statement.
 */
export interface RowShape {
  readonly id: number;
  readonly kind: RowChange['kind'];
  readonly table: string;
  readonly columns: readonly string[];
}

/**
 * The row shapes seen so far, numbered in order of first sight. A change is matched to its
 * shape by walking its row's keys against the known column lists, so the common case (a shape
 * already seen) allocates nothing.
 */
export class RowShapes {
  private readonly shapes: RowShape[] = [];
  private readonly byTable = new Map<string, RowShape[]>();

  /** The shape of `change`, registered on first sight. */
  shapeOf(change: RowChange): RowShape {
    let candidates = this.byTable.get(change.table);
    if (candidates) {
      for (const shape of candidates) if (shape.kind === change.kind && hasColumns(change.row, shape.columns)) return shape;
    } else {
      candidates = [];
      this.byTable.set(change.table, candidates);
    }
    const shape: RowShape = { id: this.shapes.length, kind: change.kind, table: change.table, columns: Object.keys(change.row) };
    this.shapes.push(shape);
    candidates.push(shape);
    return shape;
  }

  /** Shapes with an id >= `from`, in id order. */
  since(from: number): readonly RowShape[] {
    return this.shapes.slice(from);
  }

  get size(): number {
    return this.shapes.length;
  }
}

/** Whether the row's own keys are exactly `columns`, in that order. */
function hasColumns(row: RowChange['row'], columns: readonly string[]): boolean {
  let i = 0;
  for (const key in row) {
    if (columns[i] !== key) return false;
    i++;
  }
  return i === columns.length;
}
