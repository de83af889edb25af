import { randomUUID } from 'node:crypto';
import {
  LEDGER_EVENT_TYPES,
  type ActorRef,
  type EventOfType,
  type LedgerEventDataMap,
  type LedgerEventType,
} from '../../src/ledger/domain/events.js';
import { streamKindOf } from '../../src/ledger/domain/streams.js';

/**
 * One valid example of every event type in the catalogue, drawn from the smart-home
 * privacy statement (cameras, doorbells, support staff, processors, legal orders, SCC
 * transfers, breaches). Used by e2e tests as HTTP bodies and by domain specs as events.
 */

/** The ids an example event refers to; vary them so tests sharing one ledger do not collide. */
export interface ExampleIds {
  readonly subjectId: string;
  readonly requestId: string;
  readonly breachId: string;
  readonly noticeVersion: string;
}

export function exampleIds(tag: string): ExampleIds {
  return { subjectId: `subj-${tag}`, requestId: `req-${tag}`, breachId: `breach-${tag}`, noticeVersion: `notice-${tag}` };
}

/** A moment safely in the past for every test run (the ledger refuses future timestamps). */
export const EXAMPLE_OCCURRED_AT = '2026-11-01T10:00:00.000Z';

/** Data of one valid event of each type. */
export function exampleData(ids: ExampleIds): { [T in LedgerEventType]: LedgerEventDataMap[T] } {
  return {
    PersonalDataCollected: {
      categories: ['user.sensor.video', 'user.device.serial_number'],
      purpose: 'essential.service.recording',
      legalBasis: 'contract',
      processingActivityId: 'act-camera-recording',
      source: 'device',
      deviceId: 'cam-0042',
    },
    PersonalDataAccessed: {
      categories: ['user.contact.email', 'user.device.serial_number'],
      purpose: 'essential.service.operations.support',
      legalBasis: 'contract',
      reasonCode: 'customer_initiated_support',
      ticketRef: 'SUP-1042',
      justification: 'customer asked why the doorbell is offline',
    },
    PersonalDataDisclosed: {
      categories: ['user.sensor.video'],
      purpose: 'third_party_sharing.legal_obligation',
      legalBasis: 'legal_obligation',
      recipient: { id: 'police-berlin', kind: 'public_authority', country: 'DE' },
      reasonCode: 'third_party_legal_request',
      legalReference: 'court order 12 Js 345/26',
      ticketRef: 'LEGAL-77',
    },
    PersonalDataTransferred: {
      categories: ['user.device.ip_address', 'user.behavior.device_log'],
      purpose: 'essential.service.operations.support',
      legalBasis: 'contract',
      recipient: { id: 'support-vendor-us', kind: 'processor', country: 'US' },
      destinationCountry: 'US',
      mechanism: 'standard_contractual_clauses',
    },
    PersonalDataRectified: { categories: ['user.contact.address'] },
    PersonalDataErased: { categories: ['user.sensor.video'], reason: 'retention_expired' },
    AutomatedDecisionMade: {
      categories: ['user.behavior.login_log'],
      purpose: 'essential.fraud_detection',
      legalBasis: 'legitimate_interests',
      decision: 'login-blocked',
      producesLegalOrSimilarEffect: false,
      logicRef: 'fraud-rules-v3',
    },
    ConsentGranted: { purposes: ['marketing.communications.email'], method: 'in_app', noticeVersion: ids.noticeVersion },
    ConsentWithdrawn: { purposes: ['marketing.communications.email'] },
    PrivacyNoticePublished: {
      version: ids.noticeVersion,
      effectiveFrom: '2026-10-01T00:00:00Z',
      documentDigest: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    },
    PrivacyNoticeAcknowledged: { version: ids.noticeVersion },
    SubjectRequestReceived: { requestId: ids.requestId, right: 'access', channel: 'in_app' },
    SubjectRequestIdentityVerified: { requestId: ids.requestId, method: 'account_login' },
    SubjectRequestExtended: { requestId: ids.requestId, reason: 'recordings of several cameras must be collected', additionalMonths: 2 },
    SubjectRequestFulfilled: { requestId: ids.requestId, outcome: 'export delivered in the app' },
    SubjectRequestRejected: { requestId: ids.requestId, reason: 'manifestly unfounded: repeated identical request' },
    ProcessingRestricted: { reason: 'accuracy of the address contested', purposes: ['marketing.communications.email'] },
    ProcessingRestrictionLifted: { reason: 'address verified as accurate', subjectInformedAt: '2026-11-01T09:00:00Z' },
    BreachDetected: {
      breachId: ids.breachId,
      awareAt: '2026-11-01T08:00:00Z',
      nature: ['confidentiality'],
      categories: ['user.contact.email'],
      approximateSubjects: 120,
      description: 'misconfigured storage bucket exposed support exports',
    },
    BreachAssessed: { breachId: ids.breachId, risk: 'high_risk', rationale: 'contact data of customers was publicly readable' },
    BreachReportedToAuthority: { breachId: ids.breachId, authority: 'de-bfdi', reportRef: 'BfDI-2026-0042' },
    BreachSubjectsNotified: { breachId: ids.breachId, channel: 'email', subjectsNotified: 118 },
    BreachClosed: { breachId: ids.breachId, summary: 'bucket locked down, exports rotated' },
    SubjectAffectedByBreach: { breachId: ids.breachId, categories: ['user.contact.email'] },
    SubjectAgeFlagged: { minimumAge: 16, evidence: 'parent_report' },
    SubjectKeyShredded: { reason: 'erasure request fulfilled', requestId: ids.requestId },
    ProcessingActivityRegistered: {
      activityId: 'act-camera-recording',
      name: 'Cloud storage of camera and doorbell recordings',
      purpose: 'essential.service.recording',
      legalBasis: 'contract',
      categories: ['user.sensor.video', 'user.sensor.audio'],
      dataSubjects: ['customers', 'visitors'],
      recipients: [{ id: 'cloud-host-eu', kind: 'processor', country: 'IE' }],
      transfers: [{ country: 'US', mechanism: 'standard_contractual_clauses' }],
      retention: [{ category: 'user.sensor.video', period: 'P30D' }],
    },
  };
}

const ACTORS: { readonly [T in LedgerEventType]?: ActorRef } = {
  PersonalDataCollected: { id: 'device-cloud', kind: 'service', system: 'device-cloud' },
  PersonalDataDisclosed: { id: 'legal-team-3', kind: 'employee', system: 'legal-console' },
  PersonalDataTransferred: { id: 'support-export', kind: 'service', system: 'support-console' },
  AutomatedDecisionMade: { id: 'fraud-engine', kind: 'service', system: 'auth-service' },
  ConsentGranted: { id: 'subject-self', kind: 'data_subject', system: 'mobile-app' },
  ConsentWithdrawn: { id: 'subject-self', kind: 'data_subject', system: 'mobile-app' },
  PrivacyNoticePublished: { id: 'dpo-1', kind: 'dpo', system: 'privacy-office' },
  PrivacyNoticeAcknowledged: { id: 'subject-self', kind: 'data_subject', system: 'mobile-app' },
  SubjectRequestReceived: { id: 'dpo-1', kind: 'dpo', system: 'privacy-office' },
  BreachDetected: { id: 'secops-2', kind: 'employee', system: 'security-console' },
  ProcessingActivityRegistered: { id: 'dpo-1', kind: 'dpo', system: 'privacy-office' },
};

const DEFAULT_ACTOR: ActorRef = { id: 'agent-17', kind: 'employee', system: 'support-console' };

/** The event body a caller POSTs to /v1/events (no subjectId on breach, notice and register events). */
export interface EventBody {
  eventId: string;
  type: LedgerEventType;
  occurredAt: string;
  subjectId?: string;
  actor: ActorRef;
  data: Record<string, unknown>;
  pii?: Record<string, string>;
  metadata?: Record<string, string>;
}

export interface ExampleOptions<T extends LedgerEventType> {
  readonly ids?: ExampleIds;
  readonly eventId?: string;
  readonly occurredAt?: string;
  readonly actor?: ActorRef;
  readonly data?: Partial<LedgerEventDataMap[T]>;
}

/** True when events of this type live on a subject's stream (and need a subjectId). */
export function isSubjectEvent(type: LedgerEventType): boolean {
  return streamKindOf(type) === 'subject';
}

/** A valid HTTP body for one event of `type`; override ids, time, actor or data fields. */
export function exampleEvent<T extends LedgerEventType>(type: T, options: ExampleOptions<T> = {}): EventBody {
  const ids = options.ids ?? exampleIds('example');
  return {
    eventId: options.eventId ?? randomUUID(),
    type,
    occurredAt: options.occurredAt ?? EXAMPLE_OCCURRED_AT,
    ...(isSubjectEvent(type) ? { subjectId: ids.subjectId } : {}),
    actor: options.actor ?? ACTORS[type] ?? DEFAULT_ACTOR,
    data: { ...exampleData(ids)[type], ...options.data } as Record<string, unknown>,
  };
}

/** The same example as a domain event (what decideWorkflow / evolveWorkflow take). */
export function exampleLedgerEvent<T extends LedgerEventType>(type: T, options: ExampleOptions<T> = {}): EventOfType<T> {
  const body = exampleEvent(type, options);
  return {
    eventId: body.eventId,
    type,
    occurredAt: body.occurredAt,
    subjectId: body.subjectId ?? null,
    actor: body.actor,
    data: body.data,
    metadata: {},
  } as unknown as EventOfType<T>;
}

/**
 * One valid event of every type of the catalogue, in an order the ledger's workflows
 * accept, plus the one prerequisite they need besides each other: the rejected request is a
 * second request, received just before it is rejected. Every subject event is about
 * `ids.subjectId`.
 */
export function exampleCatalogue(ids: ExampleIds): EventBody[] {
  const second: ExampleIds = { ...ids, requestId: `${ids.requestId}-2` };
  const order: LedgerEventType[] = [
    'ProcessingActivityRegistered',
    'PrivacyNoticePublished',
    'PrivacyNoticeAcknowledged',
    'ConsentGranted',
    'PersonalDataCollected',
    'PersonalDataAccessed',
    'PersonalDataDisclosed',
    'PersonalDataTransferred',
    'AutomatedDecisionMade',
    'PersonalDataRectified',
    'SubjectAgeFlagged',
    'ConsentWithdrawn',
    'SubjectRequestReceived',
    'SubjectRequestIdentityVerified',
    'SubjectRequestExtended',
    'SubjectRequestFulfilled',
    'ProcessingRestricted',
    'ProcessingRestrictionLifted',
    'BreachDetected',
    'BreachAssessed',
    'BreachReportedToAuthority',
    'BreachSubjectsNotified',
    'SubjectAffectedByBreach',
    'BreachClosed',
    'PersonalDataErased',
    'SubjectKeyShredded',
  ];
  const events = order.map((type) => exampleEvent(type, { ids }));
  const fulfilled = events.findIndex((e) => e.type === 'SubjectRequestFulfilled');
  events.splice(fulfilled + 1, 0, exampleEvent('SubjectRequestReceived', { ids: second }), exampleEvent('SubjectRequestRejected', { ids: second }));
  const covered = new Set(events.map((e) => e.type));
  const missing = LEDGER_EVENT_TYPES.filter((t) => !covered.has(t));
  if (missing.length > 0) throw new Error(`exampleCatalogue misses ${missing.join(', ')}`);
  return events;
}
