import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { subscribeByPolling } from '../event-store/catch-up-subscription.js';
import type {
  AppendedReceipt,
  EventStore,
  ReadAllOptions,
  StoredEvent,
  StreamHead,
  SubscribeOptions,
  Subscription,
} from '../event-store/event-store.port.js';

type Row = [position: number, record: string, prevHash: string, hash: string, digest: string];

/**
 * The embedded log as the follower thread reads it: its own read-only connection to events.db
 * (WAL: it sees every committed transaction, takes no writer lock, never writes). Appends are
 * signalled by the writing thread (`notifyAppended`). Only what followers use is served; the
 * rest of the port belongs to the writer.
 */
export class ReadOnlyLog implements EventStore {
  private readonly db: Db;
  private readonly page: Statement;
  private readonly head: Statement;
  private readonly listeners = new Set<() => void>();

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.page = this.db
      .prepare('SELECT position, record, lower(hex(prev_hash)), lower(hex(hash)), lower(hex(digest)) FROM events WHERE position >= ? ORDER BY position LIMIT ?')
      .raw();
    this.head = this.db.prepare('SELECT MAX(position) FROM events').pluck();
  }

  notifyAppended(): void {
    for (const listener of this.listeners) listener();
  }

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async readLogBatch(fromPosition: number, maxCount: number): Promise<{ events: StoredEvent[]; records: string[] }> {
    const rows = this.page.all(fromPosition, maxCount) as Row[];
    const events = new Array<StoredEvent>(rows.length);
    const records = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [position, record, prevHash, hash, digest] = rows[i]!;
      records[i] = record;
      // Decoded as the store decodes it: the parsed canonical record becomes the event.
      const event = JSON.parse(record) as { -readonly [K in keyof StoredEvent]: StoredEvent[K] };
      event.globalPosition = position;
      event.prevHash = prevHash;
      event.hash = hash;
      event.contentDigest = digest;
      events[i] = event;
    }
    return { events, records };
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return (await this.readLogBatch(options.fromPosition ?? 0, options.maxCount ?? Number.MAX_SAFE_INTEGER)).events;
  }

  async headPosition(): Promise<number> {
    return ((this.head.get() as number | null) ?? -1) + 1;
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return subscribeByPolling({ ...options, read: (from, max) => this.readAll({ fromPosition: from, maxCount: max }), onAppended: (l) => this.onAppended(l) });
  }

  append(): Promise<AppendedReceipt[]> {
    return Promise.reject(new Error('the follower thread reads the log; it never appends'));
  }

  readStream(): Promise<StoredEvent[]> {
    return Promise.reject(new Error('followers read the log in order, not by stream'));
  }

  streamHead(): Promise<StreamHead | null> {
    return Promise.reject(new Error('followers read the log in order, not by stream'));
  }

  findByEventId(): Promise<StoredEvent | null> {
    return Promise.reject(new Error('followers read the log in order, not by event id'));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
