import type { LedgerEvent, ProcessingActivityRegistered } from '../ledger/domain/events.js';

/**
 * Compliance monitors (DESIGN principle 8: costs stay flat as history grows). Each rule is a
 * pure fold over one scope — a subject's or a breach's events, in log order — into a small
 * JSON state of its own, and a judgement of that state at a moment:
 *
 *   evolve(state, event, register, config) → state     one fact, the register as it stood just before it
 *   judge(state, now, config) → { findings, cleared, cures, nextDeadline, state }
 *
 * Nothing is filed by hand: every violation is derived from the log, opened once (by its key),
 * and resolved when a later event cures it or shows the duty was met in time. A rule's state
 * holds only what a later event or a later moment can still change: what a judgement reported
 * for the last time is dropped from the state it returns, so state stays bounded however long
 * a person's history grows (each rule says how in its doc comment).
 */
export interface ScopeEvent {
  readonly event: LedgerEvent;
  readonly globalPosition: number;
}

export interface EvidenceRef {
  readonly eventId: string;
  readonly globalPosition: number;
}

export function evidenceOf(e: ScopeEvent): EvidenceRef {
  return { eventId: e.event.eventId, globalPosition: e.globalPosition };
}

export interface Finding {
  /** Stable within the rule and scope: the same violation always has the same key. */
  readonly key: string;
  /** When the violation began: the offending event's time, or the deadline that passed. */
  readonly openedAt: string;
  readonly evidence: readonly EvidenceRef[];
  readonly detail: string;
  /** Set when a later event cured it (a late notice sent, data finally erased). */
  readonly resolvedAt?: string;
  readonly resolvedBy?: readonly EvidenceRef[];
  /**
   * Set on an open finding the rule stops tracking once it is reported: what the violation now
   * waits for (e.g. an erasure of one category). A later `Cure` naming it resolves it.
   */
  readonly awaiting?: string;
}

/**
 * A fact that resolves every open violation of the rule and scope that awaits it: 'cured' by
 * this fact when it came after the violation opened (its deadline), 'superseded' when it came
 * at or before it (the duty was met in time, and the ledger learnt of it late).
 */
export interface Cure {
  readonly awaiting: string;
  /** When the curing fact happened (its occurredAt). */
  readonly at: string;
  readonly by: readonly EvidenceRef[];
}

/** What one rule shows about one scope at one moment. */
export interface Judgement<S> {
  /**
   * Violations the state shows at `now`, each opened or already cured. A finding is reported
   * again by later judgements while it can still change; the monitor stores each id once.
   */
  readonly findings: readonly Finding[];
  /**
   * Keys of duties the rule tracks that the log now shows met in time: a violation open under
   * one of them was opened on facts later-recorded events overturned, and is superseded.
   */
  readonly cleared: readonly string[];
  /** Facts that resolve violations the rule no longer tracks (opened with `awaiting`). */
  readonly cures: readonly Cure[];
  /** Earliest moment (>= now) at which this state could show a new violation without a new event. */
  readonly nextDeadline: string | null;
  /** The state to keep: what this judgement reported for the last time is dropped from it. */
  readonly state: S;
}

/** The Art. 30 register as it stood at some point of the log. */
export type Register = ReadonlyMap<string, ProcessingActivityRegistered>;

export interface MonitorConfig {
  /** Art. 8: days after a child is flagged by which their data must be erased. */
  readonly childErasureDays: number;
  /** Art. 34: hours after a high-risk assessment by which affected subjects must be told. */
  readonly breachSubjectNoticeHours: number;
  /** Purposes that rest on consent whatever the event says (vocabulary `consentRequired`). */
  readonly consentPurposes: ReadonlySet<string>;
  /** ISO 3166 codes with an adequacy decision (Art. 45), and EEA members. */
  readonly adequateCountries: ReadonlySet<string>;
  readonly eeaCountries: ReadonlySet<string>;
}

/**
 * One duty, checked as a fold. `S` must survive JSON (the monitor stores it between batches):
 * plain objects, arrays, strings, numbers, booleans and null. `evolve` and `judge` are pure:
 * the time arrives as `now`, never from a clock, and the register is read, never kept (a rule
 * copies what it needs of it into its state).
 */
export interface ComplianceRule<S = unknown> {
  readonly id: string;
  /** The GDPR article the duty comes from. */
  readonly article: string;
  readonly title: string;
  readonly scope: 'subject' | 'breach';
  /**
   * 'instant': a violation is a fact's own (judged as the facts before it stood); it never
   * comes due by time alone, so `nextDeadline` is always null. 'deadline': a period that can
   * lapse with no new event, found by a sweep at `nextDeadline`.
   */
  readonly duty: 'instant' | 'deadline';
  initial(): S;
  evolve(state: S, event: ScopeEvent, register: Register, config: MonitorConfig): S;
  judge(state: S, now: string, config: MonitorConfig): Judgement<S>;
}

/** The state of an instant rule: findings shown by facts folded since the last judgement. */
export interface Unreported {
  readonly found: readonly Finding[];
}

/** Adds a finding for the next judgement to report. */
export function report<S extends Unreported>(state: S, finding: Finding): S {
  return { ...state, found: [...state.found, finding] };
}

/**
 * An instant rule's judgement: what was found since the last one, reported once (an instant
 * finding never changes afterwards: it rests on the facts before its event), then dropped.
 */
export function reportFound<S extends Unreported>(state: S): Judgement<S> {
  return { findings: state.found, cleared: [], cures: [], nextDeadline: null, state: state.found.length > 0 ? { ...state, found: [] } : state };
}

/**
 * The judgement of a rule with one duty per scope under one key: the finding when there is one,
 * otherwise the key cleared (an earlier finding under it is superseded).
 */
export function singleDuty<S>(state: S, key: string, finding: Finding | null, nextDeadline: string | null): Judgement<S> {
  return { findings: finding ? [finding] : [], cleared: finding ? [] : [key], cures: [], nextDeadline, state };
}

/** A fact as rules keep it: where it is in the log and when it happened. */
export interface Dated {
  readonly evidence: EvidenceRef;
  readonly at: string;
}

export function dated(e: ScopeEvent): Dated {
  return { evidence: evidenceOf(e), at: e.event.occurredAt };
}

/** Processing of personal data other than recording the ledger's own facts. */
export const PROCESSING_TYPES = new Set([
  'PersonalDataCollected',
  'PersonalDataAccessed',
  'PersonalDataDisclosed',
  'PersonalDataTransferred',
  'AutomatedDecisionMade',
]);

/**
 * Purposes that stay lawful after erasure or restriction: the ledger's own accountability
 * reads (Art. 5(2)), legal obligations and legal claims (Art. 17(3)(b),(e), 18(2)).
 */
export function isAccountabilityPurpose(purpose: string): boolean {
  return (
    purpose === 'essential.service.audit' ||
    purpose.startsWith('essential.legal_obligation') ||
    purpose.startsWith('third_party_sharing.legal_obligation')
  );
}

export interface ProcessingFacts {
  readonly categories: readonly string[];
  readonly purpose: string;
  readonly legalBasis?: string;
  readonly recipient?: { readonly id: string; readonly kind: string; readonly country?: string };
}

export function processingFacts(e: LedgerEvent): ProcessingFacts | null {
  if (!PROCESSING_TYPES.has(e.type)) return null;
  return e.data as unknown as ProcessingFacts;
}

/** Taxonomy keys are hierarchical: `user.contact` covers `user.contact.email`. */
export function covers(registered: string, used: string): boolean {
  return used === registered || used.startsWith(`${registered}.`);
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Adds an ISO 8601 duration to an instant (calendar months and years; null for non-durations). */
export function addDuration(instant: string, duration: string): string | null {
  const m = DURATION.exec(duration);
  if (!m) return null;
  const [y, mo, w, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number, number];
  const t = new Date(instant);
  t.setUTCFullYear(t.getUTCFullYear() + y, t.getUTCMonth() + mo, t.getUTCDate() + w * 7 + d);
  t.setUTCHours(t.getUTCHours() + h, t.getUTCMinutes() + mi, t.getUTCSeconds() + s);
  return t.toISOString();
}

export function hoursAfter(instant: string, hours: number): string {
  return new Date(new Date(instant).getTime() + hours * 3_600_000).toISOString();
}

/** The earliest of some instants in stored form (they compare as text), or null. */
export function earliest(instants: Iterable<string | null>): string | null {
  let first: string | null = null;
  for (const t of instants) if (t !== null && (first === null || t < first)) first = t;
  return first;
}
