import { EventEmitter } from 'node:events';
import { hash as oneShotHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { canonicalRecordBytes } from '../../integrity/chain.js';
import {
  EventIdConflictError,
  WrongExpectedRevisionError,
  type AppendedReceipt,
  type AppendRequest,
  type ChainedRecord,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type Receipt,
  type StoredEvent,
  type StreamHead,
  type SubscribeOptions,
  type Subscription,
} from '../event-store.port.js';
import { subscribeByPolling } from '../catch-up-subscription.js';
import type { RawLogEntry } from '../../integrity/ledger-verifier.js';

export interface SqliteEventStoreOptions {
  /** Path of the log file; ':memory:' for throw-away stores. */
  readonly file: string;
  /**
   * 'full': an acknowledged append survives power loss (fsync per commit).
   * 'normal': it survives a crash of the process (kill -9), not of the machine.
   */
  readonly synchronous?: 'full' | 'normal';
  /** Stream heads kept in memory beyond the ones changed since the last store checkpoint (LRU). */
  readonly streamHeadCacheSize?: number;
  /**
   * Events between store checkpoints: the stream heads changed and the event ids added since
   * the last checkpoint are kept in memory and written in one sorted pass at the next one.
   */
  readonly checkpointEvery?: number;
  /** Clock for `recordedAt`; injected so tests control it. */
  readonly now?: () => Date;
}

/*
 * Layout (schema version 2, PRAGMA user_version).
 *
 * The hot path only appends: nothing keyed by a random value is written per event.
 * - events: one row per event keyed by its global position (the rowid), so appends are
 *   sequential b-tree inserts. `prev_pos` links each event to the previous one of its stream;
 *   stream reads follow these links (with a sparse skip list every SKIP_EVERY revisions).
 * - streams: each stream's head (revision, hash, position). Heads that changed since the last
 *   store checkpoint live in memory and are written in one sorted pass at the next checkpoint;
 *   after a crash they are recomputed from the events after `store_state.tail_start`.
 * - event_ids: idempotency. Ids since the last checkpoint are in an in-memory hash table; at a
 *   checkpoint they are written as one sorted run (a "generation", gen = its number) appended at
 *   the end of one WITHOUT ROWID b-tree. A Bloom filter over all sealed ids answers "never seen"
 *   for new ids without touching the disk; a hit is checked exactly against the stored row.
 * Random-key b-tree inserts (a random UUID index, a per-stream index, in-place head updates)
 * dirty about one page per event at scale, which is what makes naive layouts slow down as the
 * file grows; here that work is batched into sorted passes at checkpoints.
 */
const SCHEMA_VERSION = 2;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position   INTEGER PRIMARY KEY,
  stream_key INTEGER NOT NULL,
  revision   INTEGER NOT NULL,
  event_id   BLOB NOT NULL,
  record     TEXT NOT NULL,
  prev_hash  BLOB NOT NULL,
  hash       BLOB NOT NULL,
  digest     BLOB NOT NULL,
  prev_pos   INTEGER
);
CREATE TABLE IF NOT EXISTS streams (
  stream_id  TEXT PRIMARY KEY,
  stream_key INTEGER NOT NULL,
  revision   INTEGER NOT NULL,
  head_hash  BLOB NOT NULL,
  head_pos   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stream_skips (
  stream_key INTEGER NOT NULL,
  revision   INTEGER NOT NULL,
  position   INTEGER NOT NULL,
  PRIMARY KEY (stream_key, revision)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_ids (
  gen      INTEGER NOT NULL,
  k        INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (gen, k, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS id_generations (
  gen            INTEGER PRIMARY KEY,
  first_position INTEGER NOT NULL,
  end_position   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS id_filters (
  idx         INTEGER PRIMARY KEY,
  capacity    INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  covered_gen INTEGER NOT NULL,
  bits        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS store_state (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  tail_start      INTEGER NOT NULL,
  next_stream_key INTEGER NOT NULL
);
`;

/** Every SKIP_EVERY-th revision of a stream is indexed, so a read from a revision walks < SKIP_EVERY links. */
const SKIP_EVERY = 64;
const DEFAULT_CHECKPOINT_EVERY = 1 << 18;
const GENESIS = Buffer.alloc(32);

interface Head {
  readonly key: number;
  readonly revision: number;
  /** Global position of the stream's last event (-1 before the first). */
  readonly pos: number;
  readonly hash: Buffer;
}

/** An event id parsed once: its 16 bytes and the 53-bit key (hi 21 bits, lo 32 bits) derived from them. */
interface ParsedId {
  readonly bytes: Buffer;
  readonly hi: number;
  readonly lo: number;
}

interface PendingAppend {
  readonly requests: readonly AppendRequest[];
  readonly resolve: (receipts: AppendedReceipt[]) => void;
  readonly reject: (error: unknown) => void;
}

interface KnownEvent {
  readonly receipt: Receipt;
  readonly contentDigest: string;
}

/** What one group commit has written so far (visible to the requests after it in the same transaction). */
interface FlushState {
  position: number;
  streamKey: number;
  readonly heads: Map<string, Head>;
  readonly ids: Map<string, KnownEvent>;
  readonly tailAdds: Array<{ id: ParsedId; position: number }>;
}

interface PlannedRow {
  readonly position: number;
  readonly key: number;
  readonly revision: number;
  readonly prevPos: number;
  readonly id: ParsedId;
  readonly text: string;
  readonly prevHash: Buffer;
  readonly hash: Buffer;
  readonly digest: Buffer;
}

interface EventRow {
  position: number;
  record: string;
  prev_hash: Buffer;
  hash: Buffer;
  digest: Buffer;
}

interface ChainRow extends EventRow {
  prev_pos: number | null;
  event_id: Buffer;
}

/** A write failed inside a group commit: the whole transaction is rolled back. */
class StoreWriteError extends Error {
  constructor(readonly original: unknown) {
    super('event store write failed');
  }
}

/**
 * Embedded EventStore on one SQLite file (WAL).
 *
 * Appends are group-committed: every append() called in the same turn of the event loop
 * joins one transaction. Each request is checked completely (ids, expected revisions, chain)
 * before any of its rows is written, so one request's conflict never fails its neighbours and
 * a request is still all-or-nothing. The promise of an append resolves only after COMMIT
 * returned, so an acknowledged append is durable to the level `synchronous` states.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Db;
  private readonly now: () => Date;
  /** Heads changed since the last store checkpoint: not (or not yet correctly) in the streams table. */
  private dirty = new Map<string, Head>();
  /** Heads read from the streams table, most recently used last. */
  private readonly clean = new Map<string, Head>();
  private readonly cleanSize: number;
  private readonly checkpointEvery: number;
  private readonly tail = new TailIds();
  private readonly filter: IdFilter;
  private generations = 0;
  private tailStart: number;
  private checkpointsSinceFilterSaved = 0;
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private nextPosition: number;
  private nextStreamKey: number;
  private closed = false;
  private readonly lockFile: string | null = null;
  private probeGenerations: Statement | null = null;

  private readonly stmt: {
    begin: Statement;
    commit: Statement;
    rollback: Statement;
    insertEvent: Statement;
    insertSkip: Statement;
    headByName: Statement;
    upsertStream: Statement;
    insertId: Statement;
    insertGeneration: Statement;
    saveState: Statement;
    eventAt: Statement;
    linkAt: Statement;
    skipFrom: Statement;
    readAll: Statement;
  };

  constructor(private readonly options: SqliteEventStoreOptions) {
    if (options.file !== ':memory:') {
      mkdirSync(dirname(options.file), { recursive: true });
      this.lockFile = acquireWriterLock(`${options.file}.lock`);
    }
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('cache_size = -32768');
    this.db.pragma('wal_autocheckpoint = 10000');
    this.db.pragma('temp_store = MEMORY');
    this.migrate();
    this.now = options.now ?? (() => new Date());
    this.cleanSize = options.streamHeadCacheSize ?? 20_000;
    this.checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;

    this.stmt = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      insertEvent: this.db.prepare(
        'INSERT INTO events (position, stream_key, revision, event_id, record, prev_hash, hash, digest, prev_pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertSkip: this.db.prepare('INSERT OR REPLACE INTO stream_skips (stream_key, revision, position) VALUES (?, ?, ?)'),
      headByName: this.db.prepare('SELECT stream_key, revision, head_hash, head_pos FROM streams WHERE stream_id = ?'),
      upsertStream: this.db.prepare(
        'INSERT INTO streams (stream_id, stream_key, revision, head_hash, head_pos) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, head_hash = excluded.head_hash, head_pos = excluded.head_pos',
      ),
      insertId: this.db.prepare('INSERT OR IGNORE INTO event_ids (gen, k, position) VALUES (?, ?, ?)'),
      insertGeneration: this.db.prepare('INSERT INTO id_generations (gen, first_position, end_position) VALUES (?, ?, ?)'),
      saveState: this.db.prepare(
        'INSERT INTO store_state (id, tail_start, next_stream_key) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET tail_start = excluded.tail_start, next_stream_key = excluded.next_stream_key',
      ),
      eventAt: this.db.prepare('SELECT position, record, prev_hash, hash, digest, prev_pos, event_id FROM events WHERE position = ?'),
      linkAt: this.db.prepare('SELECT prev_pos FROM events WHERE position = ?'),
      skipFrom: this.db.prepare(
        'SELECT revision, position FROM stream_skips WHERE stream_key = ? AND revision >= ? ORDER BY revision LIMIT 1',
      ),
      readAll: this.db.prepare(
        'SELECT position, record, prev_hash, hash, digest FROM events WHERE position >= ? ORDER BY position LIMIT ?',
      ),
    };

    const maxPosition = this.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number | null };
    this.nextPosition = (maxPosition.p ?? -1) + 1;
    const state = this.db.prepare('SELECT tail_start, next_stream_key FROM store_state WHERE id = 1').get() as
      | { tail_start: number; next_stream_key: number }
      | undefined;
    this.tailStart = state?.tail_start ?? 0;
    this.nextStreamKey = state?.next_stream_key ?? 1;
    this.generations = (this.db.prepare('SELECT COUNT(*) AS n FROM id_generations').get() as { n: number }).n;
    this.filter = this.loadFilter();
    this.prepareProbe();
    this.replayTail();
    this.appended.setMaxListeners(0);
  }

  // ── schema ─────────────────────────────────────────────────────────────────

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version > SCHEMA_VERSION) throw new Error(`events file has schema version ${version}; this ledger knows up to ${SCHEMA_VERSION}`);
    const v1 = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'events_by_event_id'").get() !== undefined;
    this.db.transaction(() => {
      if (v1) migrateFromV1(this.db);
      else this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  /** Rebuilds the in-memory heads and ids of the events after the last store checkpoint. */
  private replayTail(): void {
    if (this.tailStart >= this.nextPosition) return;
    const rows = this.db
      .prepare('SELECT position, stream_key, revision, event_id, record, hash FROM events WHERE position >= ? ORDER BY position')
      .iterate(this.tailStart) as IterableIterator<{
      position: number;
      stream_key: number;
      revision: number;
      event_id: Buffer;
      record: string;
      hash: Buffer;
    }>;
    for (const row of rows) {
      const { streamId } = JSON.parse(row.record) as { streamId: string };
      this.dirty.set(streamId, { key: row.stream_key, revision: row.revision, pos: row.position, hash: row.hash });
      if (row.stream_key >= this.nextStreamKey) this.nextStreamKey = row.stream_key + 1;
      this.tail.add(idFromBytes(row.event_id), row.position);
    }
  }

  // ── appends ────────────────────────────────────────────────────────────────

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

    const state: FlushState = { position: this.nextPosition, streamKey: this.nextStreamKey, heads: new Map(), ids: new Map(), tailAdds: [] };
    const outcomes: Array<{ ok: true; receipts: AppendedReceipt[] } | { ok: false; error: unknown }> = [];
    try {
      this.stmt.begin.run();
      for (const pending of batch) {
        try {
          outcomes.push({ ok: true, receipts: this.appendRequests(pending.requests, state) });
        } catch (error) {
          if (error instanceof StoreWriteError) throw error.original;
          outcomes.push({ ok: false, error });
        }
      }
      this.stmt.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.stmt.rollback.run();
      for (const pending of batch) pending.reject(error);
      return;
    }

    const start = this.nextPosition;
    this.nextPosition = state.position;
    this.nextStreamKey = state.streamKey;
    for (const [id, head] of state.heads) {
      this.clean.delete(id);
      this.dirty.set(id, head);
    }
    for (const { id, position } of state.tailAdds) this.tail.add(id, position);
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) pending.resolve(outcome.receipts);
      else pending.reject(outcome?.error);
    });
    if (this.nextPosition > start) this.appended.emit('appended', this.nextPosition);
    if (this.nextPosition - this.tailStart >= this.checkpointEvery) {
      try {
        this.checkpoint();
      } catch {
        // Nothing changed (the checkpoint is one transaction); the next flush or close() retries.
      }
    }
  }

  /**
   * One caller's append, all requests or none: everything is checked and computed first,
   * then written. Only a failing write (I/O) can throw after the first row is written, and
   * that aborts the whole group commit.
   */
  private appendRequests(requests: readonly AppendRequest[], state: FlushState): AppendedReceipt[] {
    const ids = new Map<string, ParsedId>();
    for (const r of requests) {
      for (const e of r.events) {
        if (ids.has(e.eventId)) throw new Error(`eventId ${e.eventId} appears twice in one append`);
        ids.set(e.eventId, parseEventId(e.eventId));
      }
    }

    // Ids stored before (in this group commit or earlier) are answered with their first receipt.
    const known = new Map<string, KnownEvent>();
    for (const [eventId, id] of ids) {
      const existing = state.ids.get(eventId) ?? this.findCommitted(id);
      if (existing) known.set(eventId, existing);
    }

    const receipts: AppendedReceipt[] = [];
    const planned: PlannedRow[] = [];
    const written: Array<{ row: PlannedRow; receipt: AppendedReceipt }> = [];
    const heads = new Map<string, Head>();
    let position = state.position;
    let streamKey = state.streamKey;
    for (const request of requests) {
      const fresh: NewEvent[] = [];
      const slots: number[] = [];
      for (const event of request.events) {
        const existing = known.get(event.eventId);
        if (!existing) {
          fresh.push(event);
          slots.push(receipts.length);
          receipts.push(undefined as unknown as AppendedReceipt);
          continue;
        }
        if (existing.contentDigest !== event.contentDigest || existing.receipt.streamId !== request.streamId) {
          throw new EventIdConflictError(event.eventId, existing.receipt);
        }
        receipts.push({ ...existing.receipt, duplicate: true });
      }
      if (fresh.length === 0) continue;

      const head = heads.get(request.streamId) ?? state.heads.get(request.streamId) ?? this.loadHead(request.streamId);
      checkExpected(request.streamId, request.expectedRevision, head);
      let current: Head = head ?? { key: streamKey++, revision: -1, pos: -1, hash: GENESIS };
      const recordedAt = this.now().toISOString();
      fresh.forEach((event, i) => {
        const revision = current.revision + 1;
        const record: ChainedRecord = {
          eventId: event.eventId,
          type: event.type,
          streamId: request.streamId,
          streamRevision: revision,
          globalPosition: position,
          occurredAt: event.occurredAt,
          recordedAt,
          subjectId: event.subjectId,
          actor: event.actor,
          data: event.data,
          ...(event.pii === undefined ? {} : { pii: event.pii }),
          metadata: event.metadata,
        };
        const text = canonicalRecordText(record);
        const hash = chainHashBytes(current.hash, text);
        const row: PlannedRow = {
          position,
          key: current.key,
          revision,
          prevPos: current.pos,
          id: ids.get(event.eventId)!,
          text,
          prevHash: current.hash,
          hash,
          digest: Buffer.from(event.contentDigest, 'hex'),
        };
        const receipt: AppendedReceipt = {
          eventId: event.eventId,
          streamId: request.streamId,
          streamRevision: revision,
          globalPosition: position,
          hash: hash.toString('hex'),
          duplicate: false,
        };
        planned.push(row);
        written.push({ row, receipt });
        receipts[slots[i]!] = receipt;
        current = { key: current.key, revision, pos: position, hash };
        position++;
      });
      heads.set(request.streamId, current);
    }

    try {
      for (const row of planned) {
        this.stmt.insertEvent.run(
          row.position,
          row.key,
          row.revision,
          row.id.bytes,
          row.text,
          row.prevHash,
          row.hash,
          row.digest,
          row.prevPos < 0 ? null : row.prevPos,
        );
        if (row.revision > 0 && row.revision % SKIP_EVERY === 0) this.stmt.insertSkip.run(row.key, row.revision, row.position);
      }
    } catch (error) {
      throw new StoreWriteError(error);
    }

    state.position = position;
    state.streamKey = streamKey;
    for (const [streamId, head] of heads) state.heads.set(streamId, head);
    for (const { row, receipt } of written) {
      state.ids.set(receipt.eventId, { receipt: receiptOf(receipt), contentDigest: row.digest.toString('hex') });
      state.tailAdds.push({ id: row.id, position: row.position });
    }
    return receipts;
  }

  // ── store checkpoints ──────────────────────────────────────────────────────

  /**
   * Writes the heads changed since the last checkpoint (one sorted pass over the streams
   * table) and seals the ids added since then as a new generation, in one transaction.
   */
  private checkpoint(): void {
    const end = this.nextPosition;
    if (end <= this.tailStart) return;
    const gen = this.generations;
    const streamIds = [...this.dirty.keys()].sort();
    const ids = this.tail.sortedEntries();
    this.db.transaction(() => {
      for (const streamId of streamIds) {
        const h = this.dirty.get(streamId)!;
        this.stmt.upsertStream.run(streamId, h.key, h.revision, h.hash, h.pos);
      }
      for (let i = 0; i < ids.keys.length; i++) this.stmt.insertId.run(gen, ids.keys[i], ids.positions[i]);
      this.stmt.insertGeneration.run(gen, this.tailStart, end);
      this.stmt.saveState.run(end, this.nextStreamKey);
    })();
    for (let i = 0; i < ids.keys.length; i++) this.filter.add(ids.keys[i]!);
    this.generations = gen + 1;
    this.prepareProbe();
    this.tail.clear();
    this.dirty = new Map();
    this.tailStart = end;
    if (this.filter.grew || ++this.checkpointsSinceFilterSaved >= 16) this.saveFilter();
  }

  private loadFilter(): IdFilter {
    const rows = this.db.prepare('SELECT capacity, count, covered_gen, bits FROM id_filters ORDER BY idx').all() as Array<{
      capacity: number;
      count: number;
      covered_gen: number;
      bits: Buffer;
    }>;
    const filter = new IdFilter(rows.map((r) => BlockedBloom.fromBytes(r.capacity, r.count, r.bits)));
    const covered = rows.length > 0 ? Math.min(...rows.map((r) => r.covered_gen)) : -1;
    if (covered < this.generations - 1) {
      // Ids sealed after the filter was last saved (a crash): add them from the sealed runs.
      const keys = this.db.prepare('SELECT k FROM event_ids WHERE gen > ?').pluck().iterate(covered) as IterableIterator<number>;
      for (const k of keys) filter.add(k);
    }
    filter.grew = false;
    return filter;
  }

  private saveFilter(): void {
    const covered = this.generations - 1;
    const insert = this.db.prepare('INSERT INTO id_filters (idx, capacity, count, covered_gen, bits) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db.exec('DELETE FROM id_filters');
      this.filter.blooms.forEach((b, i) => insert.run(i, b.capacity, b.count, covered, b.bytes()));
    })();
    this.filter.grew = false;
    this.checkpointsSinceFilterSaved = 0;
  }

  private prepareProbe(): void {
    if (this.generations === 0) {
      this.probeGenerations = null;
      return;
    }
    const gens = Array.from({ length: this.generations }, (_, i) => i).join(',');
    this.probeGenerations = this.db.prepare(`SELECT position FROM event_ids WHERE gen IN (${gens}) AND k = ?`).pluck();
  }

  // ── lookups ────────────────────────────────────────────────────────────────

  /** The stored event with this id, exactly (candidate rows are compared byte for byte). */
  private findCommittedRow(id: ParsedId): ChainRow | null {
    const k = keyOf(id);
    for (const position of this.tail.find(k)) {
      const row = this.stmt.eventAt.get(position) as ChainRow | undefined;
      if (row && row.event_id.equals(id.bytes)) return row;
    }
    if (!this.probeGenerations || !this.filter.mayContain(k)) return null;
    for (const position of this.probeGenerations.all(k) as number[]) {
      const row = this.stmt.eventAt.get(position) as ChainRow | undefined;
      if (row && row.event_id.equals(id.bytes)) return row;
    }
    return null;
  }

  private findCommitted(id: ParsedId): KnownEvent | null {
    const row = this.findCommittedRow(id);
    if (!row) return null;
    const stored = toStoredEvent(row);
    return { receipt: receiptOf(stored), contentDigest: stored.contentDigest };
  }

  private loadHead(streamId: string): Head | null {
    const dirty = this.dirty.get(streamId);
    if (dirty) return dirty;
    const cached = this.clean.get(streamId);
    if (cached) {
      this.clean.delete(streamId);
      this.clean.set(streamId, cached);
      return cached;
    }
    const row = this.stmt.headByName.get(streamId) as { stream_key: number; revision: number; head_hash: Buffer; head_pos: number } | undefined;
    if (!row) return null;
    const head: Head = { key: row.stream_key, revision: row.revision, pos: row.head_pos, hash: row.head_hash };
    this.clean.set(streamId, head);
    if (this.clean.size > this.cleanSize) {
      const oldest = this.clean.keys().next();
      if (!oldest.done) this.clean.delete(oldest.value);
    }
    return head;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const head = this.loadHead(streamId);
    if (!head) return [];
    const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (max <= 0) return [];
    if (options.direction === 'backwards') {
      const top = Math.min(options.fromRevision ?? head.revision, head.revision);
      if (top < 0) return [];
      const low = Math.max(0, top - max + 1);
      return this.walk(head, low, top).reverse().map(toStoredEvent);
    }
    const low = Math.max(0, options.fromRevision ?? 0);
    if (low > head.revision) return [];
    const top = Math.min(head.revision, low + max - 1);
    return this.walk(head, low, top).map(toStoredEvent);
  }

  /** Rows of revisions low..top of a stream, in revision order, following the back-links. */
  private walk(head: Head, low: number, top: number): ChainRow[] {
    let revision = head.revision;
    let position = head.pos;
    if (top < head.revision) {
      const skip = this.stmt.skipFrom.get(head.key, top) as { revision: number; position: number } | undefined;
      if (skip && skip.revision < head.revision) {
        revision = skip.revision;
        position = skip.position;
      }
    }
    const rows: ChainRow[] = [];
    while (revision >= low && position >= 0) {
      if (revision <= top) {
        const row = this.stmt.eventAt.get(position) as ChainRow | undefined;
        if (!row) throw new Error(`event log is missing position ${position} of a stream chain`);
        rows.push(row);
        position = row.prev_pos ?? -1;
      } else {
        const link = this.stmt.linkAt.get(position) as { prev_pos: number | null } | undefined;
        if (!link) throw new Error(`event log is missing position ${position} of a stream chain`);
        position = link.prev_pos ?? -1;
      }
      revision--;
    }
    return rows.reverse();
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return this.readAllSync(options.fromPosition ?? 0, options.maxCount ?? Number.MAX_SAFE_INTEGER);
  }

  private readAllSync(fromPosition: number, maxCount: number): StoredEvent[] {
    return (this.stmt.readAll.all(fromPosition, maxCount) as EventRow[]).map(toStoredEvent);
  }

  /** Streams raw rows in global order without materialising the log. */
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
    return head ? { streamId, revision: head.revision, hash: head.hash.toString('hex') } : null;
  }

  async findByEventId(eventId: string): Promise<StoredEvent | null> {
    let id: ParsedId;
    try {
      id = parseEventId(eventId);
    } catch {
      return null;
    }
    const row = this.findCommittedRow(id);
    return row ? toStoredEvent(row) : null;
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
    try {
      this.checkpoint();
      this.saveFilter();
    } finally {
      this.db.close();
      if (this.lockFile) rmSync(this.lockFile, { force: true });
    }
  }
}

// ── event ids ────────────────────────────────────────────────────────────────

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses a UUID (any version, either case) into its 16 bytes; throws for anything else. */
function parseEventId(eventId: string): ParsedId {
  if (typeof eventId !== 'string' || eventId.length !== 36) throw new TypeError('eventId must be a UUID');
  const bytes = Buffer.allocUnsafe(16);
  let j = 0;
  for (let i = 0; i < 36; ) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (eventId.charCodeAt(i) !== 45) throw new TypeError('eventId must be a UUID');
      i++;
      continue;
    }
    const hi = hexValue(eventId.charCodeAt(i));
    const lo = hexValue(eventId.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) throw new TypeError('eventId must be a UUID');
    bytes[j++] = (hi << 4) | lo;
    i += 2;
  }
  return idFromBytes(bytes);
}

/** The 53-bit key of an id: two mixed 32-bit words of its bytes (21 + 32 bits). */
function idFromBytes(bytes: Buffer): ParsedId {
  const w0 = bytes.readUInt32BE(0);
  const w1 = bytes.readUInt32BE(4);
  const w2 = bytes.readUInt32BE(8);
  const w3 = bytes.readUInt32BE(12);
  const a = fmix32(w0 ^ fmix32(w1 ^ 0x9e3779b9));
  const b = fmix32(w2 ^ fmix32(w3 ^ a));
  return { bytes, hi: a >>> 11, lo: b };
}

function keyOf(id: ParsedId): number {
  return id.hi * 4294967296 + id.lo;
}

/**
 * Ids appended since the last store checkpoint: open addressing over (53-bit key → position).
 * Several entries may share a key; callers compare the stored bytes.
 */
class TailIds {
  private keys = new Float64Array(1 << 16);
  private positions = new Float64Array(1 << 16);
  private used = new Uint8Array(1 << 16);
  private count = 0;

  add(id: ParsedId, position: number): void {
    if ((this.count + 1) * 2 > this.used.length) this.grow();
    this.insert(keyOf(id), position);
  }

  private insert(k: number, position: number): void {
    const mask = this.used.length - 1;
    let slot = (k % 4294967296) & mask;
    while (this.used[slot]) slot = (slot + 1) & mask;
    this.used[slot] = 1;
    this.keys[slot] = k;
    this.positions[slot] = position;
    this.count++;
  }

  private grow(): void {
    const { keys, positions, used } = this;
    this.keys = new Float64Array(used.length * 2);
    this.positions = new Float64Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.count = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.insert(keys[i]!, positions[i]!);
  }

  find(k: number): number[] {
    const mask = this.used.length - 1;
    let slot = (k % 4294967296) & mask;
    let found: number[] | null = null;
    while (this.used[slot]) {
      if (this.keys[slot] === k) (found ??= []).push(this.positions[slot]!);
      slot = (slot + 1) & mask;
    }
    return found ?? EMPTY;
  }

  /** Every entry, sorted by key then position (the order of a sealed generation). */
  sortedEntries(): { keys: Float64Array; positions: Float64Array } {
    const order: number[] = [];
    for (let i = 0; i < this.used.length; i++) if (this.used[i]) order.push(i);
    order.sort((x, y) => this.keys[x]! - this.keys[y]! || this.positions[x]! - this.positions[y]!);
    const keys = new Float64Array(order.length);
    const positions = new Float64Array(order.length);
    order.forEach((slot, i) => {
      keys[i] = this.keys[slot]!;
      positions[i] = this.positions[slot]!;
    });
    return { keys, positions };
  }

  clear(): void {
    if (this.used.length > 1 << 16) {
      this.keys = new Float64Array(1 << 16);
      this.positions = new Float64Array(1 << 16);
      this.used = new Uint8Array(1 << 16);
    } else this.used.fill(0);
    this.count = 0;
  }
}
const EMPTY: number[] = [];

/**
 * Blocked Bloom filter: each key sets 7 bits inside one 512-bit block (one cache line),
 * ~10 bits per key, about 1% false positives at capacity.
 */
class BlockedBloom {
  readonly blocks: number;
  constructor(
    readonly capacity: number,
    public count: number,
    readonly words: Uint32Array,
  ) {
    this.blocks = words.length / 16;
  }

  static create(capacity: number): BlockedBloom {
    const blocks = Math.ceil((capacity * 10) / 512);
    return new BlockedBloom(capacity, 0, new Uint32Array(blocks * 16));
  }

  static fromBytes(capacity: number, count: number, bytes: Buffer): BlockedBloom {
    const words = new Uint32Array(bytes.length / 4);
    Buffer.from(words.buffer).set(bytes);
    return new BlockedBloom(capacity, count, words);
  }

  bytes(): Buffer {
    return Buffer.from(this.words.buffer, this.words.byteOffset, this.words.byteLength);
  }

  add(k: number): void {
    const lo = k % 4294967296;
    const base = Math.floor((lo / 4294967296) * this.blocks) * 16;
    const h1 = fmix32(lo ^ Math.imul((k - lo) / 4294967296, 0x9e3779b1));
    const h2 = fmix32(h1 ^ 0x5bd1e995) | 1;
    for (let j = 0; j < 7; j++) {
      const bit = (h1 + Math.imul(j, h2)) >>> 23;
      const word = base + (bit >>> 5);
      this.words[word] = this.words[word]! | (1 << (bit & 31));
    }
    this.count++;
  }

  mayContain(k: number): boolean {
    const lo = k % 4294967296;
    const base = Math.floor((lo / 4294967296) * this.blocks) * 16;
    const h1 = fmix32(lo ^ Math.imul((k - lo) / 4294967296, 0x9e3779b1));
    const h2 = fmix32(h1 ^ 0x5bd1e995) | 1;
    for (let j = 0; j < 7; j++) {
      const bit = (h1 + Math.imul(j, h2)) >>> 23;
      if ((this.words[base + (bit >>> 5)]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** A scalable Bloom filter: when the newest filter is full, a new one twice its size starts. */
class IdFilter {
  grew = false;
  constructor(readonly blooms: BlockedBloom[]) {}

  add(k: number): void {
    let last = this.blooms[this.blooms.length - 1];
    if (!last || last.count >= last.capacity) {
      last = BlockedBloom.create(last ? last.capacity * 2 : 1 << 20);
      this.blooms.push(last);
      this.grew = true;
    }
    last.add(k);
  }

  mayContain(k: number): boolean {
    for (const b of this.blooms) if (b.mayContain(k)) return true;
    return false;
  }
}

// ── records and hashes ───────────────────────────────────────────────────────

const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
class NotPlainJson extends Error {}

/** RFC 8785 for plain JSON values; throws NotPlainJson for anything it does not handle itself. */
function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      if (!isWellFormed(value)) throw new NotPlainJson();
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new NotPlainJson();
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const element: unknown = value[i];
          out += element === undefined || typeof element === 'function' || typeof element === 'symbol' ? 'null' : canonicalJson(element);
        }
        return out + ']';
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || value instanceof Number || value instanceof String || value instanceof Boolean) {
        throw new NotPlainJson();
      }
      const keys = Object.keys(value).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        if (!isWellFormed(key)) throw new NotPlainJson();
        out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new NotPlainJson();
  }
}

/** The record's members in RFC 8785 order (UTF-16 code units). */
const RECORD_KEYS = [
  'actor',
  'data',
  'eventId',
  'globalPosition',
  'metadata',
  'occurredAt',
  'pii',
  'recordedAt',
  'streamId',
  'streamRevision',
  'subjectId',
  'type',
] as const;

/**
 * Exactly the text of canonicalRecordBytes (src/integrity/chain.ts), built without the
 * generic canonicaliser's bookkeeping; anything unusual falls back to it.
 */
export function canonicalRecordText(record: ChainedRecord): string {
  try {
    let out = '{';
    let first = true;
    for (const key of RECORD_KEYS) {
      const member = (record as unknown as Record<string, unknown>)[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      out += (first ? '"' : ',"') + key + '":' + canonicalJson(member);
      first = false;
    }
    return out + '}';
  } catch (error) {
    if (!(error instanceof NotPlainJson) && !(error instanceof RangeError)) throw error;
    return canonicalRecordBytes(record).toString('utf8');
  }
}

let scratch = Buffer.allocUnsafe(64 * 1024);

/** SHA-256(prevHash || UTF-8 record text), in one call. */
function chainHashBytes(prevHash: Buffer, text: string): Buffer {
  const needed = 32 + text.length * 3;
  if (scratch.length < needed) scratch = Buffer.allocUnsafe(Math.max(needed, scratch.length * 2));
  prevHash.copy(scratch, 0, 0, 32);
  const n = scratch.write(text, 32, 'utf8');
  return oneShotHash('sha256', scratch.subarray(0, 32 + n), 'buffer');
}

// ── helpers ──────────────────────────────────────────────────────────────────

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

function checkExpected(streamId: string, expected: ExpectedRevision, head: Head | null): void {
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

function receiptOf(e: Receipt): Receipt {
  return {
    eventId: e.eventId,
    streamId: e.streamId,
    streamRevision: e.streamRevision,
    globalPosition: e.globalPosition,
    hash: e.hash,
  };
}

/**
 * Upgrades a schema-1 file (random-UUID unique index, per-stream index, heads updated in
 * place) to schema 2 in one transaction: back-links, skip list, heads with positions, and
 * every id sealed as generation 0.
 */
function migrateFromV1(db: Db): void {
  db.exec('ALTER TABLE streams RENAME TO streams_v1');
  db.exec('ALTER TABLE events ADD COLUMN prev_pos INTEGER');
  db.exec('DROP INDEX IF EXISTS events_by_event_id');
  db.exec('DROP INDEX IF EXISTS events_by_stream');
  db.exec(SCHEMA);
  const setPrev = db.prepare('UPDATE events SET prev_pos = ? WHERE position = ?');
  const insertSkip = db.prepare('INSERT OR REPLACE INTO stream_skips (stream_key, revision, position) VALUES (?, ?, ?)');
  const last = new Map<number, number>();
  const ids: Array<{ k: number; position: number }> = [];
  let end = 0;
  const rows = db.prepare('SELECT position, stream_key, revision, event_id FROM events ORDER BY position').all() as Array<{
    position: number;
    stream_key: number;
    revision: number;
    event_id: Buffer;
  }>;
  for (const row of rows) {
    const prev = last.get(row.stream_key);
    if (prev !== undefined) setPrev.run(prev, row.position);
    last.set(row.stream_key, row.position);
    if (row.revision > 0 && row.revision % SKIP_EVERY === 0) insertSkip.run(row.stream_key, row.revision, row.position);
    ids.push({ k: keyOf(idFromBytes(row.event_id)), position: row.position });
    end = row.position + 1;
  }
  const old = db.prepare('SELECT stream_key, stream_id, revision, head_hash FROM streams_v1').all() as Array<{
    stream_key: number;
    stream_id: string;
    revision: number;
    head_hash: Buffer;
  }>;
  const insertStream = db.prepare('INSERT INTO streams (stream_id, stream_key, revision, head_hash, head_pos) VALUES (?, ?, ?, ?, ?)');
  let maxKey = 0;
  for (const s of old) {
    insertStream.run(s.stream_id, s.stream_key, s.revision, s.head_hash, last.get(s.stream_key) ?? -1);
    maxKey = Math.max(maxKey, s.stream_key);
  }
  db.exec('DROP TABLE streams_v1');
  ids.sort((x, y) => x.k - y.k || x.position - y.position);
  if (ids.length > 0) {
    const insertId = db.prepare('INSERT OR IGNORE INTO event_ids (gen, k, position) VALUES (0, ?, ?)');
    for (const id of ids) insertId.run(id.k, id.position);
    db.prepare('INSERT INTO id_generations (gen, first_position, end_position) VALUES (0, 0, ?)').run(end);
  }
  db.prepare('INSERT INTO store_state (id, tail_start, next_stream_key) VALUES (1, ?, ?)').run(end, maxKey + 1);
}

/**
 * Reads the raw log of an embedded store read-only, in global order, without taking the
 * writer lock (the verifier runs beside a live service).
 */
export function* readRawLog(file: string): Generator<RawLogEntry> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT position, CAST(record AS BLOB) AS record, prev_hash, hash FROM events ORDER BY position').iterate() as IterableIterator<{
      position: number;
      record: Buffer;
      prev_hash: Buffer;
      hash: Buffer;
    }>;
    for (const row of rows) yield { position: row.position, record: row.record, prevHash: row.prev_hash, hash: row.hash };
  } finally {
    db.close();
  }
}

/** Number of events in the log (the next position; a tampered log with holes is reported by the verifier). */
export function countEvents(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return ((db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number | null }).p ?? -1) + 1;
  } finally {
    db.close();
  }
}
