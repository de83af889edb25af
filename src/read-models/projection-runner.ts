import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import type { EventStore, StoredEvent, Subscription } from '../event-store/event-store.port.js';
import type { LogBatch, LogConsumer } from '../event-store/log-feed.types.js';
import type { Projection } from '../../projections/projection.js';
import { LEDGER_PROJECTIONS } from '../../projections/index.js';
import { loadReadModels, splitSchema, type LoadPage } from './read-model-load.js';
import { workerPages } from './rebuild-pages.js';
import { RowWriter } from './row-writer.js';
import { SqliteLogReader } from './sqlite-log-reader.js';

export interface ProjectionRunnerOptions {
  /** The read-model file (projections.db); ':memory:' in unit tests. */
  readonly file: string;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  /**
   * The embedded store's file (events.db). A rebuild then reads the log from it directly,
   * read-only, and decodes and folds it in worker threads; without it (KurrentDB) a rebuild
   * reads through `store.readAll`.
   */
  readonly logFile?: string;
  /** Worker threads for a rebuild from `logFile` (default: one per CPU, at most 4; 0: none). */
  readonly rebuildWorkers?: number;
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
}

/** How a rebuild read the log: which reader, with how many worker threads, up to which position. */
export interface RebuildReport {
  /** Events loaded in bulk (the catch-up after it is not counted). */
  readonly events: number;
  /** 'workers': the log file, decoded and folded in worker threads; 'log-file': the same, in this thread. */
  readonly reader: 'workers' | 'log-file' | 'store';
  readonly workers: number;
  /** Wall time of the bulk load (rows and checkpoints) and of the deferred index builds after it. */
  readonly loadSeconds: number;
  readonly indexSeconds: number;
}

/**
 * Events per page a rebuild reads and folds at a time (one worker message). Small pages keep
 * each worker's live set inside its young generation.
 */
const REBUILD_PAGE = 1024;
/** Pages each rebuild worker may fold ahead of the writer (a page's rows are ~0.5 MB). */
const REBUILD_AHEAD = 4;
/**
 * SQLite page caches of a rebuild, in KiB. Rows are appended in rowid order, so loading needs
 * few hot pages; index builds sort in runs of the cache's size, and small runs measured both
 * faster and ~100 MB smaller than a 64 MB cache (which also bounds the sort's memory at 10M rows).
 */
const REBUILD_LOAD_CACHE_KIB = 8192;
const REBUILD_INDEX_CACHE_KIB = 2048;
const REBUILD_WORKER = new URL('./rebuild-worker.js', import.meta.url);

/**
 * Feeds every projection from the global log, in order, from its durable checkpoint. A batch's
 * row changes and the new checkpoints commit in one transaction, so a crash never applies an
 * event twice or skips one; a projection whose version changed is rebuilt from position 0.
 *
 * It is a consumer of the log feed (`apply`), and can follow the log on its own subscription
 * (`start`) where no feed drives it.
 */
export class ProjectionRunner implements LogConsumer {
  readonly name = 'projections';
  private connection!: Db;
  private writer!: RowWriter;
  private saveCheckpoint!: Statement;
  private applyInTransaction!: Transaction<(events: readonly StoredEvent[], first: number, next: number) => void>;
  private subscription: Subscription | null = null;
  /** The lowest committed checkpoint, as waitForPosition last saw it. */
  private processed = 0;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  private failure: unknown = null;
  /** Each projection's durable checkpoint, as last committed (mirrors projection_checkpoints). */
  private readonly committed = new Map<string, number>();

  constructor(private readonly options: ProjectionRunnerOptions) {
    if (options.file !== ':memory:') {
      mkdirSync(dirname(options.file), { recursive: true });
      // A rebuild that did not finish left only its own file: the read models are the old ones.
      removeDatabaseFiles(rebuildFileOf(options.file));
    }
    this.open();
  }

  /** The read-model connection (queries run on it). A file rebuild replaces it. */
  get db(): Db {
    return this.connection;
  }

  private open(): void {
    const db = new Database(this.options.file);
    db.pragma('journal_mode = WAL');
    // Read models are rebuildable from the log: a lost tail after power loss is replayed.
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -32768');
    // Fewer, larger WAL checkpoints: index pages written by many transactions are copied once.
    db.pragma('wal_autocheckpoint = 8192');
    createCheckpointTable(db);
    this.connection = db;
    this.saveCheckpoint = checkpointStatement(db);
    this.writer = new RowWriter(db);
    this.applyInTransaction = db.transaction((events, first, next) => this.applyRows(events, first, next));
    this.prepareSchemas();
    this.processed = this.position();
  }

  private prepareSchemas(): void {
    const current = this.db.prepare('SELECT version, position FROM projection_checkpoints WHERE name = ?');
    this.db.transaction(() => {
      for (const p of this.options.projections) {
        const row = current.get(p.name) as { version: number; position: number } | undefined;
        if (row && row.version !== p.version) dropTables(this.db, p);
        for (const ddl of p.schema) this.db.exec(ddl);
        if (!row || row.version !== p.version) this.saveCheckpoint.run(p.name, p.version, 0);
      }
    })();
    this.loadCheckpoints();
  }

  private loadCheckpoints(): void {
    const rows = this.db.prepare('SELECT name, position FROM projection_checkpoints').all() as Array<{ name: string; position: number }>;
    this.committed.clear();
    for (const r of rows) this.committed.set(r.name, r.position);
  }

  /** Next global position each projection needs (its durable checkpoint). */
  checkpoints(): Map<string, number> {
    return new Map(this.committed);
  }

  /** The lowest checkpoint: every event before it is in every read model. */
  position(): number {
    let lowest = Number.MAX_SAFE_INTEGER;
    for (const p of this.options.projections) lowest = Math.min(lowest, this.committed.get(p.name) ?? 0);
    return this.options.projections.length === 0 ? 0 : lowest;
  }

  /** Follows the log on its own subscription (where no log feed drives the runner). */
  start(): void {
    if (this.subscription) return;
    this.failure = null;
    this.subscription = this.options.store.subscribeToAll({
      fromPosition: this.position(),
      batchSize: this.options.batchSize ?? 1000,
      onEvents: (events) => this.applyBatch(events),
      onError: (error) => {
        this.failure = error;
        this.options.onError?.(error);
        for (const w of this.waiters) w.resolve();
        this.waiters = [];
      },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  /**
   * LogConsumer: applies a batch of the feed. Each projection skips the events before its
   * checkpoint and ends at batch.next; an empty batch only moves checkpoints (the feed set an
   * event aside). Rows and checkpoints commit in one transaction.
   */
  apply(batch: LogBatch): void {
    this.applyEvents(batch.events, batch.first, batch.next);
  }

  /** Applies consecutive events from the log (the runner's own subscription, a catch-up). */
  applyBatch(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    this.applyEvents(events, events[0]!.globalPosition, events[events.length - 1]!.globalPosition + 1);
  }

  private applyEvents(events: readonly StoredEvent[], first: number, next: number): void {
    if (next <= this.position()) return;
    this.applyInTransaction(events, first, next);
    for (const p of this.options.projections) if ((this.committed.get(p.name) ?? 0) < next) this.committed.set(p.name, next);
    this.advance(this.position());
  }

  /** Inside the batch's transaction: each projection's rows from its checkpoint, then the new checkpoint. */
  private applyRows(events: readonly StoredEvent[], first: number, next: number): void {
    for (const p of this.options.projections) {
      const from = this.committed.get(p.name) ?? 0;
      if (next <= from) continue;
      // A batch with events must reach back to the checkpoint: anything else would skip events.
      if (events.length > 0 && first > from) throw new Error(`batch starts at ${first}, after ${p.name}'s checkpoint ${from}`);
      for (const event of events) {
        if (event.globalPosition < from) continue;
        for (const change of p.fold(event)) this.writer.write(change);
      }
      this.saveCheckpoint.run(p.name, p.version, next);
    }
  }

  private advance(processed: number): void {
    this.processed = processed;
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.position <= processed);
    this.waiters = this.waiters.filter((w) => w.position > processed);
    for (const w of ready) w.resolve();
  }

  /**
   * Resolves once every event before `position` is in the read models (read-your-writes:
   * a query first waits for the log head it saw when it started).
   */
  async waitForPosition(position: number, timeoutMs = 5000): Promise<void> {
    if (this.failure) throw new Error('projections stopped after an error');
    if (this.processed >= position) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read models did not reach position ${position} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    if (this.failure) throw new Error('projections stopped after an error');
  }

  /**
   * Rebuilds every read model from the log (`ledger rebuild`), then catches up to the log head.
   *
   * A file's read models are built in a new file beside it, without a journal or syncs (rows
   * only, in large transactions; plain secondary indexes built once at the end, since sorting
   * once is far cheaper than keeping random-key indexes up to date row by row). Only when that
   * file is complete and on disk does it replace projections.db, by rename. A crash before the
   * rename leaves the old read models, with their own checkpoints, and a partial file that the
   * next start deletes; so no read model ever claims a checkpoint it does not hold.
   *
   * The runner's own subscription, if it was following, follows again afterwards.
   */
  async rebuild(): Promise<RebuildReport> {
    const following = this.subscription !== null;
    await this.stop();
    const report = this.options.file === ':memory:' ? await this.rebuildInPlace() : await this.rebuildIntoNewFile();
    await this.catchUp();
    if (following) this.start();
    return report;
  }

  private async rebuildIntoNewFile(): Promise<RebuildReport> {
    const file = this.options.file;
    const next = rebuildFileOf(file);
    removeDatabaseFiles(next);
    const db = new Database(next);
    let report: RebuildReport;
    try {
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma(`cache_size = -${REBUILD_LOAD_CACHE_KIB}`);
      createCheckpointTable(db);
      report = await this.load(db);
      // A plain rollback-journal file: the live connection turns it back to WAL when it opens it.
      db.pragma('journal_mode = DELETE');
      db.close();
    } catch (error) {
      if (db.open) db.close();
      removeDatabaseFiles(next);
      throw error;
    }
    fsyncPath(next);
    this.connection.close();
    try {
      // Closing the last connection checkpointed and removed the WAL; a stale one must not be
      // replayed onto the new file.
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
      renameSync(next, file);
      fsyncPath(dirname(file));
    } finally {
      // The new read models, or (the rename failed) the old ones again.
      this.open();
    }
    return report;
  }

  private async rebuildInPlace(): Promise<RebuildReport> {
    this.db.transaction(() => {
      for (const p of this.options.projections) dropTables(this.db, p);
    })();
    const report = await this.load(this.db);
    this.writer = new RowWriter(this.db);
    this.loadCheckpoints();
    this.advance(this.position());
    return report;
  }

  /** Creates the tables on `db`, bulk-loads the log into them, then builds the deferred indexes. */
  private async load(db: Db): Promise<RebuildReport> {
    const { projections } = this.options;
    const { tables, indexes } = splitSchema(projections);
    for (const ddl of tables) db.exec(ddl);
    const save = checkpointStatement(db);
    db.transaction(() => projections.forEach((p) => save.run(p.name, p.version, 0)))();
    const started = performance.now();
    const { pages, reader, workers } = await this.pages();
    const events = await loadReadModels(db, projections, pages, (p, position) => save.run(p.name, p.version, position));
    const loaded = performance.now();
    // Index builds sort; let SQLite sort with helper threads, in small runs.
    const cacheSize = db.pragma('cache_size', { simple: true }) as number;
    db.pragma('threads = 2');
    db.pragma(`cache_size = -${REBUILD_INDEX_CACHE_KIB}`);
    for (const ddl of indexes) db.exec(ddl);
    db.pragma('threads = 0');
    db.pragma(`cache_size = ${cacheSize}`);
    return { events, reader, workers, loadSeconds: (loaded - started) / 1000, indexSeconds: (performance.now() - loaded) / 1000 };
  }

  /** The pages of the log a rebuild loads: folded in worker threads where it can, else decoded here. */
  private async pages(): Promise<{ pages: AsyncIterable<LoadPage>; reader: RebuildReport['reader']; workers: number }> {
    const { logFile, store, projections } = this.options;
    if (logFile === undefined) {
      const end = await store.headPosition();
      return { pages: eventPages(end, (from, count) => store.readAll({ fromPosition: from, maxCount: count })), reader: 'store', workers: 0 };
    }
    const reader = new SqliteLogReader(logFile);
    const end = reader.end();
    const workers = Math.min(this.options.rebuildWorkers ?? Math.min(4, availableParallelism()), Math.ceil(end / REBUILD_PAGE));
    // Workers fold with the ledger's own projections (they import them), so only those qualify;
    // under a TypeScript test runner the compiled worker script is absent.
    if (workers > 0 && sameProjections(projections, LEDGER_PROJECTIONS) && existsSync(fileURLToPath(REBUILD_WORKER))) {
      reader.close();
      return { pages: workerPages({ script: REBUILD_WORKER, logFile, end, pageSize: REBUILD_PAGE, workers, ahead: REBUILD_AHEAD }), reader: 'workers', workers };
    }
    return { pages: closing(eventPages(end, async (from, count) => reader.read(from, count)), () => reader.close()), reader: 'log-file', workers: 0 };
  }

  /** Applies what the log gained since the bulk load, up to its head. */
  private async catchUp(): Promise<void> {
    const batch = this.options.batchSize ?? 1000;
    for (;;) {
      const head = await this.options.store.headPosition();
      const from = this.position();
      if (from >= head) return;
      const events = await this.options.store.readAll({ fromPosition: from, maxCount: Math.min(batch, head - from) });
      if (events.length === 0) return;
      this.applyBatch(events);
    }
  }

  async close(): Promise<void> {
    await this.stop();
    this.db.close();
  }
}

function createCheckpointTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name TEXT PRIMARY KEY, version INTEGER NOT NULL, position INTEGER NOT NULL)`);
}

function checkpointStatement(db: Db): Statement {
  return db.prepare(
    'INSERT INTO projection_checkpoints (name, version, position) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version, position = excluded.position',
  );
}

function dropTables(db: Db, p: Projection): void {
  for (const table of p.tables) db.exec(`DROP TABLE IF EXISTS ${table}`);
}

function sameProjections(a: readonly Projection[], b: readonly Projection[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

/** Pages of [0, end) read through `read`, REBUILD_PAGE events each. */
async function* eventPages(end: number, read: (from: number, count: number) => Promise<readonly StoredEvent[]>): AsyncGenerator<LoadPage> {
  for (let first = 0; first < end; ) {
    const events = await read(first, Math.min(REBUILD_PAGE, end - first));
    if (events[0]?.globalPosition !== first) throw new Error(`the log has no event at ${first}, before its head ${end}`);
    const next = events[events.length - 1]!.globalPosition + 1;
    yield { first, next, events };
    first = next;
  }
}

async function* closing<T>(pages: AsyncIterable<T>, close: () => void): AsyncGenerator<T> {
  try {
    yield* pages;
  } finally {
    close();
  }
}

function rebuildFileOf(file: string): string {
  return `${file}.rebuilding`;
}

function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

/** Flushes a file's (or a directory's entries') writes to disk. */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
