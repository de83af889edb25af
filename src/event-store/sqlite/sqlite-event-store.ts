import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { canonicalRecordBytes, chainHash } from '../../integrity/chain.js';
import {
  EventIdConflictError,
  GENESIS_HASH,
  WrongExpectedRevisionError,
  type AppendedReceipt,
  type AppendRequest,
  type ChainedRecord,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamHead,
  type SubscribeOptions,
  type Subscription,
} from '../event-store.port.js';
import { subscribeByPolling } from '../catch-up-subscription.js';
import { eventIdToBytes } from './uuid-bytes.js';
import type { RawLogEntry } from '../../integrity/ledger-verifier.js';

export interface SqliteEventStoreOptions {
  /** Path of the log file; ':memory:' for throw-away stores. */
  readonly file: string;
  /**
   * 'full': an acknowledged append survives power loss (fsync per commit).
   * 'normal': it survives a crash of the process (kill -9), not of the machine.
   */
  readonly synchronous?: 'full' | 'normal';
  /** Cache of stream heads kept in memory (LRU). */
  readonly streamHeadCacheSize?: number;
  /** Clock for `recordedAt`; injected so tests control it. */
  readonly now?: () => Date;
}

interface StreamState {
  key: number;
  revision: number;
  hash: string;
}

interface PendingAppend {
  readonly requests: readonly AppendRequest[];
  readonly resolve: (receipts: AppendedReceipt[]) => void;
  readonly reject: (error: unknown) => void;
}

interface EventRow {
  position: number;
  record: string;
  prev_hash: Buffer;
  hash: Buffer;
  digest: Buffer;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  stream_key INTEGER PRIMARY KEY,
  stream_id  TEXT NOT NULL UNIQUE,
  revision   INTEGER NOT NULL,
  head_hash  BLOB NOT NULL
);
-- position is the 0-based global position: the rowid, so appends are sequential b-tree inserts.
CREATE TABLE IF NOT EXISTS events (
  position   INTEGER PRIMARY KEY,
  stream_key INTEGER NOT NULL,
  revision   INTEGER NOT NULL,
  event_id   BLOB NOT NULL,
  record     TEXT NOT NULL,
  prev_hash  BLOB NOT NULL,
  hash       BLOB NOT NULL,
  digest     BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_event_id ON events(event_id);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events(stream_key, revision);
`;

class DuplicateEventIdSignal extends Error {}

/**
 * Embedded EventStore on one SQLite file (WAL).
 *
 * Appends are group-committed: every append() called in the same turn of the event loop
 * joins one transaction, each request inside its own savepoint, so one request's conflict
 * never fails its neighbours and a request is still all-or-nothing. The promise of an
 * append resolves only after COMMIT returned, so an acknowledged append is durable to the
 * level `synchronous` states.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Db;
  private readonly now: () => Date;
  private readonly heads = new Map<string, StreamState>();
  private readonly headCacheSize: number;
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private nextPosition: number;
  private nextStreamKey: number;
  private closed = false;
  private readonly lockFile: string | null = null;

  private readonly stmt: {
    insertEvent: Statement;
    insertStream: Statement;
    updateStream: Statement;
    streamByName: Statement;
    eventById: Statement;
    readAll: Statement;
    readForward: Statement;
    readBackward: Statement;
  };

  constructor(private readonly options: SqliteEventStoreOptions) {
    if (options.file !== ':memory:') {
      mkdirSync(dirname(options.file), { recursive: true });
      this.lockFile = acquireWriterLock(`${options.file}.lock`);
    }
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('cache_size = -65536');
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.exec(SCHEMA);
    this.now = options.now ?? (() => new Date());
    this.headCacheSize = options.streamHeadCacheSize ?? 100_000;

    this.stmt = {
      insertEvent: this.db.prepare(
        'INSERT INTO events (position, stream_key, revision, event_id, record, prev_hash, hash, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertStream: this.db.prepare('INSERT INTO streams (stream_key, stream_id, revision, head_hash) VALUES (?, ?, ?, ?)'),
      updateStream: this.db.prepare('UPDATE streams SET revision = ?, head_hash = ? WHERE stream_key = ?'),
      streamByName: this.db.prepare('SELECT stream_key AS key, revision, head_hash FROM streams WHERE stream_id = ?'),
      eventById: this.db.prepare('SELECT position, record, prev_hash, hash, digest FROM events WHERE event_id = ?'),
      readAll: this.db.prepare(
        'SELECT position, record, prev_hash, hash, digest FROM events WHERE position >= ? ORDER BY position LIMIT ?',
      ),
      readForward: this.db.prepare(
        'SELECT position, record, prev_hash, hash, digest FROM events WHERE stream_key = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      readBackward: this.db.prepare(
        'SELECT position, record, prev_hash, hash, digest FROM events WHERE stream_key = ? AND revision <= ? ORDER BY revision DESC LIMIT ?',
      ),
    };
    const maxPosition = this.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number | null };
    this.nextPosition = (maxPosition.p ?? -1) + 1;
    const maxKey = this.db.prepare('SELECT MAX(stream_key) AS k FROM streams').get() as { k: number | null };
    this.nextStreamKey = (maxKey.k ?? 0) + 1;
    this.appended.setMaxListeners(0);
  }

  append(requests: readonly AppendRequest[]): Promise<AppendedReceipt[]> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ requests, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes every queued append in one transaction; settles each promise after COMMIT. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;

    const pendingHeads = new Map<string, StreamState>();
    const startPosition = this.nextPosition;
    const startStreamKey = this.nextStreamKey;
    const outcomes: Array<{ ok: true; receipts: AppendedReceipt[] } | { ok: false; error: unknown }> = [];

    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const pending of batch) {
        const requestHeads = new Map<string, StreamState>();
        const positionBefore = this.nextPosition;
        const keyBefore = this.nextStreamKey;
        this.db.exec('SAVEPOINT append_request');
        try {
          const receipts = this.appendRequests(pending.requests, pendingHeads, requestHeads);
          this.db.exec('RELEASE append_request');
          for (const [id, head] of requestHeads) pendingHeads.set(id, head);
          outcomes.push({ ok: true, receipts });
        } catch (error) {
          this.db.exec('ROLLBACK TO append_request');
          this.db.exec('RELEASE append_request');
          this.nextPosition = positionBefore;
          this.nextStreamKey = keyBefore;
          outcomes.push({ ok: false, error });
        }
      }
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.nextPosition = startPosition;
      this.nextStreamKey = startStreamKey;
      for (const pending of batch) pending.reject(error);
      return;
    }

    for (const [id, head] of pendingHeads) this.rememberHead(id, head);
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) pending.resolve(outcome.receipts);
      else pending.reject(outcome?.error);
    });
    if (this.nextPosition > startPosition) this.appended.emit('appended', this.nextPosition);
  }

  /** One caller's append: all requests or none (the caller's savepoint undoes a throw). */
  private appendRequests(
    requests: readonly AppendRequest[],
    flushHeads: Map<string, StreamState>,
    requestHeads: Map<string, StreamState>,
  ): AppendedReceipt[] {
    const seen = new Set<string>();
    for (const r of requests) {
      for (const e of r.events) {
        if (seen.has(e.eventId)) throw new Error(`eventId ${e.eventId} appears twice in one append`);
        seen.add(e.eventId);
      }
    }
    try {
      return this.writeRequests(requests, flushHeads, requestHeads, null);
    } catch (error) {
      // A retried append repeats its original expected revision, so a revision conflict may
      // just mean "already stored": both cases take the slow path below.
      if (!(error instanceof DuplicateEventIdSignal) && !(error instanceof WrongExpectedRevisionError)) throw error;
    }
    // Slow path: undo this caller's partial writes and write again, answering ids stored
    // before with their first receipt (or a conflict when the content differs).
    this.db.exec('ROLLBACK TO append_request');
    requestHeads.clear();
    const known = new Map<string, StoredEvent>();
    for (const r of requests) {
      for (const e of r.events) {
        const existing = this.findStored(e.eventId);
        if (existing) known.set(e.eventId, existing);
      }
    }
    return this.writeRequests(requests, flushHeads, requestHeads, known);
  }

  private writeRequests(
    requests: readonly AppendRequest[],
    flushHeads: Map<string, StreamState>,
    requestHeads: Map<string, StreamState>,
    known: Map<string, StoredEvent> | null,
  ): AppendedReceipt[] {
    const receipts: AppendedReceipt[] = [];
    const positionAtStart = this.nextPosition;
    const keyAtStart = this.nextStreamKey;
    try {
      for (const request of requests) {
        const fresh: NewEvent[] = [];
        for (const event of request.events) {
          const existing = known?.get(event.eventId);
          if (!existing) {
            fresh.push(event);
            continue;
          }
          if (existing.contentDigest !== event.contentDigest || existing.streamId !== request.streamId) {
            throw new EventIdConflictError(event.eventId, receiptOf(existing));
          }
          receipts.push({ ...receiptOf(existing), duplicate: true });
        }
        if (fresh.length === 0) continue;

        const head = requestHeads.get(request.streamId) ?? flushHeads.get(request.streamId) ?? this.loadHead(request.streamId);
        checkExpected(request.streamId, request.expectedRevision, head);
        let state: StreamState = head ?? { key: this.nextStreamKey++, revision: -1, hash: GENESIS_HASH };
        const recordedAt = this.now().toISOString();
        for (const event of fresh) {
          const position = this.nextPosition++;
          const record: ChainedRecord = {
            eventId: event.eventId,
            type: event.type,
            streamId: request.streamId,
            streamRevision: state.revision + 1,
            globalPosition: position,
            occurredAt: event.occurredAt,
            recordedAt,
            subjectId: event.subjectId,
            actor: event.actor,
            data: event.data,
            ...(event.pii === undefined ? {} : { pii: event.pii }),
            metadata: event.metadata,
          };
          const bytes = canonicalRecordBytes(record);
          const hash = chainHash(state.hash, bytes);
          try {
            this.stmt.insertEvent.run(
              position,
              state.key,
              record.streamRevision,
              eventIdToBytes(event.eventId),
              bytes.toString('utf8'),
              Buffer.from(state.hash, 'hex'),
              Buffer.from(hash, 'hex'),
              Buffer.from(event.contentDigest, 'hex'),
            );
          } catch (error) {
            if (isUniqueViolation(error, 'events.event_id')) throw new DuplicateEventIdSignal();
            throw error;
          }
          receipts.push({
            eventId: event.eventId,
            streamId: request.streamId,
            streamRevision: record.streamRevision,
            globalPosition: position,
            hash,
            duplicate: false,
          });
          state = { key: state.key, revision: record.streamRevision, hash };
        }
        if (head) this.stmt.updateStream.run(state.revision, Buffer.from(state.hash, 'hex'), state.key);
        else this.stmt.insertStream.run(state.key, request.streamId, state.revision, Buffer.from(state.hash, 'hex'));
        requestHeads.set(request.streamId, state);
      }
    } catch (error) {
      this.nextPosition = positionAtStart;
      this.nextStreamKey = keyAtStart;
      throw error;
    }
    return receipts;
  }

  private loadHead(streamId: string): StreamState | null {
    const cached = this.heads.get(streamId);
    if (cached) return cached;
    const row = this.stmt.streamByName.get(streamId) as { key: number; revision: number; head_hash: Buffer } | undefined;
    if (!row) return null;
    const state = { key: row.key, revision: row.revision, hash: row.head_hash.toString('hex') };
    this.rememberHead(streamId, state);
    return state;
  }

  private rememberHead(streamId: string, state: StreamState): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, state);
    if (this.heads.size > this.headCacheSize) {
      const oldest = this.heads.keys().next();
      if (!oldest.done) this.heads.delete(oldest.value);
    }
  }

  private findStored(eventId: string): StoredEvent | null {
    let bytes: Buffer;
    try {
      bytes = eventIdToBytes(eventId);
    } catch {
      return null;
    }
    const row = this.stmt.eventById.get(bytes) as EventRow | undefined;
    return row ? toStoredEvent(row) : null;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const head = this.loadHead(streamId);
    if (!head) return [];
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    const rows =
      options.direction === 'backwards'
        ? (this.stmt.readBackward.all(head.key, options.fromRevision ?? head.revision, max) as EventRow[])
        : (this.stmt.readForward.all(head.key, options.fromRevision ?? 0, max) as EventRow[]);
    return rows.map(toStoredEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return this.readAllSync(options.fromPosition ?? 0, options.maxCount ?? Number.MAX_SAFE_INTEGER);
  }

  private readAllSync(fromPosition: number, maxCount: number): StoredEvent[] {
    return (this.stmt.readAll.all(fromPosition, maxCount) as EventRow[]).map(toStoredEvent);
  }

  /** Streams raw rows in global order without materialising the log (used by the verifier). */
  *iterateAll(fromPosition = 0): IterableIterator<StoredEvent> {
    const iterate = this.db.prepare(
      'SELECT position, record, prev_hash, hash, digest FROM events WHERE position >= ? ORDER BY position',
    );
    for (const row of iterate.iterate(fromPosition) as IterableIterator<EventRow>) yield toStoredEvent(row);
  }

  async headPosition(): Promise<number> {
    return this.nextPosition;
  }

  async streamHead(streamId: string): Promise<StreamHead | null> {
    const head = this.loadHead(streamId);
    return head ? { streamId, revision: head.revision, hash: head.hash } : null;
  }

  async findByEventId(eventId: string): Promise<StoredEvent | null> {
    return this.findStored(eventId);
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return subscribeByPolling({
      ...options,
      read: async (from, max) => this.readAllSync(from, max),
      onAppended: (listener) => {
        this.appended.on('appended', listener);
        return () => this.appended.off('appended', listener);
      },
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let a scheduled group commit finish before the file is closed.
    while (this.flushScheduled || this.queue.length > 0) await new Promise((r) => setImmediate(r));
    this.appended.emit('closed');
    this.db.close();
    if (this.lockFile) rmSync(this.lockFile, { force: true });
  }
}

/**
 * One writing process per log: the store keeps the next position and stream heads in
 * memory, so a second writer on the same file must be refused, not interleaved.
 * A lock left by a killed process (its pid is gone) is taken over.
 */
function acquireWriterLock(file: string): string {
  try {
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) {
      throw new EventStoreLockedError(file, holder);
    }
  } catch (error) {
    if (error instanceof EventStoreLockedError) throw error;
  }
  writeFileSync(file, `${process.pid}\n`);
  return file;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class EventStoreLockedError extends Error {
  override readonly name = 'EventStoreLockedError';
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(`the event log is in use by process ${pid} (lock ${lockFile}); stop the service first`);
  }
}

function checkExpected(streamId: string, expected: ExpectedRevision, head: StreamState | null): void {
  if (expected === 'any') return;
  if (expected === 'no_stream') {
    if (head) throw new WrongExpectedRevisionError(streamId, expected, head.revision);
    return;
  }
  if (expected === 'exists') {
    if (!head) throw new WrongExpectedRevisionError(streamId, expected, 'no_stream');
    return;
  }
  const actual = head ? head.revision : 'no_stream';
  if (actual !== expected) throw new WrongExpectedRevisionError(streamId, expected, actual);
}

function isUniqueViolation(error: unknown, column: string): boolean {
  return (
    error instanceof Error &&
    (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes(column)
  );
}

function toStoredEvent(row: EventRow): StoredEvent {
  const record = JSON.parse(row.record) as ChainedRecord;
  return {
    ...record,
    globalPosition: row.position,
    prevHash: row.prev_hash.toString('hex'),
    hash: row.hash.toString('hex'),
    contentDigest: row.digest.toString('hex'),
  };
}

function receiptOf(e: StoredEvent) {
  return {
    eventId: e.eventId,
    streamId: e.streamId,
    streamRevision: e.streamRevision,
    globalPosition: e.globalPosition,
    hash: e.hash,
  };
}

/**
 * Reads the raw log of an embedded store read-only, in global order, without taking the
 * writer lock (the verifier runs beside a live service).
 */
export function* readRawLog(file: string): Generator<RawLogEntry> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT position, record, prev_hash, hash FROM events ORDER BY position').iterate() as IterableIterator<{
      position: number;
      record: string;
      prev_hash: Buffer;
      hash: Buffer;
    }>;
    for (const row of rows) yield { position: row.position, record: Buffer.from(row.record, 'utf8'), prevHash: row.prev_hash, hash: row.hash };
  } finally {
    db.close();
  }
}

export function countEvents(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
