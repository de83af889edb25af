import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { EventStore, StoredEvent, Subscription } from '../event-store/event-store.port.js';
import type { Projection, RowChange } from '../../projections/projection.js';

export interface ProjectionRunnerOptions {
  /** The read-model file (projections.db); ':memory:' in unit tests. */
  readonly file: string;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
}

/** Events read per call during a rebuild, and events applied per transaction. */
const REBUILD_READ = 2048;
const REBUILD_TRANSACTION = 8192;

/** A plain secondary index: safe to build after the rows are in (nothing depends on it for constraints). */
const DEFERRABLE_INDEX = /^\s*CREATE\s+INDEX\s/i;

/**
 * Feeds every projection from the global log, in order, from its durable checkpoint.
 * A batch's row changes and the new checkpoint commit in one transaction, so a crash
 * never applies an event twice or skips one; a projection whose version changed is
 * rebuilt from position 0.
 */
export class ProjectionRunner {
  readonly db: Db;
  private subscription: Subscription | null = null;
  private processed = 0;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  private failure: unknown = null;
  private readonly statements = new Map<string, { statement: Statement; columns: string[] }>();
  private readonly saveCheckpoint: Statement;
  /** Each projection's durable checkpoint, as last committed (mirrors projection_checkpoints). */
  private readonly committed = new Map<string, number>();

  constructor(private readonly options: ProjectionRunnerOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    // Read models are rebuildable from the log: a lost tail after power loss is replayed.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -32768');
    // Fewer, larger WAL checkpoints: index pages written by many transactions are copied once.
    this.db.pragma('wal_autocheckpoint = 8192');
    this.db.exec(`CREATE TABLE IF NOT EXISTS projection_checkpoints (
      name TEXT PRIMARY KEY, version INTEGER NOT NULL, position INTEGER NOT NULL)`);
    this.saveCheckpoint = this.db.prepare(
      'INSERT INTO projection_checkpoints (name, version, position) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version, position = excluded.position',
    );
    this.prepareSchemas();
  }

  private prepareSchemas(): void {
    const current = this.db.prepare('SELECT version, position FROM projection_checkpoints WHERE name = ?');
    this.db.transaction(() => {
      for (const p of this.options.projections) {
        const row = current.get(p.name) as { version: number; position: number } | undefined;
        if (row && row.version !== p.version) this.dropTables(p);
        // Also re-creates indexes a rebuild interrupted before its end had not built yet.
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

  private dropTables(p: Projection): void {
    for (const table of p.tables) this.db.exec(`DROP TABLE IF EXISTS ${table}`);
  }

  /** Next global position each projection needs (its durable checkpoint). */
  checkpoints(): Map<string, number> {
    return new Map(this.committed);
  }

  /** The lowest checkpoint: every event before it is in every read model. */
  position(): number {
    return Math.min(...this.options.projections.map((p) => this.committed.get(p.name) ?? 0));
  }

  start(): void {
    if (this.subscription) return;
    const from = this.position();
    this.processed = from;
    this.subscription = this.options.store.subscribeToAll({
      fromPosition: from,
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

  /** Applies one batch to every projection that has not seen it, with the checkpoints, atomically. */
  applyBatch(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    const last = events[events.length - 1]!.globalPosition;
    const saved: Array<[string, number]> = [];
    this.db.transaction(() => {
      for (const p of this.options.projections) {
        const from = this.committed.get(p.name) ?? 0;
        if (last + 1 <= from) continue;
        for (const event of events) {
          if (event.globalPosition < from) continue;
          for (const change of p.fold(event)) this.write(change);
        }
        this.saveCheckpoint.run(p.name, p.version, last + 1);
        saved.push([p.name, last + 1]);
      }
    })();
    for (const [name, position] of saved) this.committed.set(name, position);
    this.advance(last + 1);
  }

  private advance(processed: number): void {
    this.processed = processed;
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.position <= processed);
    this.waiters = this.waiters.filter((w) => w.position > processed);
    for (const w of ready) w.resolve();
  }

  private write(change: RowChange): void {
    const row = change.row;
    let key = change.kind === 'upsert' ? 'u:' : 'i:';
    key += change.table;
    for (const column in row) key += `,${column}`;
    let prepared = this.statements.get(key);
    if (!prepared) {
      const columns = Object.keys(row);
      const verb = change.kind === 'upsert' ? 'INSERT OR REPLACE' : 'INSERT';
      prepared = {
        columns,
        statement: this.db.prepare(`${verb} INTO ${change.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`),
      };
      this.statements.set(key, prepared);
    }
    const { columns, statement } = prepared;
    const args = new Array<unknown>(columns.length);
    for (let i = 0; i < columns.length; i++) args[i] = row[columns[i]!] ?? null;
    statement.run(args);
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
   * Drops every read model and replays the whole log (`ledger rebuild`). The replay writes
   * rows only, in large transactions; plain secondary indexes are built once at the end
   * (sorting once is far cheaper than keeping random-key indexes up to date row by row).
   * A crash in between leaves consistent rows and checkpoints; the next start builds the
   * missing indexes and carries on from the checkpoint.
   */
  async rebuild(): Promise<void> {
    await this.stop();
    const deferred: string[] = [];
    this.db.transaction(() => {
      for (const p of this.options.projections) {
        this.dropTables(p);
        for (const ddl of p.schema) {
          if (DEFERRABLE_INDEX.test(ddl)) deferred.push(ddl);
          else this.db.exec(ddl);
        }
        this.saveCheckpoint.run(p.name, p.version, 0);
      }
    })();
    this.statements.clear();
    this.loadCheckpoints();
    this.processed = 0;

    const head = await this.options.store.headPosition();
    // Rows only, read and applied a read batch at a time inside transactions of
    // REBUILD_TRANSACTION events (few events alive at once: little for the GC to promote).
    try {
      let position = 0;
      while (position < head) {
        const end = Math.min(head, position + REBUILD_TRANSACTION);
        this.db.exec('BEGIN');
        try {
          for (let from = position; from < end; ) {
            const events = await this.options.store.readAll({ fromPosition: from, maxCount: Math.min(REBUILD_READ, end - from) });
            if (events.length === 0) break;
            for (const p of this.options.projections) {
              for (const event of events) for (const change of p.fold(event)) this.write(change);
            }
            from = events[events.length - 1]!.globalPosition + 1;
            position = from;
          }
          for (const p of this.options.projections) this.saveCheckpoint.run(p.name, p.version, position);
          this.db.exec('COMMIT');
        } catch (error) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          this.loadCheckpoints();
          throw error;
        }
        for (const p of this.options.projections) this.committed.set(p.name, position);
        this.advance(position);
        if (position < end) break;
      }
    } finally {
      // Index builds sort; let SQLite sort with a helper thread.
      this.db.pragma('threads = 2');
      for (const ddl of deferred) this.db.exec(ddl);
      this.db.pragma('threads = 0');
    }
    this.start();
    await this.waitForPosition(head, 24 * 3600_000);
  }

  async close(): Promise<void> {
    await this.stop();
    this.db.close();
  }
}
