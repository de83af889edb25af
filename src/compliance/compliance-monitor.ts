import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { EventStore, StoredEvent, Subscription } from '../event-store/event-store.port.js';
import type { LedgerEvent, ProcessingActivityRegistered } from '../ledger/domain/events.js';
import { REGISTER_STREAM, subjectStream } from '../ledger/domain/streams.js';
import { COMPLIANCE_RULES } from './rules/index.js';
import type { ComplianceRule, EvidenceRef, Finding, MonitorConfig, Register, RuleContext, ScopeEvent } from './rule.js';

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
  /** Called once for every violation the monitor opens (alerts). */
  readonly onOpened?: (violation: Violation) => void;
  readonly onError?: (error: unknown) => void;
}

interface ViolationRow {
  id: string;
  rule: string;
  scope: 'subject' | 'breach';
  scope_id: string;
  status: 'open' | 'resolved';
  opened_at: string;
  detected_at: string;
  resolved_at: string | null;
  evidence: string;
  resolved_by: string;
  resolution: 'cured' | 'superseded' | null;
  detail: string;
}

/**
 * Derives violations from the log. It follows the log with its own durable checkpoint; each
 * batch re-evaluates the scopes it touched (a subject's or a breach's whole history, against
 * the register as it stood at each event), and a sweep re-evaluates scopes whose next
 * deadline has passed, so deadline rules fire even when no event arrives. Every violation is
 * stored once by its id (rule, scope, key); a later evaluation may only resolve it.
 */
export class ComplianceMonitor {
  private readonly db: Db;
  private readonly rules: readonly ComplianceRule[];
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private registerHistory: Array<{ position: number; activity: ProcessingActivityRegistered }> = [];
  private registerLoadedTo = 0;
  private processed = 0;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  private readonly stmt: Record<'get' | 'insert' | 'resolve' | 'deadline' | 'checkpoint', Statement>;

  constructor(private readonly options: ComplianceMonitorOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS violations (
        id TEXT PRIMARY KEY, rule TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL,
        status TEXT NOT NULL, opened_at TEXT NOT NULL, detected_at TEXT NOT NULL, resolved_at TEXT,
        evidence TEXT NOT NULL, resolved_by TEXT NOT NULL, resolution TEXT, detail TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS violations_by_scope ON violations(scope, scope_id);
      CREATE INDEX IF NOT EXISTS violations_by_opened ON violations(opened_at);
      CREATE TABLE IF NOT EXISTS scope_deadlines (scope TEXT NOT NULL, scope_id TEXT NOT NULL, next_deadline TEXT NOT NULL, PRIMARY KEY (scope, scope_id));
      CREATE INDEX IF NOT EXISTS scope_deadlines_by_time ON scope_deadlines(next_deadline);
      CREATE TABLE IF NOT EXISTS monitor_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);
    `);
    this.stmt = {
      get: this.db.prepare('SELECT * FROM violations WHERE id = ?'),
      insert: this.db.prepare(
        `INSERT INTO violations (id, rule, scope, scope_id, status, opened_at, detected_at, resolved_at, evidence, resolved_by, resolution, detail)
         VALUES (@id, @rule, @scope, @scope_id, @status, @opened_at, @detected_at, @resolved_at, @evidence, @resolved_by, @resolution, @detail)`,
      ),
      resolve: this.db.prepare("UPDATE violations SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ? AND status = 'open'"),
      deadline: this.db.prepare(
        'INSERT INTO scope_deadlines (scope, scope_id, next_deadline) VALUES (?, ?, ?) ON CONFLICT(scope, scope_id) DO UPDATE SET next_deadline = excluded.next_deadline',
      ),
      checkpoint: this.db.prepare('INSERT INTO monitor_checkpoint (id, position) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET position = excluded.position'),
    };
    this.rules = options.rules ?? COMPLIANCE_RULES;
  }

  private checkpoint(): number {
    return (this.db.prepare('SELECT position FROM monitor_checkpoint WHERE id = 1').get() as { position: number } | undefined)?.position ?? 0;
  }

  start(): void {
    if (this.subscription) return;
    const from = this.checkpoint();
    this.processed = from;
    this.subscription = this.options.store.subscribeToAll({
      fromPosition: from,
      onEvents: (events) => this.follow(events),
      onError: (error) => this.options.onError?.(error),
    });
    const seconds = this.options.sweepSeconds ?? 30;
    if (seconds > 0) {
      this.timer = setInterval(() => void this.sweep().catch((error: unknown) => this.options.onError?.(error)), seconds * 1000);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.subscription?.stop();
    this.subscription = null;
    this.db.close();
  }

  async waitForPosition(position: number, timeoutMs = 10_000): Promise<void> {
    if (this.processed >= position) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`compliance monitor did not reach position ${position}`)), timeoutMs);
      this.waiters.push({ position, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Re-evaluates every scope touched by a batch of the log, then moves the checkpoint. */
  async follow(events: readonly StoredEvent[]): Promise<void> {
    const scopes = new Map<string, { scope: 'subject' | 'breach'; scopeId: string }>();
    for (const e of events) {
      if (e.subjectId !== null) scopes.set(`subject:${e.subjectId}`, { scope: 'subject', scopeId: e.subjectId });
      if (e.streamId.startsWith('breach-')) scopes.set(`breach:${e.streamId.slice(7)}`, { scope: 'breach', scopeId: e.streamId.slice(7) });
    }
    await this.loadRegister();
    for (const { scope, scopeId } of scopes.values()) await this.evaluate(scope, scopeId);
    const last = events[events.length - 1];
    if (last) {
      this.stmt.checkpoint.run(last.globalPosition + 1);
      this.processed = last.globalPosition + 1;
    }
    const ready = this.waiters.filter((w) => w.position <= this.processed);
    this.waiters = this.waiters.filter((w) => w.position > this.processed);
    for (const w of ready) w.resolve();
  }

  /** Re-evaluates the scopes whose next deadline has passed (deadline rules without new events). */
  async sweep(): Promise<number> {
    const now = this.options.clock().toISOString();
    const due = this.db.prepare('SELECT scope, scope_id FROM scope_deadlines WHERE next_deadline <= ?').all(now) as Array<{ scope: 'subject' | 'breach'; scope_id: string }>;
    await this.loadRegister();
    for (const d of due) await this.evaluate(d.scope, d.scope_id);
    return due.length;
  }

  private async loadRegister(): Promise<void> {
    const fresh = await this.options.store.readStream(REGISTER_STREAM, { fromRevision: this.registerLoadedTo });
    // Two evaluations may load at once: each registration is taken once, by its revision.
    for (const e of fresh) {
      if (e.streamRevision < this.registerLoadedTo) continue;
      this.registerHistory.push({ position: e.globalPosition, activity: e.data as unknown as ProcessingActivityRegistered });
      this.registerLoadedTo = e.streamRevision + 1;
    }
  }

  private registerAt = (position: number): Register => {
    const register = new Map<string, ProcessingActivityRegistered>();
    for (const r of this.registerHistory) {
      if (r.position >= position) break;
      register.set(r.activity.activityId, r.activity);
    }
    return register;
  };

  /** Evaluates every rule of a scope and stores what is new: opened violations and resolutions. */
  async evaluate(scope: 'subject' | 'breach', scopeId: string): Promise<void> {
    const stored = await this.options.store.readStream(scope === 'subject' ? subjectStream(scopeId) : `breach-${scopeId}`);
    const events: ScopeEvent[] = stored.map((e) => ({ event: e as unknown as LedgerEvent, globalPosition: e.globalPosition }));
    const now = this.options.clock();
    const ctx: RuleContext = { scopeId, events, registerAt: this.registerAt, now, config: this.options.config };
    const opened: Violation[] = [];
    let nextDeadline: string | null = null;
    this.db.transaction(() => {
      for (const rule of this.rules) {
        if (rule.scope !== scope) continue;
        const findings = rule.evaluate(ctx);
        for (const finding of findings) {
          const violation = this.store(rule, scope, scopeId, finding, now.toISOString());
          if (violation) opened.push(violation);
        }
        this.supersede(rule, scope, scopeId, findings, now.toISOString());
        const deadline = rule.nextDeadline?.(ctx) ?? null;
        if (deadline && (!nextDeadline || deadline < nextDeadline)) nextDeadline = deadline;
      }
      if (nextDeadline) this.stmt.deadline.run(scope, scopeId, nextDeadline);
      else this.db.prepare('DELETE FROM scope_deadlines WHERE scope = ? AND scope_id = ?').run(scope, scopeId);
    })();
    for (const v of opened) this.options.onOpened?.(v);
  }

  /**
   * An open violation the rule no longer finds was opened on facts that later-recorded events
   * overturned (they happened in time but reached the ledger late): it is resolved as superseded.
   */
  private supersede(rule: ComplianceRule, scope: 'subject' | 'breach', scopeId: string, findings: readonly Finding[], now: string): void {
    const current = new Set(findings.map((f) => `${rule.id}:${scope}:${scopeId}:${f.key}`));
    const open = this.db.prepare("SELECT id FROM violations WHERE rule = ? AND scope = ? AND scope_id = ? AND status = 'open'").all(rule.id, scope, scopeId) as Array<{ id: string }>;
    for (const { id } of open) if (!current.has(id)) this.stmt.resolve.run(now, '[]', 'superseded', id);
  }

  /** Inserts a new violation (returned, to alert) or resolves an open one; never reopens. */
  private store(rule: ComplianceRule, scope: 'subject' | 'breach', scopeId: string, finding: Finding, now: string): Violation | null {
    const id = `${rule.id}:${scope}:${scopeId}:${finding.key}`;
    const existing = this.stmt.get.get(id) as ViolationRow | undefined;
    if (existing) {
      if (existing.status === 'open' && finding.resolvedAt) this.stmt.resolve.run(finding.resolvedAt, JSON.stringify(finding.resolvedBy ?? []), 'cured', id);
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
