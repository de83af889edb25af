import Database from 'better-sqlite3';

/**
 * Reads the embedded store's raw log (events.db) read-only, in pages (see log-page.ts),
 * without taking the writer lock (the verifier runs beside a live service). Each worker
 * thread of the verifier opens its own.
 *
 * SQLite builds each page as one BLOB (group_concat over the page's rows), so a page costs a
 * few JS values instead of four per row — reading rows one by one costs more than hashing
 * them. Only the bytes the verifier trusts are read: position, record, prev_hash, hash.
 *
 * A page is first read in its compact form: hash | prev_hash | record per event, the record
 * lengths as one list, and a count of rows and of rows whose hashes have 32 bytes. When every
 * position of the page is present and every hash has 32 bytes, positions and hash lengths
 * follow from that. Otherwise (a gap, a damaged row — only where the log is broken) the page
 * is read again with a header per event stating its position and every length, a NULL or a
 * value of another type read as its bytes, so the damage is reported at its event.
 * Row order follows the ordered subquery; the verifier checks every event against its slot,
 * so an order SQLite did not keep would show as a break, never hide one.
 */
export class SqliteLogPages {
  readonly #db: Database.Database;
  readonly #compact: Database.Statement<[number, number], [Buffer | null, string | null, number, number | null]>;
  readonly #headed: Database.Statement<[number, number], Buffer | null>;
  readonly #pageEvents: number;

  constructor(file: string, pageEvents: number) {
    this.#db = new Database(file, { readonly: true, fileMustExist: true });
    this.#pageEvents = pageEvents;
    this.#compact = this.#db
      .prepare<[number, number], [Buffer | null, string | null, number, number | null]>(
        `SELECT CAST(group_concat(h || p || r, '') AS BLOB), group_concat(octet_length(r)), count(*), sum(octet_length(h) = 32 AND octet_length(p) = 32)
           FROM (SELECT hash AS h, prev_hash AS p, CAST(record AS BLOB) AS r FROM events WHERE position >= ? AND position < ? ORDER BY position)`,
      )
      .raw();
    this.#headed = this.#db
      .prepare<[number, number], Buffer | null>(
        `SELECT CAST(group_concat(unhex(printf('%016x%08x%08x%08x', position, length(r), length(h), length(p))) || h || p || r, '') AS BLOB)
           FROM (SELECT position,
                        ifnull(CAST(record AS BLOB), X'') AS r,
                        ifnull(CAST(hash AS BLOB), X'') AS h,
                        ifnull(CAST(prev_hash AS BLOB), X'') AS p
                   FROM events WHERE position >= ? AND position < ? ORDER BY position)`,
      )
      .pluck();
  }

  /**
   * The stored events of positions [first, first + expected) (expected ≤ pageEvents): compact
   * (`recordLengths` set) when all of them are there with 32-byte hashes, else with headers.
   */
  page(first: number, expected: number): { bytes: Buffer; recordLengths: Uint32Array | null } {
    const [bytes, lengths, rows, sound] = this.#compact.get(first, first + this.#pageEvents)!;
    if (bytes && lengths !== null && rows === expected && sound === expected) {
      const recordLengths = parseLengths(lengths, expected);
      if (recordLengths && compactSize(recordLengths) === bytes.length) return { bytes, recordLengths };
    }
    return { bytes: this.#headed.get(first, first + this.#pageEvents) ?? Buffer.alloc(0), recordLengths: null };
  }
  /** Lowest and highest stored positions; null for an empty log. */
  bounds(): { min: number; max: number } | null {
    // Two queries: SQLite answers a lone min() or max() from the index end, not both at once.
    const min = this.#db.prepare('SELECT min(position) FROM events').pluck().get() as number | null;
    const max = this.#db.prepare('SELECT max(position) FROM events').pluck().get() as number | null;
    return min === null || max === null ? null : { min, max };
  }

  /** The first stored position at or after `position`, or null. */
  nextStoredFrom(position: number): number | null {
    return (this.#db.prepare('SELECT min(position) FROM events WHERE position >= ?').pluck().get(position) as number | null) ?? null;
  }

  /** The stored record at `position` (empty when there is none). */
  recordAt(position: number): Uint8Array {
    return (this.#db.prepare('SELECT CAST(record AS BLOB) FROM events WHERE position = ?').pluck().get(position) as Buffer | null) ?? new Uint8Array(0);
  }

  /** A capacity hint for the head table: the store's count of streams (its own data; it only sizes memory). */
  streamsHint(): number {
    try {
      const max = this.#db.prepare('SELECT max(stream_key) FROM streams').pluck().get();
      return typeof max === 'number' && Number.isSafeInteger(max) && max > 0 ? Math.min(max, 1 << 24) : 1024;
    } catch {
      return 1024;
    }
  }

  close(): void {
    this.#db.close();
  }
}

/** `count` comma-separated decimal lengths, or null when the list is not exactly that. */
function parseLengths(text: string, count: number): Uint32Array | null {
  const lengths = new Uint32Array(count);
  let index = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2c;
    if (c === 0x2c) {
      if (digits === 0 || index === count) return null;
      lengths[index++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 10) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else return null;
  }
  return index === count ? lengths : null;
}

function compactSize(recordLengths: Uint32Array): number {
  let size = 0;
  for (const length of recordLengths) size += 64 + length;
  return size;
}
