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
  /** How many scopes' decoded states to keep in memory between batches (default 100 000; 0 keeps none). */
  readonly cacheScopes?: number;
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

/** Every rule's state of one scope, by rule id, as stored (JSON); a rule at its initial state is left out. */
type ScopeStates = Record<string, unknown>;

/**
 * One scope as compliance.db holds it after the last committed unit, kept decoded in memory (the
 * scope cache) so a batch neither reads nor re-encodes the states it does not change. Never
 * mutated: a unit of work builds the next one, which replaces it only when the unit commits.
 */
interface ScopeRecord {
  /** The rules' states by rule id; a rule left out is at its initial state. */
  readonly states: Readonly<ScopeStates>;
  /** Each state of `states` as stored (JSON), by rule id. */
  readonly texts: Readonly<Record<string, string>>;
  /** compliance.db has a row of states for the scope. */
  readonly row: boolean;
  /**
   * When `states` are what the judgement at this moment returned: each rule's next deadline from
   * it (by rule id; left out when null). Null when they were not judged since they were loaded
   * or folded, so every rule must be judged before one can be skipped.
   */
  readonly judged: { readonly at: string; readonly deadlines: Readonly<Record<string, string>> } | null;
  /** The scope's next deadline as stored (undefined when not known: not read when the states were). */
  readonly deadline: string | null | undefined;
}

/** A scope a batch or a sweep works on: its states loaded once, judged once, stored once. */
interface ScopeWork {
  readonly key: string;
  readonly scope: Scope;
  readonly scopeId: string;
  /** The scope as the database holds it before this unit. */
  readonly base: ScopeRecord;
  /** The states being folded and judged (a copy of the base's; rule states themselves are never mutated). */
  readonly states: ScopeStates;
  /** A row exists, or events were folded: the states are written back (a scope only named stays rowless). */
  keep: boolean;
  /** What this unit's judgement left: deadlines by rule (as in ScopeRecord.judged), or null when not judged. */
  judged: ScopeRecord['judged'];
  deadline: string | null | undefined;
}

const NONE: Readonly<Record<string, never>> = Object.freeze({});

/** A bounded map of the most recently used scopes (Map order is use order). */
class ScopeCache {
  private readonly map = new Map<string, ScopeRecord>();
  constructor(private readonly limit: number) {}

  get(key: string): ScopeRecord | undefined {
    const found = this.map.get(key);
    if (found !== undefined) {
      this.map.delete(key);
      this.map.set(key, found);
    }
    return found;
  }

  set(key: string, record: ScopeRecord): void {
    this.map.delete(key);
    if (this.limit <= 0) return;
    this.map.set(key, record);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value as string);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
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
  /** The scopes as committed (see ScopeRecord). */
  private readonly cache: ScopeCache;
  /** Scopes written by the unit of work in progress: they reach the cache when it commits, and are dropped when it throws. */
  private pending = new Map<string, ScopeRecord>();
  private readonly ruleById: ReadonlyMap<string, ComplianceRule>;
  /** Each rule's initial state (shared: states are never mutated) and its stored form, by rule id. */
  private readonly initials: ReadonlyMap<string, { readonly state: unknown; readonly text: string }>;
  private readonly stmt: Record<
    'get' | 'insert' | 'cure' | 'supersede' | 'awaitOn' | 'cureAwaiting' | 'state' | 'saveState' | 'deadline' | 'dropDeadline' | 'checkpoint' | 'registered' | 'due',
    Statement
  >;

  constructor(private readonly options: ComplianceMonitorOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.rules = options.rules ?? COMPLIANCE_RULES;
    this.rulesOf = { subject: this.rules.filter((r) => r.scope === 'subject'), breach: this.rules.filter((r) => r.scope === 'breach') };
    this.ruleById = new Map(this.rules.map((r) => [r.id, r]));
    this.initials = new Map(
      this.rules.map((r) => {
        const state = r.initial();
        return [r.id, { state, text: JSON.stringify(state) }];
      }),
    );
    this.cache = new ScopeCache(options.cacheScopes ?? 100_000);
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // The violations' indexes take random inserts (by id, by scope): keep their pages in memory
    // (32 MiB) and checkpoint the WAL in larger steps, so a batch rewrites few pages.
    this.db.pragma('cache_size = -32768');
    this.db.pragma('wal_autocheckpoint = 8192');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS violations (
        id TEXT PRIMARY KEY, rule TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL,
        status TEXT NOT NULL, opened_at TEXT NOT NULL, detected_at TEXT NOT NULL, resolved_at TEXT,
        evidence TEXT NOT NULL, resolved_by TEXT NOT NULL, resolution TEXT, detail TEXT NOT NULL, awaiting TEXT);
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
    // A scope's violations are found by their ids (`<rule>:<scope>:<scopeId>:<key>`, so the primary
    // key orders them by rule and scope) for every rule that ever stored one; an index by scope
    // would take a random insert per violation for nothing.
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'violation_rules'").get()) {
      this.db.exec('CREATE TABLE violation_rules (rule TEXT PRIMARY KEY) WITHOUT ROWID; INSERT OR IGNORE INTO violation_rules (rule) SELECT DISTINCT rule FROM violations;');
    }
    const addRule = this.db.prepare('INSERT OR IGNORE INTO violation_rules (rule) VALUES (?)');
    for (const rule of this.rules) addRule.run(rule.id);
    this.db.exec('DROP INDEX IF EXISTS violations_by_scope');
    this.db.exec("CREATE INDEX IF NOT EXISTS violations_awaiting ON violations(rule, scope, scope_id, awaiting) WHERE status = 'open' AND awaiting IS NOT NULL");
    this.stmt = {
      get: this.db.prepare('SELECT * FROM violations WHERE id = ?'),
      insert: this.db.prepare(
        `INSERT INTO violations (id, rule, scope, scope_id, status, opened_at, detected_at, resolved_at, evidence, resolved_by, resolution, detail, awaiting)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO NOTHING`,
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
      due: this.db.prepare('SELECT scope, scope_id FROM scope_deadlines WHERE next_deadline <= ?'),
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
    this.unit(
      () => {
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
        if (rebuildTo === null) for (const w of work.values()) this.judgeScope(w, now, opened, false);
        this.keepStates(work);
        this.stmt.checkpoint.run(batch.next);
      },
      // The register in memory ran ahead of the rolled-back transaction.
      () => this.loadRegister(),
    );
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
    const due = this.unit(() => {
      const rows = this.stmt.due.all(now) as Array<{ scope: Scope; scope_id: string }>;
      const work = new Map<string, ScopeWork>();
      for (const d of rows) this.judgeScope(this.scopeWork(work, d.scope, d.scope_id), now, opened, false);
      this.keepStates(work);
      return rows.length;
    });
    this.announce(opened);
    return due;
  }

  /** Judges one scope from its stored state at the monitor's clock (every rule) and stores what is new. */
  async evaluate(scope: Scope, scopeId: string): Promise<void> {
    if (this.rebuildTo !== null) return;
    const now = this.options.clock().toISOString();
    const opened: Violation[] = [];
    this.unit(() => {
      const work = new Map<string, ScopeWork>();
      this.judgeScope(this.scopeWork(work, scope, scopeId), now, opened, true);
      this.keepStates(work);
    });
    this.announce(opened);
  }

  /**
   * One scope's stored rule states (by rule id; a rule at its initial state is not stored and
   * shows its initial state), for diagnostics and tests; null when it has none.
   */
  scopeState(scope: Scope, scopeId: string): Readonly<Record<string, unknown>> | null {
    const row = this.stmt.state.get(scope, scopeId) as { state: string } | undefined;
    if (!row) return null;
    const initial = Object.fromEntries(this.rulesOf[scope].map((r) => [r.id, r.initial()]));
    return { ...initial, ...(JSON.parse(row.state) as Record<string, unknown>) };
  }

  private announce(opened: readonly Violation[]): void {
    for (const v of opened) this.options.onOpened?.(v);
  }

  /**
   * Runs one unit of work (a batch, a sweep, an evaluation) in one transaction. The scopes it
   * writes reach the scope cache only once it has committed: when it throws, the cache still
   * holds what the database holds.
   */
  private unit<T>(body: () => T, onThrow?: () => void): T {
    this.pending = new Map();
    let result: T;
    try {
      result = this.db.transaction(body)();
    } catch (error) {
      this.pending = new Map();
      onThrow?.();
      throw error;
    }
    for (const [key, record] of this.pending) this.cache.set(key, record);
    this.pending = new Map();
    return result;
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
    const { states } = w;
    for (const rule of this.rulesOf[home.scope]) {
      const before = states[rule.id] ?? this.initialOf(rule.id);
      const after = rule.evolve(before, scoped, this.register, this.options.config);
      if (after !== before) {
        states[rule.id] = after;
        // Folded since it was judged: nothing of that judgement stands for this scope any more.
        w.judged = null;
      }
    }
    w.keep = true;
  }

  private initialOf(ruleId: string): unknown {
    return this.initials.get(ruleId)?.state;
  }

  /** The scope's work item in this unit: its states from this unit, the cache or the database, on first use. */
  private scopeWork(work: Map<string, ScopeWork>, scope: Scope, scopeId: string): ScopeWork {
    const key = `${scope}:${scopeId}`;
    let w = work.get(key);
    if (!w) {
      const base = this.pending.get(key) ?? this.cache.get(key) ?? this.loadScope(scope, scopeId);
      w = { key, scope, scopeId, base, states: { ...base.states }, keep: base.row, judged: base.judged, deadline: base.deadline };
      work.set(key, w);
    }
    return w;
  }

  /** A scope as compliance.db holds it (rules at their initial state left out), not yet judged. */
  private loadScope(scope: Scope, scopeId: string): ScopeRecord {
    const row = this.stmt.state.get(scope, scopeId) as { state: string } | undefined;
    if (!row) return { states: NONE, texts: NONE, row: false, judged: null, deadline: undefined };
    const states: ScopeStates = {};
    const texts: Record<string, string> = {};
    for (const [id, state] of Object.entries(JSON.parse(row.state) as ScopeStates)) {
      const text = JSON.stringify(state);
      if (text === this.initials.get(id)?.text) continue;
      states[id] = state;
      texts[id] = text;
    }
    return { states, texts, row: true, judged: null, deadline: undefined };
  }

  /**
   * Writes the states of the unit's scopes that changed (by their stored form), and a row for a
   * scope that events were folded into for the first time; stages the scopes for the cache.
   */
  private keepStates(work: ReadonlyMap<string, ScopeWork>): void {
    for (const w of work.values()) {
      const { base, states } = w;
      let texts = base.texts;
      let changed = false;
      const edit = (): Record<string, string> => {
        if (!changed) texts = { ...texts };
        changed = true;
        return texts as Record<string, string>;
      };
      for (const id of Object.keys(states)) {
        const state = states[id];
        if (state === base.states[id]) continue;
        const text = JSON.stringify(state);
        // Back at its initial state: not stored (dropped from the texts below).
        if (text === this.initials.get(id)?.text) delete states[id];
        // The same state as stored: the stored object is kept.
        else if (text === base.texts[id]) states[id] = base.states[id];
        else edit()[id] = text;
      }
      for (const id of Object.keys(base.texts)) if (!(id in states)) delete edit()[id];
      const row = base.row || w.keep;
      if (w.keep && (changed || !base.row)) this.stmt.saveState.run(w.scope, w.scopeId, encodeStates(texts));
      this.pending.set(w.key, { states, texts, row, judged: w.judged, deadline: w.deadline });
    }
  }

  /** The end of a rebuild: every scope with a state judged once. */
  private judgeEveryScope(now: string, opened: Violation[]): void {
    const scopes = this.db.prepare('SELECT scope, scope_id FROM scope_states').all() as Array<{ scope: Scope; scope_id: string }>;
    const work = new Map<string, ScopeWork>();
    for (const s of scopes) this.judgeScope(this.scopeWork(work, s.scope, s.scope_id), now, opened, true);
    this.keepStates(work);
  }

  /**
   * Judges the rules of a scope and stores what they show: cures first (they resolve violations
   * stored by earlier judgements), then findings (new ones opened, open ones cured), then
   * cleared keys (open ones superseded); the kept states and the scope's next deadline.
   *
   * A rule whose state is the one its last judgement returned, judged at or before `now`, and
   * whose next deadline has not come, is not judged again (unless `all`): judgements are pure,
   * and such a state shows nothing new before its deadline.
   */
  private judgeScope(w: ScopeWork, now: string, opened: Violation[], all: boolean): void {
    const last = all ? null : w.base.judged;
    const valid = last !== null && now >= last.at;
    let nextDeadline: string | null = null;
    const deadlines: Record<string, string> = {};
    let anyDeadline = false;
    for (const rule of this.rulesOf[w.scope]) {
      const id = rule.id;
      let deadline: string | null;
      const state = w.states[id];
      const lastDeadline = valid ? last.deadlines[id] : undefined;
      if (valid && state === w.base.states[id] && (lastDeadline === undefined || now < lastDeadline)) {
        deadline = lastDeadline ?? null;
      } else {
        const judgement = rule.judge(state ?? this.initialOf(id), now, this.options.config);
        for (const cure of judgement.cures) {
          this.stmt.cureAwaiting.run({ at: cure.at, now, by: JSON.stringify(cure.by), rule: id, scope: w.scope, scopeId: w.scopeId, awaiting: cure.awaiting });
        }
        for (const finding of judgement.findings) {
          const violation = this.store(rule, w.scope, w.scopeId, finding, now);
          if (violation) opened.push(violation);
        }
        for (const key of judgement.cleared) this.stmt.supersede.run(now, `${id}:${w.scope}:${w.scopeId}:${key}`);
        if (judgement.state !== state) w.states[id] = judgement.state;
        deadline = judgement.nextDeadline;
      }
      if (deadline !== null) {
        deadlines[id] = deadline;
        anyDeadline = true;
        if (nextDeadline === null || deadline < nextDeadline) nextDeadline = deadline;
      }
    }
    w.judged = { at: now, deadlines: anyDeadline ? deadlines : NONE };
    if (w.deadline === nextDeadline) return;
    if (nextDeadline !== null) this.stmt.deadline.run(w.scope, w.scopeId, nextDeadline);
    else this.stmt.dropDeadline.run(w.scope, w.scopeId);
    w.deadline = nextDeadline;
  }

  /** Inserts a new violation (returned, to alert) or resolves an open one; never reopens. */
  private store(rule: ComplianceRule, scope: Scope, scopeId: string, finding: Finding, now: string): Violation | null {
    const id = `${rule.id}:${scope}:${scopeId}:${finding.key}`;
    const resolvedBy = finding.resolvedBy ?? [];
    const resolvedAt = finding.resolvedAt ?? null;
    const resolvedByText = JSON.stringify(resolvedBy);
    // Most findings are new: one statement opens them, and only one stored before is read.
    const inserted = this.stmt.insert.run(
      id,
      rule.id,
      scope,
      scopeId,
      resolvedAt ? 'resolved' : 'open',
      finding.openedAt,
      now,
      resolvedAt,
      JSON.stringify(finding.evidence),
      resolvedByText,
      resolvedAt ? 'cured' : null,
      finding.detail,
      resolvedAt ? null : (finding.awaiting ?? null),
    );
    if (inserted.changes > 0) {
      return {
        id,
        rule: rule.id,
        article: rule.article,
        title: rule.title,
        scope,
        scopeId,
        status: resolvedAt ? 'resolved' : 'open',
        openedAt: finding.openedAt,
        detectedAt: now,
        resolvedAt,
        evidence: finding.evidence,
        resolvedBy,
        resolution: resolvedAt ? 'cured' : null,
        detail: finding.detail,
      };
    }
    const existing = this.stmt.get.get(id) as ViolationRow | undefined;
    if (!existing || existing.status !== 'open') return null;
    if (resolvedAt) this.stmt.cure.run(resolvedAt, resolvedByText, id);
    // A violation opened before it could wait for a cure (a rebuilt state) learns what it waits for.
    else if (finding.awaiting !== undefined && existing.awaiting === null) this.stmt.awaitOn.run(finding.awaiting, id);
    return null;
  }

  toViolation(row: ViolationRow): Violation {
    const rule = this.ruleById.get(row.rule);
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
    const inScope = (scope: Scope, scopeId: string | undefined) => {
      if (scopeId === undefined) return;
      const rules = (this.db.prepare('SELECT rule FROM violation_rules ORDER BY rule').all() as Array<{ rule: string }>).map((r) => r.rule);
      // The primary key's ranges of the scope's ids, one per rule (the exact scope checked besides:
      // a scope id may itself contain ':').
      where.push(`(${rules.map(() => '(id >= ? AND id < ?)').join(' OR ') || '0'})`);
      for (const rule of rules) params.push(`${rule}:${scope}:${scopeId}:`, `${rule}:${scope}:${scopeId};`);
      add('scope = ? AND scope_id = ?', scope);
      params.push(scopeId);
    };
    inScope('subject', filters.subjectId);
    inScope('breach', filters.breachId);
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

/** A scope's states as stored: its rules' states (in stored form) by rule id. */
function encodeStates(texts: Readonly<Record<string, string>>): string {
  let out = '';
  for (const id of Object.keys(texts)) out += `${out === '' ? '' : ','}${JSON.stringify(id)}:${texts[id]}`;
  return `{${out}}`;
}

/** The scope whose history a stream is: `subject-<id>` or `breach-<id>`; other streams belong to none. */
function scopeOfStream(streamId: string): { scope: Scope; scopeId: string } | null {
  if (streamId.startsWith(SUBJECT_STREAM_PREFIX)) return { scope: 'subject', scopeId: streamId.slice(SUBJECT_STREAM_PREFIX.length) };
  if (streamId.startsWith(BREACH_STREAM_PREFIX)) return { scope: 'breach', scopeId: streamId.slice(BREACH_STREAM_PREFIX.length) };
  return null;
}
