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
  /**
   * Events between store checkpoints: the ids added since the last one are kept in memory and
   * written as one sorted run at the next one.
   */
  readonly checkpointEvery?: number;
  /** Events between snapshots of the stream heads (a restart replays at most this many). */
  readonly headSnapshotEvery?: number;
  /** Clock for `recordedAt`; injected so tests control it. */
  readonly now?: () => Date;
}

/*
 * Layout (schema version 3, PRAGMA user_version).
 *
 * The hot path only appends: nothing keyed by a random value is written per event.
 * - events: one row per event keyed by its global position (the rowid), so appends are
 *   sequential b-tree inserts. `prev_pos` links each event to the previous one of its stream;
 *   stream reads follow these links (with a sparse skip list every SKIP_EVERY revisions).
 * - streams: stream key → stream id, written once when a stream starts (sequential keys).
 *   Every stream's head (revision, hash, last position) is held in memory (HeadTable, ~80 bytes
 *   a stream) and saved as a snapshot (head_snapshot) every `headSnapshotEvery` events and on
 *   close; on open the events after the snapshot are replayed into it.
 * - event_ids: idempotency. Ids since the last store checkpoint are in an in-memory hash
 *   table; at a checkpoint they are written as one sorted run (a "generation") appended at the
 *   end of one WITHOUT ROWID b-tree. A Bloom filter over all sealed ids answers "never seen"
 *   for new ids without touching the disk; a hit is checked exactly against the stored row.
 * Random-key b-tree writes (a random UUID index, a per-stream index, heads updated in place)
 * dirty about one page per event once the file is large, which is what makes naive layouts
 * slow down as they grow.
 */
const SCHEMA_VERSION = 3;
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
  stream_key INTEGER PRIMARY KEY,
  stream_id  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS head_snapshot (
  chunk INTEGER PRIMARY KEY,
  data  BLOB NOT NULL
);
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
  heads_position  INTEGER NOT NULL,
  next_stream_key INTEGER NOT NULL
);
`;

/** Every SKIP_EVERY-th revision of a stream is indexed, so a read from a revision walks < SKIP_EVERY links. */
const SKIP_EVERY = 64;
const DEFAULT_CHECKPOINT_EVERY = 1 << 18;
const DEFAULT_HEAD_SNAPSHOT_EVERY = 1 << 20;
/** Ids sealed per step (one short transaction after a group commit). */
const SEAL_STEP = 16_384;
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
  /** The stored content digest (compared only when an id repeats). */
  readonly digest: Buffer;
}

/** What one group commit has written so far (visible to the requests after it in the same transaction). */
interface FlushState {
  position: number;
  streamKey: number;
  /** One clock reading per group commit: its events are recorded at the same instant. */
  readonly recordedAt: string;
  readonly heads: Map<string, Head>;
  readonly created: Map<string, number>;
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
  readonly receipt: AppendedReceipt;
}

/** An event row as read: hashes and digest as lowercase hex (converted by SQLite, not in JS). */
interface EventRow {
  position: number;
  record: string;
  prev_hash: string;
  hash: string;
  digest: string;
}

interface ChainRow extends EventRow {
  prev_pos: number | null;
  event_id: Buffer;
}

const ROW_COLUMNS = 'position, record, lower(hex(prev_hash)) AS prev_hash, lower(hex(hash)) AS hash, lower(hex(digest)) AS digest';

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
  private readonly heads = new HeadTable();
  private readonly checkpointEvery: number;
  private readonly headSnapshotEvery: number;
  private tail = new TailIds();
  /** First position of `tail` (ids before it are sealed, or being sealed by `sealing`). */
  private currentStart = 0;
  /** A generation being written a slice per step, so no single commit stalls appends. */
  private sealing: { tail: TailIds; keys: Float64Array; next: number; gen: number; start: number; end: number } | null = null;
  /** A head snapshot being written a chunk per step. */
  private snapshotting: { position: number; chunks: number[]; next: number } | null = null;
  private maintenanceScheduled = false;
  private readonly filter: IdFilter;
  private generations = 0;
  private tailStart: number;
  private headsPosition: number;
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
    insertStream: Statement;
    insertSkip: Statement;
    insertId: Statement;
    insertGeneration: Statement;
    saveState: Statement;
    saveHeadChunk: Statement;
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
    this.db.pragma('cache_size = -16384');
    this.db.pragma('wal_autocheckpoint = 10000');
    this.migrate();
    this.now = options.now ?? (() => new Date());
    this.checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    this.headSnapshotEvery = options.headSnapshotEvery ?? DEFAULT_HEAD_SNAPSHOT_EVERY;

    this.stmt = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
      insertEvent: this.db.prepare(
        'INSERT INTO events (position, stream_key, revision, event_id, record, prev_hash, hash, digest, prev_pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertStream: this.db.prepare('INSERT INTO streams (stream_key, stream_id) VALUES (?, ?)'),
      insertSkip: this.db.prepare('INSERT OR REPLACE INTO stream_skips (stream_key, revision, position) VALUES (?, ?, ?)'),
      insertId: this.db.prepare('INSERT OR IGNORE INTO event_ids (gen, k, position) VALUES (?, ?, ?)'),
      insertGeneration: this.db.prepare('INSERT INTO id_generations (gen, first_position, end_position) VALUES (?, ?, ?)'),
      saveState: this.db.prepare(
        'INSERT INTO store_state (id, tail_start, heads_position, next_stream_key) VALUES (1, ?, ?, ?) ' +
          'ON CONFLICT (id) DO UPDATE SET tail_start = excluded.tail_start, heads_position = excluded.heads_position, next_stream_key = excluded.next_stream_key',
      ),
      saveHeadChunk: this.db.prepare('INSERT OR REPLACE INTO head_snapshot (chunk, data) VALUES (?, ?)'),
      eventAt: this.db.prepare(`SELECT ${ROW_COLUMNS}, prev_pos, event_id FROM events WHERE position = ?`),
      linkAt: this.db.prepare('SELECT prev_pos FROM events WHERE position = ?').pluck(),
      skipFrom: this.db.prepare(
        'SELECT revision, position FROM stream_skips WHERE stream_key = ? AND revision >= ? ORDER BY revision LIMIT 1',
      ),
      readAll: this.db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?`),
    };

    const maxPosition = this.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number | null };
    this.nextPosition = (maxPosition.p ?? -1) + 1;
    const state = this.db.prepare('SELECT tail_start, heads_position, next_stream_key FROM store_state WHERE id = 1').get() as
      | { tail_start: number; heads_position: number; next_stream_key: number }
      | undefined;
    this.tailStart = state?.tail_start ?? 0;
    this.currentStart = this.tailStart;
    this.headsPosition = state?.heads_position ?? 0;
    const maxKey = this.db.prepare('SELECT MAX(stream_key) AS k FROM streams').get() as { k: number | null };
    this.nextStreamKey = Math.max(state?.next_stream_key ?? 1, (maxKey.k ?? 0) + 1);
    this.generations = (this.db.prepare('SELECT COUNT(*) AS n FROM id_generations').get() as { n: number }).n;
    this.filter = this.loadFilter();
    this.prepareProbe();
    this.appended.setMaxListeners(0);
  }

  private loaded = false;

  /**
   * Heads and recent ids are loaded on first use (an append or a stream or id lookup), so a
   * store opened only to read the log in order (rebuild, export) does not hold them.
   */
  private ensureLoaded(): void {
    if (this.loaded) return;
    this.loaded = true;
    this.loadHeads();
  }

  // ── schema and recovery ────────────────────────────────────────────────────

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) throw new Error(`events file has schema version ${version}; this ledger reads version ${SCHEMA_VERSION} (and upgrades version 1)`);
    const v1 = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'events_by_event_id'").get() !== undefined;
    this.db.transaction(() => {
      if (v1) migrateFromV1(this.db);
      else this.db.exec(SCHEMA);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  /**
   * Stream ids, the head snapshot, then the events after it (heads) and after the last store
   * checkpoint (ids) replayed from the log.
   */
  private loadHeads(): void {
    for (const row of this.db.prepare('SELECT stream_key, stream_id FROM streams').raw().iterate() as IterableIterator<[number, string]>) {
      this.heads.register(row[1], row[0]);
    }
    for (const row of this.db.prepare('SELECT chunk, data FROM head_snapshot').raw().iterate() as IterableIterator<[number, Buffer]>) {
      this.heads.loadChunk(row[0], row[1]);
    }
    const from = Math.min(this.tailStart, this.headsPosition);
    if (from >= this.nextPosition) return;
    const rows = this.db
      .prepare('SELECT position, stream_key, revision, hash, event_id FROM events WHERE position >= ? ORDER BY position')
      .raw()
      .iterate(from) as IterableIterator<[number, number, number, Buffer, Buffer]>;
    for (const [position, key, revision, hash, eventId] of rows) {
      if (position >= this.headsPosition) this.heads.set(key, revision, position, hash);
      if (position >= this.tailStart) this.tail.add(idFromBytes(eventId), position);
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
    this.ensureLoaded();

    const state: FlushState = {
      position: this.nextPosition,
      streamKey: this.nextStreamKey,
      recordedAt: this.now().toISOString(),
      heads: new Map(),
      created: new Map(),
      ids: new Map(),
      tailAdds: [],
    };
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
    for (const [streamId, key] of state.created) this.heads.register(streamId, key);
    for (const head of state.heads.values()) this.heads.set(head.key, head.revision, head.pos, head.hash);
    for (const { id, position } of state.tailAdds) this.tail.add(id, position);
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) pending.resolve(outcome.receipts);
      else pending.reject(outcome?.error);
    });
    if (this.nextPosition > start) this.appended.emit('appended', this.nextPosition);
    this.maintain();
  }

  // ── store checkpoints, a step at a time ────────────────────────────────────

  /** Starts and advances the background work after a group commit: one short transaction at most. */
  private maintain(): void {
    if (!this.sealing && this.nextPosition - this.currentStart >= this.checkpointEvery) this.startSealing();
    if (!this.snapshotting && this.nextPosition - this.headsPosition >= this.headSnapshotEvery) this.startSnapshot();
    try {
      this.step();
    } catch {
      // The step's transaction rolled back and its cursor did not move: it is tried again.
    }
    if ((this.sealing || this.snapshotting) && !this.maintenanceScheduled && !this.closed) {
      this.maintenanceScheduled = true;
      setImmediate(() => {
        this.maintenanceScheduled = false;
        if (!this.closed) this.maintain();
      });
    }
  }

  private startSealing(): void {
    if (this.nextPosition <= this.currentStart) return;
    this.sealing = { tail: this.tail, keys: this.tail.sortedKeys(), next: 0, gen: this.generations, start: this.currentStart, end: this.nextPosition };
    this.tail = new TailIds();
    this.currentStart = this.nextPosition;
  }

  private startSnapshot(): void {
    this.snapshotting = { position: this.nextPosition, chunks: this.heads.changedChunks(), next: 0 };
  }

  /** One slice of the pending work, in one transaction. */
  private step(): void {
    const sealing = this.sealing;
    if (sealing) {
      const stop = Math.min(sealing.keys.length, sealing.next + SEAL_STEP);
      const done = stop === sealing.keys.length;
      this.db.transaction(() => {
        for (let i = sealing.next; i < stop; i++) {
          const k = sealing.keys[i]!;
          if (i > 0 && sealing.keys[i - 1] === k) continue;
          for (const position of sealing.tail.find(k)) this.stmt.insertId.run(sealing.gen, k, position);
        }
        if (done) {
          this.stmt.insertGeneration.run(sealing.gen, sealing.start, sealing.end);
          this.stmt.saveState.run(sealing.end, this.headsPosition, this.nextStreamKey);
        }
      })();
      sealing.next = stop;
      if (!done) return;
      for (const k of sealing.keys) this.filter.add(k);
      this.generations = sealing.gen + 1;
      this.prepareProbe();
      this.tailStart = sealing.end;
      this.sealing = null;
      // Saved when a filter fills (and on close); after a crash the ids sealed since are re-added from event_ids.
      if (this.filter.grew) this.saveFilter();
      return;
    }
    const snapshot = this.snapshotting;
    if (snapshot) {
      const chunk = snapshot.chunks[snapshot.next];
      const done = snapshot.next + 1 >= snapshot.chunks.length;
      this.db.transaction(() => {
        if (chunk !== undefined) this.heads.saveChunk(chunk, (data) => this.stmt.saveHeadChunk.run(chunk, data));
        if (done) this.stmt.saveState.run(this.tailStart, snapshot.position, this.nextStreamKey);
      })();
      snapshot.next++;
      if (!done) return;
      this.headsPosition = snapshot.position;
      this.snapshotting = null;
    }
  }

  /** Finishes all pending work and checkpoints everything (close). */
  private checkpointAll(): void {
    while (this.sealing || this.snapshotting) this.step();
    this.startSealing();
    while (this.sealing) this.step();
    if (this.nextPosition > this.headsPosition) {
      this.startSnapshot();
      while (this.snapshotting) this.step();
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
    const heads = new Map<string, Head>();
    const created = new Map<string, number>();
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
        if (existing.digest.toString('hex') !== event.contentDigest || existing.receipt.streamId !== request.streamId) {
          throw new EventIdConflictError(event.eventId, existing.receipt);
        }
        receipts.push({ ...receiptOf(existing.receipt), duplicate: true });
      }
      if (fresh.length === 0) continue;

      const head = heads.get(request.streamId) ?? state.heads.get(request.streamId) ?? this.loadHead(request.streamId);
      checkExpected(request.streamId, request.expectedRevision, head);
      let key: number;
      let revision: number;
      let last: number;
      let prevHash: Buffer;
      if (head) ({ key, revision, pos: last, hash: prevHash } = head);
      else {
        key = streamKey++;
        revision = -1;
        last = -1;
        prevHash = GENESIS;
        created.set(request.streamId, key);
      }
      for (let i = 0; i < fresh.length; i++) {
        const event = fresh[i]!;
        revision++;
        const text = recordText(event, request.streamId, revision, position, state.recordedAt);
        const hashHex = chainHashHex(prevHash, text);
        const hash = Buffer.from(hashHex, 'hex');
        const receipt: AppendedReceipt = {
          eventId: event.eventId,
          streamId: request.streamId,
          streamRevision: revision,
          globalPosition: position,
          hash: hashHex,
          duplicate: false,
        };
        planned.push({
          position,
          key,
          revision,
          prevPos: last,
          id: ids.get(event.eventId)!,
          text,
          prevHash,
          hash,
          digest: Buffer.from(event.contentDigest, 'hex'),
          receipt,
        });
        receipts[slots[i]!] = receipt;
        last = position;
        prevHash = hash;
        position++;
      }
      const current: Head = { key, revision, pos: last, hash: prevHash };
      heads.set(request.streamId, current);
    }

    try {
      for (const [streamId, key] of created) this.stmt.insertStream.run(key, streamId);
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
    for (const [streamId, key] of created) state.created.set(streamId, key);
    for (const [streamId, head] of heads) state.heads.set(streamId, head);
    for (const row of planned) {
      state.ids.set(row.receipt.eventId, { receipt: row.receipt, digest: row.digest });
      state.tailAdds.push({ id: row.id, position: row.position });
    }
    return receipts;
  }

  private loadFilter(): IdFilter {
    const rows = this.db.prepare('SELECT capacity, count, covered_gen, bits FROM id_filters ORDER BY idx').all() as Array<{
      capacity: number;
      count: number;
      covered_gen: number;
      bits: Buffer;
    }>;
    // Filters saved with other parameters are not reused: they are rebuilt from the sealed ids.
    const usable = rows.every((r) => r.bits.length === BlockedBloom.bytesFor(r.capacity));
    const saved = usable ? rows : [];
    const filter = new IdFilter(saved.map((r) => BlockedBloom.fromBytes(r.capacity, r.count, r.bits)));
    const covered = saved.length > 0 ? Math.min(...saved.map((r) => r.covered_gen)) : -1;
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
    this.ensureLoaded();
    const k = keyOf(id);
    for (const tail of this.sealing ? [this.tail, this.sealing.tail] : [this.tail]) {
      for (const position of tail.find(k)) {
        const row = this.stmt.eventAt.get(position) as ChainRow | undefined;
        if (row && row.event_id.equals(id.bytes)) return row;
      }
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
    return { receipt: receiptOf(toStoredEvent(row)), digest: Buffer.from(row.digest, 'hex') };
  }

  private loadHead(streamId: string): Head | null {
    this.ensureLoaded();
    const key = this.heads.keyOf(streamId);
    if (key === undefined) return null;
    return { key, revision: this.heads.revision(key), pos: this.heads.position(key), hash: this.heads.hash(key) };
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
        const link = this.stmt.linkAt.get(position) as number | null | undefined;
        if (link === undefined) throw new Error(`event log is missing position ${position} of a stream chain`);
        position = link ?? -1;
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

  /** One read for the log feed: events decoded once, with the stored canonical text of each. */
  async readLogBatch(fromPosition: number, maxCount: number): Promise<{ events: StoredEvent[]; records: string[] }> {
    const rows = this.stmt.readAll.all(fromPosition, maxCount) as EventRow[];
    const events = new Array<StoredEvent>(rows.length);
    const records = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      records[i] = row.record;
      events[i] = toStoredEvent(row);
    }
    return { events, records };
  }

  /** Streams raw rows in global order without materialising the log. */
  *iterateAll(fromPosition = 0): IterableIterator<StoredEvent> {
    const iterate = this.db.prepare(`SELECT ${ROW_COLUMNS} FROM events WHERE position >= ? ORDER BY position`);
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

  onAppended(listener: () => void): () => void {
    this.appended.on('appended', listener);
    return () => this.appended.off('appended', listener);
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return subscribeByPolling({
      ...options,
      read: async (from, max) => this.readAllSync(from, max),
      onAppended: (listener) => this.onAppended(listener),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let a scheduled group commit finish before the file is closed.
    while (this.flushScheduled || this.queue.length > 0) await new Promise((r) => setImmediate(r));
    this.appended.emit('closed');
    try {
      if (this.loaded) {
        this.checkpointAll();
        this.saveFilter();
      }
    } finally {
      this.db.close();
      if (this.lockFile) rmSync(this.lockFile, { force: true });
    }
  }
}

// ── stream heads ─────────────────────────────────────────────────────────────

const ARENA_CHUNK_BITS = 20;
const ARENA_CHUNK = 1 << ARENA_CHUNK_BITS;

/**
 * Stream id → stream key, off the JS heap: open addressing over 32-bit hashes, with each
 * stream id's UTF-8 bytes in an append-only arena for the exact comparison (~40 bytes a
 * stream, against ~70 for a Map of strings, and nothing for the garbage collector to trace).
 */
class StreamIndex {
  private slots = new Int32Array(1 << 12);
  private used = 0;
  private hashOf = new Int32Array(1 << 12);
  private offsetOf = new Uint32Array(1 << 12);
  private lengthOf = new Uint32Array(1 << 12);
  private readonly arena: Buffer[] = [];
  private arenaUsed = ARENA_CHUNK;
  private scratch = Buffer.allocUnsafeSlow(1024);

  private static hash(s: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return fmix32(h) | 0;
  }

  private encode(s: string): number {
    if (this.scratch.length < s.length * 3) this.scratch = Buffer.allocUnsafeSlow(s.length * 3);
    return this.scratch.write(s, 0, 'utf8');
  }

  private matches(key: number, n: number): boolean {
    if (this.lengthOf[key] !== n) return false;
    const at = this.offsetOf[key]!;
    const chunk = this.arena[at >>> ARENA_CHUNK_BITS]!;
    const start = at & (ARENA_CHUNK - 1);
    return this.scratch.compare(chunk, start, start + n, 0, n) === 0;
  }

  get(streamId: string): number | undefined {
    const h = StreamIndex.hash(streamId);
    const mask = this.slots.length - 1;
    let n = -1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const key = this.slots[i]!;
      if (key === 0) return undefined;
      if (this.hashOf[key] !== h) continue;
      if (n < 0) n = this.encode(streamId);
      if (this.matches(key, n)) return key;
    }
  }

  /** Adds a stream id that is not in the index yet. */
  set(streamId: string, key: number): void {
    if ((this.used + 1) * 2 > this.slots.length) this.growSlots();
    while (key >= this.hashOf.length) this.growKeys();
    const n = this.encode(streamId);
    if (n > ARENA_CHUNK) throw new Error('stream id too long');
    if (this.arenaUsed + n > ARENA_CHUNK) {
      this.arena.push(Buffer.allocUnsafeSlow(ARENA_CHUNK));
      this.arenaUsed = 0;
    }
    const chunk = this.arena.length - 1;
    this.scratch.copy(this.arena[chunk]!, this.arenaUsed, 0, n);
    this.offsetOf[key] = chunk * ARENA_CHUNK + this.arenaUsed;
    this.lengthOf[key] = n;
    this.arenaUsed += n;
    const h = StreamIndex.hash(streamId);
    this.hashOf[key] = h;
    this.place(key, h);
    this.used++;
  }

  private place(key: number, h: number): void {
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = key;
  }

  private growSlots(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    for (const key of old) if (key !== 0) this.place(key, this.hashOf[key]!);
  }

  private growKeys(): void {
    const size = this.hashOf.length * 2;
    const hashOf = new Int32Array(size);
    hashOf.set(this.hashOf);
    const offsetOf = new Uint32Array(size);
    offsetOf.set(this.offsetOf);
    const lengthOf = new Uint32Array(size);
    lengthOf.set(this.lengthOf);
    this.hashOf = hashOf;
    this.offsetOf = offsetOf;
    this.lengthOf = lengthOf;
  }
}

const CHUNK_BITS = 16;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_BYTES = CHUNK_SIZE * (4 + 8 + 32);

/**
 * Every stream's head, by stream key, in chunks of 65,536 streams: revision (int32), position
 * of the last event (float64), hash (32 bytes). A chunk's bytes are its snapshot form.
 */
class HeadTable {
  private readonly keys = new StreamIndex();
  private readonly chunks: Array<{ data: Buffer; revision: Int32Array; position: Float64Array; changed: boolean }> = [];

  keyOf(streamId: string): number | undefined {
    return this.keys.get(streamId);
  }

  register(streamId: string, key: number): void {
    if (this.keys.get(streamId) === undefined) this.keys.set(streamId, key);
    this.chunk(key);
  }

  private chunk(key: number): { data: Buffer; revision: Int32Array; position: Float64Array; changed: boolean } {
    const index = key >>> CHUNK_BITS;
    while (this.chunks.length <= index) {
      const data = Buffer.alloc(CHUNK_BYTES);
      const position = new Float64Array(data.buffer, data.byteOffset, CHUNK_SIZE);
      position.fill(-1);
      this.chunks.push({ data, position, revision: new Int32Array(data.buffer, data.byteOffset + CHUNK_SIZE * 8, CHUNK_SIZE), changed: true });
    }
    return this.chunks[index]!;
  }

  revision(key: number): number {
    return this.chunks[key >>> CHUNK_BITS]!.revision[key & (CHUNK_SIZE - 1)]!;
  }

  position(key: number): number {
    return this.chunks[key >>> CHUNK_BITS]!.position[key & (CHUNK_SIZE - 1)]!;
  }

  /** A copy of the head hash. */
  hash(key: number): Buffer {
    const offset = CHUNK_SIZE * 12 + (key & (CHUNK_SIZE - 1)) * 32;
    return Buffer.from(this.chunks[key >>> CHUNK_BITS]!.data.subarray(offset, offset + 32));
  }

  set(key: number, revision: number, position: number, hash: Uint8Array): void {
    const c = this.chunk(key);
    const i = key & (CHUNK_SIZE - 1);
    c.revision[i] = revision;
    c.position[i] = position;
    c.data.set(hash, CHUNK_SIZE * 12 + i * 32);
    c.changed = true;
  }

  loadChunk(index: number, bytes: Buffer): void {
    const c = this.chunk(index << CHUNK_BITS);
    bytes.copy(c.data, 0, 0, Math.min(bytes.length, CHUNK_BYTES));
    c.changed = false;
  }

  changedChunks(): number[] {
    const changed: number[] = [];
    this.chunks.forEach((c, i) => {
      if (c.changed) changed.push(i);
    });
    return changed;
  }

  /** Writes a chunk as it is now; later changes mark it changed again. */
  saveChunk(index: number, write: (data: Buffer) => void): void {
    const c = this.chunks[index];
    if (!c) return;
    write(c.data);
    c.changed = false;
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

  /** Every key (with repeats), ascending: the order of a sealed generation. */
  sortedKeys(): Float64Array {
    const keys = new Float64Array(this.count);
    let n = 0;
    for (let i = 0; i < this.used.length; i++) if (this.used[i]) keys[n++] = this.keys[i]!;
    return keys.sort();
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
 * Blocked Bloom filter: each key sets 9 bits inside one 512-bit block (one cache line),
 * 14 bits per key, about 0.25% false positives at capacity. A false positive costs one probe
 * of every sealed generation, so the rate is kept low.
 */
const BLOOM_BITS_PER_KEY = 14;
const BLOOM_HASHES = 9;

class BlockedBloom {
  readonly blocks: number;
  constructor(
    readonly capacity: number,
    public count: number,
    readonly words: Uint32Array,
  ) {
    this.blocks = words.length / 16;
  }

  static bytesFor(capacity: number): number {
    return Math.ceil((capacity * BLOOM_BITS_PER_KEY) / 512) * 64;
  }

  static create(capacity: number): BlockedBloom {
    return new BlockedBloom(capacity, 0, new Uint32Array(BlockedBloom.bytesFor(capacity) / 4));
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
    for (let j = 0; j < BLOOM_HASHES; j++) {
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
    for (let j = 0; j < BLOOM_HASHES; j++) {
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

class NotPlainJson extends Error {}

/**
 * A copy of a JSON value whose object members are inserted in RFC 8785 order (UTF-16 code
 * units), so that JSON.stringify of it is the canonical text: V8 keeps insertion order for
 * string keys, and JSON.stringify's string escaping and number formatting are the ones
 * RFC 8785 prescribes. Values already in canonical order are reused, not copied. Anything
 * JSON.stringify would treat differently from the `canonicalize` package (toJSON, boxed
 * primitives, non-finite numbers, BigInt, array-index keys that V8 would reorder) throws
 * NotPlainJson; lone surrogates are caught on the output text.
 */
function canonicalOrder(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
    case 'function':
    case 'symbol':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotPlainJson();
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        let copy: unknown[] | null = null;
        for (let i = 0; i < value.length; i++) {
          const element: unknown = value[i];
          const ordered = typeof element === 'object' && element !== null ? canonicalOrder(element) : checkedPrimitive(element);
          if (ordered !== element) (copy ??= value.slice())[i] = ordered;
        }
        return copy ?? value;
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || value instanceof Number || value instanceof String || value instanceof Boolean) {
        throw new NotPlainJson();
      }
      const keys = Object.keys(value);
      let sorted = true;
      let nested = false;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const c = key.charCodeAt(0);
        if (c >= 48 && c <= 57) throw new NotPlainJson();
        if (i > 0 && keys[i - 1]! > key) sorted = false;
        const member = (value as Record<string, unknown>)[key];
        if (typeof member === 'object' && member !== null) nested = true;
        else checkedPrimitive(member);
      }
      if (sorted && !nested) return value;
      if (!sorted) keys.sort();
      const copy: Record<string, unknown> = {};
      for (const key of keys) copy[key] = canonicalOrder((value as Record<string, unknown>)[key]);
      return copy;
    }
    default:
      throw new NotPlainJson();
  }
}

function checkedPrimitive(value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new NotPlainJson();
  if (typeof value === 'bigint') throw new NotPlainJson();
  return value;
}

/** The canonical text of the record an event is stored as (see canonicalRecordText). */
function recordText(event: NewEvent, streamId: string, streamRevision: number, globalPosition: number, recordedAt: string): string {
  return canonicalRecordText({
    eventId: event.eventId,
    type: event.type,
    streamId,
    streamRevision,
    globalPosition,
    occurredAt: event.occurredAt,
    recordedAt,
    subjectId: event.subjectId,
    actor: event.actor,
    data: event.data,
    ...(event.pii === undefined ? {} : { pii: event.pii }),
    metadata: event.metadata,
  });
}

/**
 * Exactly the text of canonicalRecordBytes (src/integrity/chain.ts), built with one
 * JSON.stringify over a copy in canonical member order; anything unusual falls back to the
 * generic canonicaliser. (bench/dev/canonical-check.mjs checks the two agree.)
 */
export function canonicalRecordText(record: ChainedRecord): string {
  try {
    const ordered = {
      actor: canonicalOrder(record.actor),
      data: canonicalOrder(record.data),
      eventId: canonicalOrder(record.eventId),
      globalPosition: canonicalOrder(record.globalPosition),
      metadata: canonicalOrder(record.metadata),
      occurredAt: canonicalOrder(record.occurredAt),
      pii: canonicalOrder(record.pii),
      recordedAt: canonicalOrder(record.recordedAt),
      streamId: canonicalOrder(record.streamId),
      streamRevision: canonicalOrder(record.streamRevision),
      subjectId: canonicalOrder(record.subjectId),
      type: canonicalOrder(record.type),
    };
    const text = JSON.stringify(ordered);
    // JSON.stringify escapes a lone surrogate as \udXXX where canonicalize refuses it.
    if (text.includes('\\ud')) throw new NotPlainJson();
    return text;
  } catch (error) {
    if (!(error instanceof NotPlainJson) && !(error instanceof RangeError)) throw error;
    return canonicalRecordBytes(record).toString('utf8');
  }
}

let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * SHA-256(prevHash || UTF-8 record text) in one call, as hex (for the receipt). The hex
 * string lives on the JS heap, so the many short-lived digests do not each cost a native
 * allocation.
 */
function chainHashHex(prevHash: Buffer, text: string): string {
  const needed = 32 + text.length * 3;
  if (scratch.length < needed) scratch = Buffer.allocUnsafe(Math.max(needed, scratch.length * 2));
  prevHash.copy(scratch, 0, 0, 32);
  const n = scratch.write(text, 32, 'utf8');
  return oneShotHash('sha256', scratch.subarray(0, 32 + n), 'hex');
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
  // The parsed record becomes the event (no copy): it already has every ChainedRecord field.
  const event = JSON.parse(row.record) as ChainedRecord & { globalPosition: number; prevHash: string; hash: string; contentDigest: string };
  event.globalPosition = row.position;
  event.prevHash = row.prev_hash;
  event.hash = row.hash;
  event.contentDigest = row.digest;
  return event;
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
 * place) to schema 3 in one transaction: back-links, skip list, stream ids, every id sealed as
 * generation 0. The heads are recomputed from the log when the store opens (no snapshot yet).
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
  db.exec('INSERT INTO streams (stream_key, stream_id) SELECT stream_key, stream_id FROM streams_v1');
  const maxKey = (db.prepare('SELECT MAX(stream_key) AS k FROM streams').get() as { k: number | null }).k ?? 0;
  db.exec('DROP TABLE streams_v1');
  ids.sort((x, y) => x.k - y.k || x.position - y.position);
  if (ids.length > 0) {
    const insertId = db.prepare('INSERT OR IGNORE INTO event_ids (gen, k, position) VALUES (0, ?, ?)');
    for (const id of ids) insertId.run(id.k, id.position);
    db.prepare('INSERT INTO id_generations (gen, first_position, end_position) VALUES (0, 0, ?)').run(end);
  }
  db.prepare('INSERT INTO store_state (id, tail_start, heads_position, next_stream_key) VALUES (1, ?, 0, ?)').run(end, maxKey + 1);
}

/**
 * Reads the raw log of an embedded store read-only, in global order, without taking the
 * writer lock (the verifier runs beside a live service).
 */
export function* readRawLog(file: string): Generator<RawLogEntry> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // Raw rows (no object per row). The record comes as its own buffer (a BLOB copy), not a
    // slice of Node's shared buffer pool, so a consumer that keeps small buffers (a stream's
    // last hash) does not keep whole pool slabs full of old records alive.
    const rows = db.prepare('SELECT position, CAST(record AS BLOB), prev_hash, hash FROM events ORDER BY position').raw().iterate() as IterableIterator<
      [number, Buffer, Buffer, Buffer]
    >;
    for (const [position, record, prevHash, hash] of rows) yield { position, record, prevHash, hash };
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
