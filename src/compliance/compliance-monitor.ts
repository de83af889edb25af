import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { EventStore, StoredEvent, Subscription } from '../event-store/event-store.port.js';
import type { LogBatch, LogConsumer } from '../event-store/log-feed.types.js';
import type { LedgerEvent, ProcessingActivityRegistered } from '../ledger/domain/events.js';
import { REGISTER_STREAM } from '../ledger/domain/streams.js';
import { COMPLIANCE_RULES } from './rules/index.js';
import type { ComplianceRule, EvidenceRef, Finding, MonitorConfig, ScopeEvent } from './rule.js';

export interface Violation {
  readonly id: string;
  readonly rule: string;
  readonly article: string;
  readonly title: string;
  readonly scope: 'subject' | 'breach';
  readonly scopeId: string;
  readonly status: 'open' | 'resolved';
  /** When the violation began (the offending event, or the deadline that passed). */
  readonly openedAt: string;
  /** When the monitor first saw it. */
  readonly detectedAt: string;
  readonly resolvedAt: string | null;
  readonly evidence: readonly EvidenceRef[];
  readonly resolvedBy: readonly EvidenceRef[];
  /**
   * 'cured': a later event cured it (a late notice sent, data finally erased);
   * 'superseded': facts recorded after it opened show the duty was met in time
   * (e.g. a notice sent before the deadline but reported to the ledger late).
   */
  readonly resolution: 'cured' | 'superseded' | null;
  readonly detail: string;
}

export interface ComplianceMonitorOptions {
  readonly file: string;
  readonly store: EventStore;
  readonly clock: Clock;
  readonly config: MonitorConfig;
  readonly rules?: readonly ComplianceRule[];
  /** Seconds between deadline sweeps; 0 leaves sweeps to callers (reads sweep first). */
  readonly sweepSeconds?: number;
  /** Called once for every violation the monitor opens (alerts), after it is committed. */
  readonly onOpened?: (violation: Violation) => void;
  readonly onError?: (error: unknown) => void;
}

type Scope = 'subject' | 'breach';

interface ViolationRow {
  id: string;
  rule: string;
  scope: Scope;
  scope_id: string;
  status: 'open' | 'resolved';
  opened_at: string;
  detected_at: string;
  resolved_at: string | null;
  evidence: string;
  resolved_by: string;
  resolution: 'cured' | 'superseded' | null;
  detail: string;
  /** What an open violation no longer tracked by its rule's state waits for (Finding.awaiting). */
  awaiting: string | null;
}

/** Every rule's state of one scope, by rule id, as stored (JSON). */
type ScopeStates = Record<string, unknown>;

/** A scope a batch or a sweep works on: its states loaded once, judged once, stored once. */
interface ScopeWork {
  readonly scope: Scope;
  readonly scopeId: string;
  readonly states: ScopeStates;
  /** A row exists, or events were folded: the states are written back (a scope only named stays rowless). */
  keep: boolean;
}

/**
 * Bumped whenever a rule's state shape or meaning changes; with the rule ids and the
 * configuration it forms the version stored beside the states (see the class comment).
 */
const STATE_VERSION = 2;

const SUBJECT_STREAM_PREFIX = 'subject-';
const BREACH_STREAM_PREFIX = 'breach-';

/**
 * Derives violations from the log, at a cost that does not grow with a person's history
 * (DESIGN principle 8). It is a log consumer (principle 9) with its own durable checkpoint:
 * each batch's events are folded, in log order, into the states of the scopes they belong to
 * (a subject's stream, a breach's stream) — each rule judging an event against the register
 * as it stood just before it — then every touched scope is judged at the monitor's clock. A
 * sweep judges the scopes whose next deadline has passed (the due-time index), from their
 * stored state, so deadline rules fire with no new event. Nothing here reads the log: the
 * register is kept from the batches like everything else.
 *
 * A batch commits in one SQLite transaction: violations opened and resolved, the scopes'
 * states, their next deadlines, the register and the checkpoint. Every violation is stored
 * once by its id (rule, scope, key) and is never reopened: a judgement may cure it (with the
 * resolving evidence) or supersede it (facts recorded later show the duty was met in time).
 *
 * Versions and migration: the states are valid only for the rules and configuration they were
 * folded under (a configuration change must reach history, as a from-scratch evaluation
 * would). When compliance.db has no states (written before they were kept) or states of another
 * version, the monitor keeps its violations, forgets its states and folds the log again from
 * position 0 through the same apply() path, judging nothing until it is back where it was; it
 * then judges every scope once, at that moment, and continues. Violations stored before stay
 * as they are; only what that judgement newly finds is opened (and announced).
 */
export class ComplianceMonitor implements LogConsumer {
  readonly name = 'compliance';
  private readonly db: Db;
  private readonly rules: readonly ComplianceRule[];
  private readonly rulesOf: Readonly<Record<Scope, readonly ComplianceRule[]>>;
  private readonly register = new Map<string, ProcessingActivityRegistered>();
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The durable checkpoint: the next global position to fold. */
  private checkpoint: number;
  /** While rebuilding states: the checkpoint the monitor had, up to which nothing is judged. */
  private rebuildTo: number | null;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  private readonly stmt: Record<
    'get' | 'insert' | 'cure' | 'supersede' | 'awaitOn' | 'cureAwaiting' | 'state' | 'saveState' | 'deadline' | 'dropDeadline' | 'checkpoint' | 'registered',
    Statement
  >;

  constructor(private readonly options: ComplianceMonitorOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.rules = options.rules ?? COMPLIANCE_RULES;
    this.rulesOf = { subject: this.rules.filter((r) => r.scope === 'subject'), breach: this.rules.filter((r) => r.scope === 'breach') };
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS violations (
        id TEXT PRIMARY KEY, rule TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL,
        status TEXT NOT NULL, opened_at TEXT NOT NULL, detected_at TEXT NOT NULL, resolved_at TEXT,
        evidence TEXT NOT NULL, resolved_by TEXT NOT NULL, resolution TEXT, detail TEXT NOT NULL, awaiting TEXT);
      CREATE INDEX IF NOT EXISTS violations_by_scope ON violations(scope, scope_id);
      CREATE INDEX IF NOT EXISTS violations_by_opened ON violations(opened_at);
      CREATE TABLE IF NOT EXISTS scope_deadlines (scope TEXT NOT NULL, scope_id TEXT NOT NULL, next_deadline TEXT NOT NULL, PRIMARY KEY (scope, scope_id));
      CREATE INDEX IF NOT EXISTS scope_deadlines_by_time ON scope_deadlines(next_deadline);
      CREATE TABLE IF NOT EXISTS monitor_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS scope_states (scope TEXT NOT NULL, scope_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (scope, scope_id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS register_activities (activity_id TEXT PRIMARY KEY, activity TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS monitor_state (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL, rebuild_to INTEGER);
    `);
    // Written before violations could wait for a cure: the column is added, empty.
    const columns = this.db.prepare('PRAGMA table_info(violations)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'awaiting')) this.db.exec('ALTER TABLE violations ADD COLUMN awaiting TEXT');
    this.db.exec("CREATE INDEX IF NOT EXISTS violations_awaiting ON violations(rule, scope, scope_id, awaiting) WHERE status = 'open' AND awaiting IS NOT NULL");
    this.stmt = {
      get: this.db.prepare('SELECT * FROM violations WHERE id = ?'),
      insert: this.db.prepare(
        `INSERT INTO violations (id, rule, scope, scope_id, status, opened_at, detected_at, resolved_at, evidence, resolved_by, resolution, detail, awaiting)
         VALUES (@id, @rule, @scope, @scope_id, @status, @opened_at, @detected_at, @resolved_at, @evidence, @resolved_by, @resolution, @detail, @awaiting)`,
      ),
      cure: this.db.prepare("UPDATE violations SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution = 'cured' WHERE id = ? AND status = 'open'"),
      supersede: this.db.prepare("UPDATE violations SET status = 'resolved', resolved_at = ?, resolved_by = '[]', resolution = 'superseded' WHERE id = ? AND status = 'open'"),
      awaitOn: this.db.prepare("UPDATE violations SET awaiting = ? WHERE id = ? AND status = 'open' AND awaiting IS NULL"),
      // A curing fact after the violation opened (its deadline) cures it; at or before, the duty was met in time.
      cureAwaiting: this.db.prepare(
        `UPDATE violations SET status = 'resolved',
           resolution = CASE WHEN @at > opened_at THEN 'cured' ELSE 'superseded' END,
           resolved_at = CASE WHEN @at > opened_at THEN @at ELSE @now END,
           resolved_by = CASE WHEN @at > opened_at THEN @by ELSE '[]' END
         WHERE rule = @rule AND scope = @scope AND scope_id = @scopeId AND awaiting = @awaiting AND status = 'open'`,
      ),
      state: this.db.prepare('SELECT state FROM scope_states WHERE scope = ? AND scope_id = ?'),
      saveState: this.db.prepare('INSERT INTO scope_states (scope, scope_id, state) VALUES (?, ?, ?) ON CONFLICT(scope, scope_id) DO UPDATE SET state = excluded.state'),
      deadline: this.db.prepare(
        'INSERT INTO scope_deadlines (scope, scope_id, next_deadline) VALUES (?, ?, ?) ON CONFLICT(scope, scope_id) DO UPDATE SET next_deadline = excluded.next_deadline',
      ),
      dropDeadline: this.db.prepare('DELETE FROM scope_deadlines WHERE scope = ? AND scope_id = ?'),
      checkpoint: this.db.prepare('INSERT INTO monitor_checkpoint (id, position) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET position = excluded.position'),
      registered: this.db.prepare('INSERT INTO register_activities (activity_id, activity) VALUES (?, ?) ON CONFLICT(activity_id) DO UPDATE SET activity = excluded.activity'),
    };
    const { checkpoint, rebuildTo } = this.openStates();
    this.checkpoint = checkpoint;
    this.rebuildTo = rebuildTo;
    this.loadRegister();
  }

  /** The version the stored states must have: state shapes, the rules, and what they were judged under. */
  private stateVersion(): string {
    const { config } = this.options;
    const sorted = (s: ReadonlySet<string>) => [...s].sort();
    const basis = JSON.stringify({
      rules: this.rules.map((r) => r.id).sort(),
      childErasureDays: config.childErasureDays,
      breachSubjectNoticeHours: config.breachSubjectNoticeHours,
      consentPurposes: sorted(config.consentPurposes),
      adequateCountries: sorted(config.adequateCountries),
      eeaCountries: sorted(config.eeaCountries),
    });
    return `${STATE_VERSION}:${createHash('sha256').update(basis).digest('hex').slice(0, 16)}`;
  }

  /** Reads the checkpoint, and starts a rebuild when the stored states cannot be used (see the class comment). */
  private openStates(): { checkpoint: number; rebuildTo: number | null } {
    const version = this.stateVersion();
    const stored = this.db.prepare('SELECT version, rebuild_to FROM monitor_state WHERE id = 1').get() as { version: string; rebuild_to: number | null } | undefined;
    const checkpoint = (this.db.prepare('SELECT position FROM monitor_checkpoint WHERE id = 1').get() as { position: number } | undefined)?.position ?? 0;
    if (stored?.version === version) return { checkpoint, rebuildTo: stored.rebuild_to };
    const rebuildTo = Math.max(checkpoint, stored?.rebuild_to ?? 0);
    this.db.transaction(() => {
      if (rebuildTo > 0) {
        this.db.exec('DELETE FROM scope_states; DELETE FROM register_activities; DELETE FROM scope_deadlines;');
        this.stmt.checkpoint.run(0);
      }
      this.db
        .prepare('INSERT INTO monitor_state (id, version, rebuild_to) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version, rebuild_to = excluded.rebuild_to')
        .run(version, rebuildTo > 0 ? rebuildTo : null);
    })();
    return { checkpoint: rebuildTo > 0 ? 0 : checkpoint, rebuildTo: rebuildTo > 0 ? rebuildTo : null };
  }

  /** The register as it stood at the checkpoint, from compliance.db (kept there with the checkpoint). */
  private loadRegister(): void {
    this.register.clear();
    for (const row of this.db.prepare('SELECT activity FROM register_activities ORDER BY rowid').all() as Array<{ activity: string }>) {
      const activity = JSON.parse(row.activity) as ProcessingActivityRegistered;
      this.register.set(activity.activityId, activity);
    }
  }

  /** The next global position this monitor needs: its durable checkpoint. */
  position(): number {
    return this.checkpoint;
  }

  /** Deadline sweeps on a timer (sweepSeconds; none when 0). */
  startSweeps(): void {
    if (this.timer) return;
    const seconds = this.options.sweepSeconds ?? 30;
    if (seconds <= 0) return;
    this.timer = setInterval(() => void this.sweep().catch((error: unknown) => this.options.onError?.(error)), seconds * 1000);
    this.timer.unref();
  }

  /** Sweeps, and follows the log with a subscription of its own until the shared log feed drives apply(). */
  start(): void {
    this.startSweeps();
    if (this.subscription) return;
    this.subscription = this.options.store.subscribeToAll({
      fromPosition: this.position(),
      onEvents: (events) => {
        const first = events[0]?.globalPosition ?? this.position();
        return this.apply({ events, records: [], first, next: first + events.length });
      },
      onError: (error) => this.options.onError?.(error),
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.subscription?.stop();
    this.subscription = null;
    this.db.close();
  }

  async waitForPosition(position: number, timeoutMs = 10_000): Promise<void> {
    if (this.checkpoint >= position) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`compliance monitor did not reach position ${position}`)), timeoutMs);
      this.waiters.push({ position, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /**
   * Folds a batch of the log into the states of the scopes it touches, judges those scopes,
   * and commits everything with the new checkpoint (batch.next) in one transaction. Events
   * before position() are skipped; a batch that starts after it would leave a gap and is
   * refused. Alerts go out after the commit.
   */
  apply(batch: LogBatch): void {
    const from = this.checkpoint;
    if (batch.next <= from) return;
    const firstEvent = batch.events[0];
    if (firstEvent && firstEvent.globalPosition > from) {
      throw new Error(`compliance monitor at position ${from} was handed a batch starting at ${firstEvent.globalPosition}`);
    }
    const now = this.options.clock().toISOString();
    const opened: Violation[] = [];
    let rebuildTo = this.rebuildTo;
    try {
      this.db.transaction(() => {
        let work = new Map<string, ScopeWork>();
        const finishRebuild = () => {
          this.keepStates(work);
          work = new Map();
          this.judgeEveryScope(now, opened);
          this.db.prepare('UPDATE monitor_state SET rebuild_to = NULL WHERE id = 1').run();
          rebuildTo = null;
        };
        for (const e of batch.events) {
          if (e.globalPosition < from) continue;
          if (rebuildTo !== null && e.globalPosition >= rebuildTo) finishRebuild();
          this.fold(e, work);
        }
        if (rebuildTo !== null && batch.next >= rebuildTo) finishRebuild();
        if (rebuildTo === null) for (const w of work.values()) this.judgeScope(w, now, opened);
        this.keepStates(work);
        this.stmt.checkpoint.run(batch.next);
      })();
    } catch (error) {
      // The register in memory ran ahead of the rolled-back transaction.
      this.loadRegister();
      throw error;
    }
    this.checkpoint = batch.next;
    this.rebuildTo = rebuildTo;
    this.announce(opened);
    const ready = this.waiters.filter((w) => w.position <= this.checkpoint);
    this.waiters = this.waiters.filter((w) => w.position > this.checkpoint);
    for (const w of ready) w.resolve();
  }

  /** Judges the scopes whose next deadline has passed, from their stored state. Returns how many. */
  async sweep(): Promise<number> {
    // Until a rebuild is back at its old checkpoint, states are partial and deadlines unknown.
    if (this.rebuildTo !== null) return 0;
    const now = this.options.clock().toISOString();
    const opened: Violation[] = [];
    const due = this.db.transaction(() => {
      const rows = this.db.prepare('SELECT scope, scope_id FROM scope_deadlines WHERE next_deadline <= ?').all(now) as Array<{ scope: Scope; scope_id: string }>;
      const work = new Map<string, ScopeWork>();
      for (const d of rows) this.judgeScope(this.scopeWork(work, d.scope, d.scope_id), now, opened);
      this.keepStates(work);
      return rows.length;
    })();
    this.announce(opened);
    return due;
  }

  /** Judges one scope from its stored state at the monitor's clock and stores what is new. */
  async evaluate(scope: Scope, scopeId: string): Promise<void> {
    if (this.rebuildTo !== null) return;
    const now = this.options.clock().toISOString();
    const opened: Violation[] = [];
    this.db.transaction(() => {
      const work = new Map<string, ScopeWork>();
      this.judgeScope(this.scopeWork(work, scope, scopeId), now, opened);
      this.keepStates(work);
    })();
    this.announce(opened);
  }

  /** One scope's stored rule states (by rule id), for diagnostics and tests; null when it has none. */
  scopeState(scope: Scope, scopeId: string): Readonly<Record<string, unknown>> | null {
    const row = this.stmt.state.get(scope, scopeId) as { state: string } | undefined;
    return row ? (JSON.parse(row.state) as Record<string, unknown>) : null;
  }

  private announce(opened: readonly Violation[]): void {
    for (const v of opened) this.options.onOpened?.(v);
  }

  /**
   * Folds one event: a registration changes the register for every later event; any other
   * event is folded by the rules of the scope whose stream it is on. A subject named by an event
   * is judged after the batch even when the event is on another stream.
   */
  private fold(e: StoredEvent, work: Map<string, ScopeWork>): void {
    if (e.streamId === REGISTER_STREAM) {
      if (e.type !== 'ProcessingActivityRegistered') return;
      const activity = e.data as unknown as ProcessingActivityRegistered;
      this.register.set(activity.activityId, activity);
      this.stmt.registered.run(activity.activityId, JSON.stringify(activity));
      return;
    }
    if (e.subjectId !== null) this.scopeWork(work, 'subject', e.subjectId);
    const home = scopeOfStream(e.streamId);
    if (!home) return;
    const w = this.scopeWork(work, home.scope, home.scopeId);
    const scoped: ScopeEvent = { event: e as unknown as LedgerEvent, globalPosition: e.globalPosition };
    for (const rule of this.rulesOf[home.scope]) w.states[rule.id] = rule.evolve(w.states[rule.id] ?? rule.initial(), scoped, this.register, this.options.config);
    w.keep = true;
  }

  /** The scope's work item in this unit, its states loaded on first use. */
  private scopeWork(work: Map<string, ScopeWork>, scope: Scope, scopeId: string): ScopeWork {
    const key = `${scope}:${scopeId}`;
    let w = work.get(key);
    if (!w) {
      const row = this.stmt.state.get(scope, scopeId) as { state: string } | undefined;
      w = { scope, scopeId, states: row ? (JSON.parse(row.state) as ScopeStates) : {}, keep: row !== undefined };
      work.set(key, w);
    }
    return w;
  }

  private keepStates(work: ReadonlyMap<string, ScopeWork>): void {
    for (const w of work.values()) if (w.keep) this.stmt.saveState.run(w.scope, w.scopeId, JSON.stringify(w.states));
  }

  /** The end of a rebuild: every scope with a state judged once. */
  private judgeEveryScope(now: string, opened: Violation[]): void {
    const scopes = this.db.prepare('SELECT scope, scope_id FROM scope_states').all() as Array<{ scope: Scope; scope_id: string }>;
    const work = new Map<string, ScopeWork>();
    for (const s of scopes) this.judgeScope(this.scopeWork(work, s.scope, s.scope_id), now, opened);
    this.keepStates(work);
  }

  /**
   * Judges every rule of a scope and stores what it shows: cures first (they resolve violations
   * stored by earlier judgements), then findings (new ones opened, open ones cured), then
   * cleared keys (open ones superseded); the kept states and the scope's next deadline.
   */
  private judgeScope(w: ScopeWork, now: string, opened: Violation[]): void {
    let nextDeadline: string | null = null;
    for (const rule of this.rulesOf[w.scope]) {
      const judgement = rule.judge(w.states[rule.id] ?? rule.initial(), now, this.options.config);
      for (const cure of judgement.cures) {
        this.stmt.cureAwaiting.run({ at: cure.at, now, by: JSON.stringify(cure.by), rule: rule.id, scope: w.scope, scopeId: w.scopeId, awaiting: cure.awaiting });
      }
      for (const finding of judgement.findings) {
        const violation = this.store(rule, w.scope, w.scopeId, finding, now);
        if (violation) opened.push(violation);
      }
      for (const key of judgement.cleared) this.stmt.supersede.run(now, `${rule.id}:${w.scope}:${w.scopeId}:${key}`);
      w.states[rule.id] = judgement.state;
      const deadline = judgement.nextDeadline;
      if (deadline !== null && (nextDeadline === null || deadline < nextDeadline)) nextDeadline = deadline;
    }
    if (nextDeadline !== null) this.stmt.deadline.run(w.scope, w.scopeId, nextDeadline);
    else this.stmt.dropDeadline.run(w.scope, w.scopeId);
  }

  /** Inserts a new violation (returned, to alert) or resolves an open one; never reopens. */
  private store(rule: ComplianceRule, scope: Scope, scopeId: string, finding: Finding, now: string): Violation | null {
    const id = `${rule.id}:${scope}:${scopeId}:${finding.key}`;
    const existing = this.stmt.get.get(id) as ViolationRow | undefined;
    if (existing) {
      if (existing.status !== 'open') return null;
      if (finding.resolvedAt) this.stmt.cure.run(finding.resolvedAt, JSON.stringify(finding.resolvedBy ?? []), id);
      // A violation opened before it could wait for a cure (a rebuilt state) learns what it waits for.
      else if (finding.awaiting !== undefined && existing.awaiting === null) this.stmt.awaitOn.run(finding.awaiting, id);
      return null;
    }
    const row: ViolationRow = {
      id,
      rule: rule.id,
      scope,
      scope_id: scopeId,
      status: finding.resolvedAt ? 'resolved' : 'open',
      opened_at: finding.openedAt,
      detected_at: now,
      resolved_at: finding.resolvedAt ?? null,
      evidence: JSON.stringify(finding.evidence),
      resolved_by: JSON.stringify(finding.resolvedBy ?? []),
      resolution: finding.resolvedAt ? 'cured' : null,
      detail: finding.detail,
      awaiting: finding.resolvedAt ? null : (finding.awaiting ?? null),
    };
    this.stmt.insert.run(row);
    return this.toViolation(row);
  }

  toViolation(row: ViolationRow): Violation {
    const rule = this.rules.find((r) => r.id === row.rule);
    return {
      id: row.id,
      rule: row.rule,
      article: rule?.article ?? '',
      title: rule?.title ?? row.rule,
      scope: row.scope,
      scopeId: row.scope_id,
      status: row.status,
      openedAt: row.opened_at,
      detectedAt: row.detected_at,
      resolvedAt: row.resolved_at,
      evidence: JSON.parse(row.evidence) as EvidenceRef[],
      resolvedBy: JSON.parse(row.resolved_by) as EvidenceRef[],
      resolution: row.resolution,
      detail: row.detail,
    };
  }

  list(filters: { status?: 'open' | 'resolved'; rule?: string; subjectId?: string; breachId?: string; from?: string; to?: string; after?: string; limit: number }): Violation[] {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const add = (sql: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    add('status = ?', filters.status);
    add('rule = ?', filters.rule);
    if (filters.subjectId !== undefined) add("scope = 'subject' AND scope_id = ?", filters.subjectId);
    if (filters.breachId !== undefined) add("scope = 'breach' AND scope_id = ?", filters.breachId);
    add('opened_at >= ?', filters.from);
    add('opened_at < ?', filters.to);
    add('(opened_at, id) > (SELECT opened_at, id FROM violations WHERE id = ?)', filters.after);
    const rows = this.db
      .prepare(`SELECT * FROM violations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at, id LIMIT ?`)
      .all(...params, filters.limit) as ViolationRow[];
    return rows.map((r) => this.toViolation(r));
  }

  get(id: string): Violation | null {
    const row = this.stmt.get.get(id) as ViolationRow | undefined;
    return row ? this.toViolation(row) : null;
  }
}

/** The scope whose history a stream is: `subject-<id>` or `breach-<id>`; other streams belong to none. */
function scopeOfStream(streamId: string): { scope: Scope; scopeId: string } | null {
  if (streamId.startsWith(SUBJECT_STREAM_PREFIX)) return { scope: 'subject', scopeId: streamId.slice(SUBJECT_STREAM_PREFIX.length) };
  if (streamId.startsWith(BREACH_STREAM_PREFIX)) return { scope: 'breach', scopeId: streamId.slice(BREACH_STREAM_PREFIX.length) };
  return null;
}
