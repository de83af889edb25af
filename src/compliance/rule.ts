import type { LedgerEvent, ProcessingActivityRegistered } from '../ledger/domain/events.js';

/**
 * Compliance monitors: each rule is a pure function from one scope's history (a subject's or
 * a breach's events, in log order), the processing register as it stood, and the time, to
 * the violations that history shows. Nothing is filed by hand: every violation is derived
 * from the log, opened once (by its key), and resolved when a later event cures it.
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

export interface RuleContext {
  readonly scopeId: string;
  readonly events: readonly ScopeEvent[];
  /** The register as it stood just before the given global position. */
  registerAt(globalPosition: number): Register;
  readonly now: Date;
  readonly config: MonitorConfig;
}

export interface ComplianceRule {
  readonly id: string;
  /** The GDPR article the duty comes from. */
  readonly article: string;
  readonly title: string;
  readonly scope: 'subject' | 'breach';
  evaluate(ctx: RuleContext): Finding[];
  /** Earliest future moment at which this rule could open a new violation without a new event. */
  nextDeadline?(ctx: RuleContext): string | null;
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
