import { randomUUID } from 'node:crypto';
import { monitorConfig } from '../../src/compliance/monitor-config.js';
import type { ComplianceRule, EvidenceRef, Finding, Judgement, MonitorConfig, Register, ScopeEvent } from '../../src/compliance/rule.js';
import type { ActorRef, LedgerEvent, LedgerEventDataMap, LedgerEventType, ProcessingActivityRegistered } from '../../src/ledger/domain/events.js';

/**
 * Hand-built histories for the compliance rule specs: one scope's events with their global
 * positions, the processing register as it grew (each registration at its own position of the
 * same log), a `now`, and the monitors' configuration. Rules are pure folds, so a spec states a
 * history and asserts what the rule shows when it has folded all of it and judges it at `now`
 * — no store, no service.
 *
 *   const h = scopeHistory('cust-1');
 *   h.register(activity({ activityId: 'act-rec', purpose: 'essential.service.recording', categories: ['user.sensor.video'] }));
 *   const collected = h.record('PersonalDataCollected', '2026-03-01T10:00:00Z', { ... });
 *   evaluate(rule, h.context('2026-04-02T00:00:00Z'));       // the findings
 *   nextDeadline(rule, h.context('2026-03-02T00:00:00Z'));   // when it could next open one
 */

/** The configuration the specs run under (Art. 8: 30 days; Art. 34: 72 hours), facts from the vocabulary. */
export const SPEC_CONFIG: MonitorConfig = monitorConfig({ childErasureDays: 30, breachSubjectNoticeHours: 72 });

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** ISO instant in the ledger's stored form (UTC, milliseconds), as rules compare them as text. */
export function iso(at: string | number | Date): string {
  return new Date(at).toISOString();
}

/** `at` moved by `ms` milliseconds, in stored form. */
export function shift(at: string, ms: number): string {
  return new Date(new Date(at).getTime() + ms).toISOString();
}

export const SUPPORT_AGENT: ActorRef = { id: 'agent-21', kind: 'employee', system: 'support-console' };
export const DPO: ActorRef = { id: 'dpo-office', kind: 'dpo', system: 'privacy-office' };

/** A registered processing activity; name, legal basis, subjects, recipients, transfers and retention default to empty. */
export function activity(
  fields: Pick<ProcessingActivityRegistered, 'activityId' | 'purpose' | 'categories'> & Partial<ProcessingActivityRegistered>,
): ProcessingActivityRegistered {
  return {
    name: `activity ${fields.activityId}`,
    legalBasis: 'contract',
    dataSubjects: ['customer'],
    recipients: [],
    transfers: [],
    retention: [],
    ...fields,
  };
}

export interface RecordOptions {
  readonly eventId?: string;
  readonly actor?: ActorRef;
  /** Breach events have none; subject events default to the history's scope id. */
  readonly subjectId?: string | null;
}

const BREACH_TYPES = new Set<LedgerEventType>(['BreachDetected', 'BreachAssessed', 'BreachReportedToAuthority', 'BreachSubjectsNotified', 'BreachClosed']);

export class ScopeHistory {
  readonly events: ScopeEvent[] = [];
  private readonly registrations: Array<{ position: number; activity: ProcessingActivityRegistered }> = [];
  private position: number;

  constructor(
    readonly scopeId: string,
    firstPosition = 0,
  ) {
    this.position = firstPosition;
  }

  /** The position the next event or registration takes. */
  get nextPosition(): number {
    return this.position;
  }

  /** Leaves `count` positions to events of other scopes (the global log is shared). */
  gap(count: number): this {
    this.position += count;
    return this;
  }

  /** Records a ProcessingActivityRegistered at the next global position; returns its position. */
  register(registered: ProcessingActivityRegistered): number {
    const position = this.position++;
    this.registrations.push({ position, activity: registered });
    return position;
  }

  /** Appends one event of this scope at the next global position (time normalised like the ledger does). */
  record<T extends LedgerEventType>(type: T, occurredAt: string, data: LedgerEventDataMap[T], options: RecordOptions = {}): ScopeEvent {
    const event = {
      eventId: options.eventId ?? randomUUID(),
      type,
      occurredAt: iso(occurredAt),
      subjectId: options.subjectId !== undefined ? options.subjectId : BREACH_TYPES.has(type) ? null : this.scopeId,
      actor: options.actor ?? SUPPORT_AGENT,
      data,
      metadata: {},
    } as unknown as LedgerEvent;
    const scoped: ScopeEvent = { event, globalPosition: this.position++ };
    this.events.push(scoped);
    return scoped;
  }

  /** The register as it stood just before `globalPosition` — what the monitor hands the rules. */
  registerAt = (globalPosition: number): Register => {
    const register = new Map<string, ProcessingActivityRegistered>();
    for (const r of this.registrations) if (r.position < globalPosition) register.set(r.activity.activityId, r.activity);
    return register;
  };

  context(now: string | Date, config: MonitorConfig = SPEC_CONFIG): ScopeHistoryAt {
    return { scopeId: this.scopeId, events: [...this.events], registerAt: this.registerAt, now: new Date(now), config };
  }
}

/** A scope's whole history, the register as it grew, and the moment and configuration to judge it under. */
export interface ScopeHistoryAt {
  readonly scopeId: string;
  readonly events: readonly ScopeEvent[];
  /** The register as it stood just before the given global position. */
  registerAt(globalPosition: number): Register;
  readonly now: Date;
  readonly config: MonitorConfig;
}

/** A state as the monitor keeps it between batches: through JSON, so a state that does not survive it fails here. */
function stored<S>(state: S): S {
  return JSON.parse(JSON.stringify(state)) as S;
}

/** Folds the history through the rule (each event against the register as it stood just before it), as the monitor does. */
export function folded<S>(rule: ComplianceRule<S>, ctx: ScopeHistoryAt): S {
  return ctx.events.reduce((state, e) => stored(rule.evolve(state, e, ctx.registerAt(e.globalPosition), ctx.config)), stored(rule.initial()));
}

/** The whole history folded, then judged once at `ctx.now`. */
export function judgeAt<S>(rule: ComplianceRule<S>, ctx: ScopeHistoryAt): Judgement<S> {
  return rule.judge(folded(rule, ctx), ctx.now.toISOString(), ctx.config);
}

/** What the rule finds in the whole history at `ctx.now`: the findings of one judgement after folding it all. */
export function evaluate<S>(rule: ComplianceRule<S>, ctx: ScopeHistoryAt): readonly Finding[] {
  return judgeAt(rule, ctx).findings;
}

/** The earliest moment the rule could open a violation on this history with no new event. */
export function nextDeadline<S>(rule: ComplianceRule<S>, ctx: ScopeHistoryAt): string | null {
  return judgeAt(rule, ctx).nextDeadline;
}

export function scopeHistory(scopeId = 'cust-spec-1', firstPosition = 0): ScopeHistory {
  return new ScopeHistory(scopeId, firstPosition);
}

/** The evidence reference of a recorded event: what a finding must point at. */
export function ref(e: ScopeEvent): EvidenceRef {
  return { eventId: e.event.eventId, globalPosition: e.globalPosition };
}

/** The only finding, failing with the list when there are none or several. */
export function onlyFinding(findings: readonly Finding[]): Finding {
  if (findings.length !== 1) throw new Error(`expected exactly one finding, got ${findings.length}: ${JSON.stringify(findings, null, 2)}`);
  return findings[0]!;
}
