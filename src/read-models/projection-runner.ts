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
  private readonly statements = new Map<string, Statement>();
  private readonly saveCheckpoint: Statement;

  constructor(private readonly options: ProjectionRunnerOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    // Read models are rebuildable from the log: a lost tail after power loss is replayed.
    this.db.pragma('synchronous = NORMAL');
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
        for (const ddl of p.schema) this.db.exec(ddl);
        if (!row || row.version !== p.version) this.saveCheckpoint.run(p.name, p.version, 0);
      }
    })();
  }

  private dropTables(p: Projection): void {
    for (const table of p.tables) this.db.exec(`DROP TABLE IF EXISTS ${table}`);
  }

  /** Next global position each projection needs (its durable checkpoint). */
  checkpoints(): Map<string, number> {
    const rows = this.db.prepare('SELECT name, position FROM projection_checkpoints').all() as Array<{ name: string; position: number }>;
    return new Map(rows.map((r) => [r.name, r.position]));
  }

  /** The lowest checkpoint: every event before it is in every read model. */
  position(): number {
    const checkpoints = this.checkpoints();
    return Math.min(...this.options.projections.map((p) => checkpoints.get(p.name) ?? 0));
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
    const checkpoints = this.checkpoints();
    const last = events[events.length - 1]!.globalPosition;
    this.db.transaction(() => {
      for (const p of this.options.projections) {
        const from = checkpoints.get(p.name) ?? 0;
        for (const event of events) {
          if (event.globalPosition < from) continue;
          for (const change of p.fold(event)) this.write(change);
        }
        if (last + 1 > from) this.saveCheckpoint.run(p.name, p.version, last + 1);
      }
    })();
    this.processed = last + 1;
    const ready = this.waiters.filter((w) => w.position <= this.processed);
    this.waiters = this.waiters.filter((w) => w.position > this.processed);
    for (const w of ready) w.resolve();
  }

  private write(change: RowChange): void {
    const columns = Object.keys(change.row);
    const key = `${change.kind}:${change.table}:${columns.join(',')}`;
    let statement = this.statements.get(key);
    if (!statement) {
      const verb = change.kind === 'upsert' ? 'INSERT OR REPLACE' : 'INSERT';
      statement = this.db.prepare(
        `${verb} INTO ${change.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      );
      this.statements.set(key, statement);
    }
    statement.run(...columns.map((c) => change.row[c] ?? null));
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

  /** Drops every read model and replays the whole log (`ledger rebuild`). */
  async rebuild(): Promise<void> {
    await this.stop();
    this.db.transaction(() => {
      for (const p of this.options.projections) {
        this.dropTables(p);
        for (const ddl of p.schema) this.db.exec(ddl);
        this.saveCheckpoint.run(p.name, p.version, 0);
      }
    })();
    this.statements.clear();
    const head = await this.options.store.headPosition();
    this.start();
    await this.waitForPosition(head, 24 * 3600_000);
  }

  async close(): Promise<void> {
    await this.stop();
    this.db.close();
  }
}
