import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { StoredEvent } from '../event-store/event-store.port.js';

/** The embedded store's schema version this reader knows (SqliteEventStore's events table). */
const LOG_SCHEMA_VERSION = 3;

type RawEventRow = [position: number, record: string, prevHash: string, hash: string, digest: string];

/**
 * Reads the embedded store's log straight from its file, read-only, for a rebuild (and its
 * worker threads): raw rows in position order, each decoded exactly as SqliteEventStore.readAll
 * decodes it (the stored canonical record parsed, position, hashes and digest from their
 * columns). It takes no lock and never writes, so it runs beside the store that owns the file.
 */
export class SqliteLogReader {
  private readonly db: Db;
  private readonly page: Statement;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version !== LOG_SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`log file ${file} has schema version ${version}; this reader knows version ${LOG_SCHEMA_VERSION}`);
    }
    this.page = this.db
      .prepare(
        'SELECT position, record, lower(hex(prev_hash)), lower(hex(hash)), lower(hex(digest)) FROM events WHERE position >= ? ORDER BY position LIMIT ?',
      )
      .raw();
  }

  /** One past the last committed position visible to this connection now. */
  end(): number {
    return ((this.db.prepare('SELECT MAX(position) FROM events').pluck().get() as number | null) ?? -1) + 1;
  }

  /**
   * Exactly the events [from, from + count): throws if the log holds fewer (a caller only asks
   * below end(), and nothing stored is ever deleted).
   */
  read(from: number, count: number): StoredEvent[] {
    const rows = this.page.all(from, count) as RawEventRow[];
    const events = new Array<StoredEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [position, record, prevHash, hash, digest] = rows[i]!;
      if (position !== from + i) throw new Error(`event log is missing position ${from + i}`);
      // The parsed record becomes the event, as in the store's own decoding.
      const event = JSON.parse(record) as { -readonly [K in keyof StoredEvent]: StoredEvent[K] };
      event.globalPosition = position;
      event.prevHash = prevHash;
      event.hash = hash;
      event.contentDigest = digest;
      events[i] = event;
    }
    if (rows.length !== count) throw new Error(`event log is missing position ${from + rows.length}`);
    return events;
  }

  close(): void {
    this.db.close();
  }
}
