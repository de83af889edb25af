import type { RowChange, SqlValue } from '../../projections/projection.js';
import { RowShapes, type RowShape } from './row-shapes.js';
import type { ShapeStatement } from './row-writer.js';

/**
 * A compact form of a page of row changes, so a rebuild worker can hand what it folded to the
 * writing thread cheaply: a structured clone of the rows themselves costs the receiver about as
 * much as the JSON.parse it was spared. Here the receiver gets three typed arrays (transferred,
 * not copied) and one string holding every string value end to end, and takes each value back
 * as a substring of it (which V8 makes without copying).
 */
const NULL = 0;
const NUMBER = 1;
const TEXT = 2;
/** A bigint, written in decimal into `text`. */
const BIGINT = 3;

export interface EncodedRows {
  /** Which encoder wrote the page: shape ids are numbered per encoder. */
  readonly encoder: number;
  /** Shapes first used in this page (ids continue from the encoder's earlier pages). */
  readonly shapes: readonly RowShape[];
  readonly changes: number;
  /** The shape of each change. */
  readonly shapeIds: Uint16Array;
  /** The kind of each value, change by change, column by column (shape order). */
  readonly tags: Uint8Array;
  /** Each value that is a number; for a string or bigint, where its text ends in `text`. */
  readonly numbers: Float64Array;
  /** Every string (and bigint) value, concatenated in order. */
  readonly text: string;
}

/** Accumulates row changes into one page (see EncodedRows). */
export class RowChangeEncoder {
  private readonly shapes = new RowShapes();
  private sent = 0;
  private changes = 0;
  private values = 0;
  private textLength = 0;
  private shapeIds: Uint16Array;
  private tags: Uint8Array;
  private numbers: Float64Array;
  private readonly parts: string[] = [];

  constructor(private readonly id: number) {
    this.shapeIds = new Uint16Array(1024);
    this.tags = new Uint8Array(16_384);
    this.numbers = new Float64Array(16_384);
  }

  add(change: RowChange): void {
    const shape = this.shapes.shapeOf(change);
    if (shape.id > 0xffff) throw new Error('more than 65,536 row shapes in one rebuild');
    if (this.changes === this.shapeIds.length) this.shapeIds = grown(this.shapeIds, new Uint16Array(this.shapeIds.length * 2));
    this.shapeIds[this.changes++] = shape.id;
    const columns = shape.columns;
    if (this.values + columns.length > this.tags.length) {
      const size = Math.max(this.tags.length * 2, this.values + columns.length);
      this.tags = grown(this.tags, new Uint8Array(size));
      this.numbers = grown(this.numbers, new Float64Array(size));
    }
    const row = change.row;
    for (let i = 0; i < columns.length; i++) this.value(row[columns[i]!] ?? null);
  }

  private value(value: SqlValue): void {
    const v = this.values++;
    if (value === null) {
      this.tags[v] = NULL;
    } else if (typeof value === 'number') {
      this.tags[v] = NUMBER;
      this.numbers[v] = value;
    } else {
      const text = typeof value === 'string' ? value : value.toString();
      this.tags[v] = typeof value === 'string' ? TEXT : BIGINT;
      this.parts.push(text);
      this.textLength += text.length;
      this.numbers[v] = this.textLength;
    }
  }

  /** The page so far; its arrays may be transferred. The encoder starts a new page. */
  finish(): EncodedRows {
    const page: EncodedRows = {
      encoder: this.id,
      shapes: this.shapes.since(this.sent),
      changes: this.changes,
      shapeIds: this.shapeIds.subarray(0, this.changes),
      tags: this.tags.subarray(0, this.values),
      numbers: this.numbers.subarray(0, this.values),
      text: this.parts.join(''),
    };
    this.sent = this.shapes.size;
    // The next page is sized like this one (pages are alike), so it rarely grows.
    this.shapeIds = new Uint16Array(Math.max(1024, this.changes + (this.changes >> 3)));
    this.tags = new Uint8Array(Math.max(16_384, this.values + (this.values >> 3)));
    this.numbers = new Float64Array(this.tags.length);
    this.changes = 0;
    this.values = 0;
    this.textLength = 0;
    this.parts.length = 0;
    return page;
  }
}

/** The buffers a page's arrays live in, to transfer it rather than copy it. */
export function transferablesOf(page: EncodedRows): ArrayBuffer[] {
  return [page.shapeIds.buffer, page.tags.buffer, page.numbers.buffer] as ArrayBuffer[];
}

function grown<T extends Uint8Array | Uint16Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * Runs every change of an encoded page, in order, through the statements of its encoder's
 * shapes (`statements[shape.id]`, which the caller fills from each page's new shapes).
 */
export function runEncodedRows(page: EncodedRows, statements: readonly ShapeStatement[]): void {
  const { shapeIds, tags, numbers, text } = page;
  let v = 0;
  let at = 0;
  for (let n = 0; n < page.changes; n++) {
    const prepared = statements[shapeIds[n]!];
    if (!prepared) throw new Error(`encoded rows name unknown shape ${shapeIds[n]}`);
    const args = prepared.args;
    for (let i = 0; i < args.length; i++, v++) {
      const tag = tags[v];
      if (tag === NULL) args[i] = null;
      else if (tag === NUMBER) args[i] = numbers[v]!;
      else if (tag === TEXT || tag === BIGINT) {
        const end = numbers[v]!;
        args[i] = tag === TEXT ? text.substring(at, end) : BigInt(text.substring(at, end));
        at = end;
      } else throw new Error(`encoded rows hold an unknown value tag ${tag}`);
    }
    prepared.statement.run(args);
  }
  if (v !== tags.length || at !== text.length) throw new Error('encoded rows end before their values do');
}
