/**
 * The ledger's event catalogue: every fact the ledger records, in the past tense.
 * Pure types; nothing here imports Nest or infrastructure.
 *
 * Values named `...Key` are keys of the versioned vocabulary (src/vocabulary/data):
 * data categories and purposes from fideslang plus our extensions, legal bases of
 * GDPR Art. 6(1), recipient kinds, transfer mechanisms (Art. 45-49), access reasons, rights.
 * Event bodies hold no personal values: subjects are pseudonymous ids and personal
 * values travel only in the envelope's encrypted `pii` part.
 */

export interface Recipient {
  /** Pseudonymous or organisational id of the recipient, as in the processing register. */
  readonly id: string;
  readonly kind: string;
  /** ISO 3166-1 alpha-2 country where the recipient processes the data. */
  readonly country?: string;
}

/** Art. 30(1)(c),(d): what was processed, for which purpose, on which basis. */
interface ProcessingFacts {
  readonly categories: readonly string[];
  readonly purpose: string;
  readonly legalBasis: string;
  /** The registered processing activity (Art. 30) this processing belongs to. */
  readonly processingActivityId?: string;
}

// ── processing ────────────────────────────────────────────────────────────────
export interface PersonalDataCollected extends ProcessingFacts {
  /** Art. 14(2)(f) / 15(1)(g): where the data came from. */
  readonly source: 'data_subject' | 'device' | 'third_party' | 'derived';
  /** Pseudonymous id of the product (camera, doorbell, sensor) the data came from. */
  readonly deviceId?: string;
}

export interface PersonalDataAccessed {
  readonly categories: readonly string[];
  readonly purpose: string;
  readonly legalBasis?: string;
  readonly processingActivityId?: string;
  /** Why this person or service looked: an access reason code. */
  readonly reasonCode: string;
  /** Support ticket, case or order reference that justified the access. */
  readonly ticketRef?: string;
  readonly justification?: string;
}

export interface PersonalDataDisclosed extends ProcessingFacts {
  readonly recipient: Recipient;
  readonly reasonCode?: string;
  /** Court order, statute or contract the disclosure relies on. */
  readonly legalReference?: string;
  readonly ticketRef?: string;
}

/** A transfer to a third country or international organisation (Art. 44-49). */
export interface PersonalDataTransferred extends ProcessingFacts {
  readonly recipient: Recipient;
  readonly destinationCountry: string;
  /** Transfer mechanism key; 'none' records an unlawful transfer as evidence rather than refusing it. */
  readonly mechanism: string;
}

export interface PersonalDataRectified {
  readonly categories: readonly string[];
  readonly requestId?: string;
}

export interface PersonalDataErased {
  readonly categories: readonly string[];
  readonly reason: 'subject_request' | 'retention_expired' | 'account_terminated' | 'child_data' | 'legal_obligation';
  readonly requestId?: string;
}

/** Art. 22: a decision based solely on automated processing. */
export interface AutomatedDecisionMade extends ProcessingFacts {
  readonly decision: string;
  readonly producesLegalOrSimilarEffect: boolean;
  /** Reference to the logic involved (model or rule-set version), Art. 15(1)(h). */
  readonly logicRef: string;
}

// ── consent & notices ─────────────────────────────────────────────────────────
export interface ConsentGranted {
  readonly purposes: readonly string[];
  readonly method: 'in_app' | 'web' | 'email' | 'paper' | 'verbal';
  readonly noticeVersion?: string;
}

/** Art. 7(3): withdrawal is as easy as giving consent, per purpose. */
export interface ConsentWithdrawn {
  readonly purposes: readonly string[];
  readonly requestId?: string;
}

export interface PrivacyNoticePublished {
  readonly version: string;
  readonly effectiveFrom: string;
  /** SHA-256 (hex) of the published text, so the exact wording can be proven later. */
  readonly documentDigest: string;
}

export interface PrivacyNoticeAcknowledged {
  readonly version: string;
}

// ── rights requests (Art. 12, 15-22) ─────────────────────────────────────────
export interface SubjectRequestReceived {
  readonly requestId: string;
  readonly right: string;
  readonly channel: 'email' | 'in_app' | 'web_form' | 'post' | 'phone';
  /** For consent withdrawal, objection and restriction: the purposes concerned. */
  readonly purposes?: readonly string[];
}

export interface SubjectRequestIdentityVerified {
  readonly requestId: string;
  readonly method: 'account_login' | 'email_confirmation' | 'document_check' | 'in_person';
}

/** Art. 12(3): the one-month deadline may be extended by two further months, with reasons. */
export interface SubjectRequestExtended {
  readonly requestId: string;
  readonly reason: string;
  readonly additionalMonths: 1 | 2;
}

export interface SubjectRequestFulfilled {
  readonly requestId: string;
  readonly outcome?: string;
}

export interface SubjectRequestRejected {
  readonly requestId: string;
  readonly reason: string;
}

/** Art. 18: processing other than storage stops while restricted. */
export interface ProcessingRestricted {
  readonly reason: string;
  readonly requestId?: string;
  /** Purposes restricted; absent means every purpose. */
  readonly purposes?: readonly string[];
}

export interface ProcessingRestrictionLifted {
  readonly reason: string;
  readonly requestId?: string;
  /** Art. 18(3): the subject is informed before the restriction is lifted. */
  readonly subjectInformedAt: string;
}

// ── breaches (Art. 33-34) ────────────────────────────────────────────────────
export interface BreachDetected {
  readonly breachId: string;
  /** When the controller became aware: the start of the 72-hour clock (Art. 33(1)). */
  readonly awareAt: string;
  readonly nature: readonly ('confidentiality' | 'integrity' | 'availability')[];
  readonly categories: readonly string[];
  readonly approximateSubjects: number;
  readonly description: string;
}

export interface BreachAssessed {
  readonly breachId: string;
  readonly risk: 'unlikely' | 'risk' | 'high_risk';
  readonly rationale: string;
}

export interface BreachReportedToAuthority {
  readonly breachId: string;
  readonly authority: string;
  readonly reportRef: string;
  /** Art. 33(1): the reasons for a notification later than 72 hours. */
  readonly delayReason?: string;
}

export interface BreachSubjectsNotified {
  readonly breachId: string;
  readonly channel: 'email' | 'in_app' | 'post' | 'public_communication';
  readonly subjectsNotified: number;
}

export interface BreachClosed {
  readonly breachId: string;
  readonly summary: string;
}

export interface SubjectAffectedByBreach {
  readonly breachId: string;
  readonly categories: readonly string[];
}

// ── children (Art. 8) and erasure (Art. 17) ──────────────────────────────────
export interface SubjectAgeFlagged {
  readonly minimumAge: number;
  readonly evidence: 'self_declared' | 'parent_report' | 'document' | 'inferred';
}

export interface SubjectKeyShredded {
  readonly reason: string;
  readonly requestId?: string;
}

// ── the processing register (Art. 30) ────────────────────────────────────────
export interface RetentionRule {
  readonly category: string;
  /** ISO 8601 duration (P30D, PT10S) or 'until_account_termination'. */
  readonly period: string;
}

export interface ProcessingActivityRegistered {
  readonly activityId: string;
  readonly name: string;
  readonly purpose: string;
  readonly legalBasis: string;
  readonly categories: readonly string[];
  readonly dataSubjects: readonly string[];
  readonly recipients: readonly Recipient[];
  readonly transfers: readonly { readonly country: string; readonly mechanism: string }[];
  readonly retention: readonly RetentionRule[];
}

/** Every event type with its data shape. Adding a type here forces every exhaustive switch to handle it. */
export interface LedgerEventDataMap {
  PersonalDataCollected: PersonalDataCollected;
  PersonalDataAccessed: PersonalDataAccessed;
  PersonalDataDisclosed: PersonalDataDisclosed;
  PersonalDataTransferred: PersonalDataTransferred;
  PersonalDataRectified: PersonalDataRectified;
  PersonalDataErased: PersonalDataErased;
  AutomatedDecisionMade: AutomatedDecisionMade;
  ConsentGranted: ConsentGranted;
  ConsentWithdrawn: ConsentWithdrawn;
  PrivacyNoticePublished: PrivacyNoticePublished;
  PrivacyNoticeAcknowledged: PrivacyNoticeAcknowledged;
  SubjectRequestReceived: SubjectRequestReceived;
  SubjectRequestIdentityVerified: SubjectRequestIdentityVerified;
  SubjectRequestExtended: SubjectRequestExtended;
  SubjectRequestFulfilled: SubjectRequestFulfilled;
  SubjectRequestRejected: SubjectRequestRejected;
  ProcessingRestricted: ProcessingRestricted;
  ProcessingRestrictionLifted: ProcessingRestrictionLifted;
  BreachDetected: BreachDetected;
  BreachAssessed: BreachAssessed;
  BreachReportedToAuthority: BreachReportedToAuthority;
  BreachSubjectsNotified: BreachSubjectsNotified;
  BreachClosed: BreachClosed;
  SubjectAffectedByBreach: SubjectAffectedByBreach;
  SubjectAgeFlagged: SubjectAgeFlagged;
  SubjectKeyShredded: SubjectKeyShredded;
  ProcessingActivityRegistered: ProcessingActivityRegistered;
}

export type LedgerEventType = keyof LedgerEventDataMap;

export const LEDGER_EVENT_TYPES = [
  'PersonalDataCollected',
  'PersonalDataAccessed',
  'PersonalDataDisclosed',
  'PersonalDataTransferred',
  'PersonalDataRectified',
  'PersonalDataErased',
  'AutomatedDecisionMade',
  'ConsentGranted',
  'ConsentWithdrawn',
  'PrivacyNoticePublished',
  'PrivacyNoticeAcknowledged',
  'SubjectRequestReceived',
  'SubjectRequestIdentityVerified',
  'SubjectRequestExtended',
  'SubjectRequestFulfilled',
  'SubjectRequestRejected',
  'ProcessingRestricted',
  'ProcessingRestrictionLifted',
  'BreachDetected',
  'BreachAssessed',
  'BreachReportedToAuthority',
  'BreachSubjectsNotified',
  'BreachClosed',
  'SubjectAffectedByBreach',
  'SubjectAgeFlagged',
  'SubjectKeyShredded',
  'ProcessingActivityRegistered',
] as const satisfies readonly LedgerEventType[];

export function isLedgerEventType(value: unknown): value is LedgerEventType {
  return typeof value === 'string' && (LEDGER_EVENT_TYPES as readonly string[]).includes(value);
}

export interface ActorRef {
  readonly id: string;
  /** employee, service, processor, auditor, data_subject, authority, ... */
  readonly kind: string;
  /** The system the actor used: support-console, device-cloud, analytics, privacy-ledger, ... */
  readonly system: string;
}

/** A ledger event as a caller states it (before the store adds revision, position and hashes). */
export type LedgerEvent = {
  [T in LedgerEventType]: Readonly<{
    eventId: string;
    type: T;
    occurredAt: string;
    subjectId: string | null;
    actor: ActorRef;
    data: LedgerEventDataMap[T];
    metadata: Readonly<{ correlationId?: string; causationId?: string; emitter?: string }>;
  }>;
}[LedgerEventType];

export type EventOfType<T extends LedgerEventType> = Extract<LedgerEvent, { type: T }>;
