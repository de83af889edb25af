import fc from 'fast-check';
import type { StoredEvent } from '../../src/event-store/event-store.port.js';
import type { ActorRef, LedgerEvent, LedgerEventType, ProcessingActivityRegistered, Recipient } from '../../src/ledger/domain/events.js';
import { streamOf } from '../../src/ledger/domain/streams.js';
import { decideWorkflow, evolveWorkflow, initialWorkflowState, WorkflowRejection, type WorkflowState } from '../../src/ledger/domain/workflow.js';

/**
 * Random histories for checking the incremental compliance monitor against the oracle: a few
 * subjects and breaches, purposes and categories that cover one another (`marketing` covers
 * `marketing.communications.email`, `user.sensor` covers `user.sensor.video`), registrations
 * that change the register mid-history (a retention shortened, a category or recipient dropped),
 * facts recorded late (backdated by up to five days) and a clock that advances by minutes or
 * days between batches, sweeps and restarts.
 *
 * Every history is one the ledger would accept: each event is decided against its stream's
 * workflow state (decideWorkflow) and dropped when the ledger would refuse it (a request
 * answered twice, a breach detected twice), as the ledger refuses such input at the door.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const HISTORY_START = '2026-03-01T00:00:00.000Z';

const SUBJECTS = ['s1', 's2'] as const;
const BREACHES = ['b1', 'b2'] as const;
const PURPOSES = [
  'marketing',
  'marketing.communications.email',
  'essential.service.operations.support',
  'essential.service.recording',
  'essential.service.operations.improve',
  'essential.service.audit',
] as const;
const CATEGORIES = ['user', 'user.contact.email', 'user.sensor', 'user.sensor.video', 'user.sensor.audio', 'user.device.firmware_version'] as const;
const RECIPIENTS: readonly Recipient[] = [
  { id: 'helpdesk-saas', kind: 'processor', country: 'IE' },
  { id: 'push-provider', kind: 'processor', country: 'DE' },
  { id: 'vendor-telemetry-cn', kind: 'processor', country: 'CN' },
];

function activity(fields: Pick<ProcessingActivityRegistered, 'activityId' | 'purpose' | 'categories'> & Partial<ProcessingActivityRegistered>): ProcessingActivityRegistered {
  return { name: fields.activityId, legalBasis: 'contract', dataSubjects: ['customer'], recipients: [], transfers: [], retention: [], ...fields };
}

/** Registrations, several per activity id, so a later one changes what an earlier one said. */
const ACTIVITIES: readonly ProcessingActivityRegistered[] = [
  activity({
    activityId: 'act-rec',
    purpose: 'essential.service.recording',
    categories: ['user.sensor'],
    recipients: [RECIPIENTS[1]!],
    retention: [
      { category: 'user.sensor.video', period: 'PT6H' },
      { category: 'user.sensor.audio', period: 'P1D' },
    ],
  }),
  activity({ activityId: 'act-rec', purpose: 'essential.service.recording', categories: ['user.sensor.video'], retention: [{ category: 'user.sensor', period: 'PT2H' }] }),
  activity({
    activityId: 'act-support',
    purpose: 'essential.service.operations.support',
    categories: ['user.contact.email', 'user.sensor.video'],
    recipients: [RECIPIENTS[0]!],
    retention: [{ category: 'user.contact.email', period: 'until_account_termination' }],
  }),
  activity({ activityId: 'act-support', purpose: 'essential.service.operations', categories: ['user.contact'], retention: [{ category: 'user.contact', period: 'P3D' }] }),
  activity({ activityId: 'act-mkt', purpose: 'marketing', legalBasis: 'consent', categories: ['user.contact.email'], retention: [{ category: 'user', period: 'P2D' }] }),
  activity({
    activityId: 'act-improve',
    purpose: 'essential.service.operations.improve',
    categories: ['user.device.firmware_version', 'user.sensor.audio'],
    recipients: [RECIPIENTS[2]!],
    retention: [{ category: 'user.sensor.audio', period: 'PT12H' }],
  }),
];

/** One fact to record: its type and data, whose it is, and how long before the clock it happened. */
export interface Intent {
  readonly type: LedgerEventType;
  readonly subjectId: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  /** occurredAt = clock − backdateMs (negative: slightly in the future). */
  readonly backdateMs: number;
}

export type Step =
  | { readonly kind: 'batch'; readonly advanceMs: number; readonly intents: readonly Intent[] }
  | { readonly kind: 'sweep'; readonly advanceMs: number }
  /** The monitor closed and opened again; `rebuild` drops its states first (compliance.db as before states were kept). */
  | { readonly kind: 'restart'; readonly advanceMs: number; readonly rebuild: boolean };

const categories = fc.subarray([...CATEGORIES], { minLength: 1, maxLength: 3 });
const purposes = fc.subarray([...PURPOSES], { minLength: 1, maxLength: 2 });
const purpose = fc.constantFrom(...PURPOSES);
const legalBasis = fc.constantFrom('consent', 'contract', 'legitimate_interests', 'legal_obligation');
const recipient = fc.constantFrom(...RECIPIENTS);
const requestId = fc.constantFrom('r1', 'r2', 'r3');
const breachId = fc.constantFrom(...BREACHES);
const backdate = fc.oneof(fc.integer({ min: -HOUR_MS, max: HOUR_MS }), fc.integer({ min: 0, max: 5 * DAY_MS }));

function onSubject(type: LedgerEventType, data: fc.Arbitrary<Readonly<Record<string, unknown>>>): fc.Arbitrary<Intent> {
  return fc.record({ type: fc.constant(type), subjectId: fc.constantFrom<string | null>(...SUBJECTS), data, backdateMs: backdate });
}

function onBreach(type: LedgerEventType, data: fc.Arbitrary<Readonly<Record<string, unknown>>>): fc.Arbitrary<Intent> {
  return fc.record({ type: fc.constant(type), subjectId: fc.constant(null), data, backdateMs: backdate });
}

const processing = { categories, purpose, legalBasis };

const intent: fc.Arbitrary<Intent> = fc.oneof(
  { weight: 4, arbitrary: onSubject('PersonalDataCollected', fc.record({ ...processing, source: fc.constant('device'), processingActivityId: fc.constantFrom('act-rec', 'act-support', 'act-mkt', 'act-improve') }, { requiredKeys: ['categories', 'purpose', 'legalBasis', 'source'] })) },
  { weight: 3, arbitrary: onSubject('PersonalDataAccessed', fc.record({ ...processing, reasonCode: fc.constant('customer_initiated_support') })) },
  { weight: 2, arbitrary: onSubject('PersonalDataDisclosed', fc.record({ ...processing, recipient })) },
  {
    weight: 2,
    arbitrary: onSubject(
      'PersonalDataTransferred',
      fc.record({ ...processing, recipient, destinationCountry: fc.constantFrom('DE', 'CN', 'JP', 'US', 'IN'), mechanism: fc.constantFrom('none', 'adequacy_decision', 'standard_contractual_clauses') }),
    ),
  },
  { weight: 1, arbitrary: onSubject('AutomatedDecisionMade', fc.record({ ...processing, decision: fc.constant('tier'), producesLegalOrSimilarEffect: fc.boolean(), logicRef: fc.constant('model-7') })) },
  {
    weight: 4,
    arbitrary: onSubject('PersonalDataErased', fc.record({ categories: fc.subarray([...CATEGORIES], { minLength: 1, maxLength: 2 }), reason: fc.constantFrom('subject_request', 'retention_expired', 'child_data') })),
  },
  { weight: 2, arbitrary: onSubject('ConsentGranted', fc.record({ purposes, method: fc.constant('in_app') })) },
  { weight: 2, arbitrary: onSubject('ConsentWithdrawn', fc.record({ purposes })) },
  { weight: 1, arbitrary: onSubject('ProcessingRestricted', fc.record({ reason: fc.constant('accuracy contested'), purposes }, { requiredKeys: ['reason'] })) },
  { weight: 1, arbitrary: onSubject('ProcessingRestrictionLifted', fc.record({ reason: fc.constant('verified'), subjectInformedAt: fc.constant(HISTORY_START) })) },
  { weight: 3, arbitrary: onSubject('SubjectRequestReceived', fc.record({ requestId, right: fc.constant('access'), channel: fc.constant('email') })) },
  { weight: 3, arbitrary: onSubject('SubjectRequestIdentityVerified', fc.record({ requestId, method: fc.constant('document_check') })) },
  { weight: 2, arbitrary: onSubject('SubjectRequestExtended', fc.record({ requestId, reason: fc.constant('complex'), additionalMonths: fc.constantFrom(1, 2) })) },
  { weight: 3, arbitrary: onSubject('SubjectRequestFulfilled', fc.record({ requestId })) },
  { weight: 1, arbitrary: onSubject('SubjectRequestRejected', fc.record({ requestId, reason: fc.constant('manifestly unfounded') })) },
  { weight: 1, arbitrary: onSubject('SubjectAgeFlagged', fc.record({ minimumAge: fc.constant(16), evidence: fc.constant('parent_report') })) },
  { weight: 1, arbitrary: onSubject('SubjectKeyShredded', fc.record({ reason: fc.constant('account closed') })) },
  {
    weight: 3,
    arbitrary: onBreach(
      'BreachDetected',
      fc.record({ breachId, awareHoursBefore: fc.integer({ min: 0, max: 100 }), nature: fc.constant(['confidentiality']), categories: fc.constant(['user.contact.email']), approximateSubjects: fc.constant(40), description: fc.constant('export exposed') }),
    ),
  },
  { weight: 3, arbitrary: onBreach('BreachAssessed', fc.record({ breachId, risk: fc.constantFrom('unlikely', 'risk', 'high_risk'), rationale: fc.constant('assessed') })) },
  { weight: 3, arbitrary: onBreach('BreachReportedToAuthority', fc.record({ breachId, authority: fc.constant('CZ-UOOU'), reportRef: fc.constant('UOOU-1') })) },
  { weight: 3, arbitrary: onBreach('BreachSubjectsNotified', fc.record({ breachId, channel: fc.constant('email'), subjectsNotified: fc.constant(40) })) },
  { weight: 1, arbitrary: onBreach('BreachClosed', fc.record({ breachId, summary: fc.constant('closed') })) },
  { weight: 2, arbitrary: onBreach('ProcessingActivityRegistered', fc.constantFrom(...(ACTIVITIES as unknown as Array<Readonly<Record<string, unknown>>>))) },
);

const advance = fc.oneof(fc.integer({ min: 0, max: 2 * HOUR_MS }), fc.integer({ min: 0, max: 6 * DAY_MS }));

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('batch' as const), advanceMs: advance, intents: fc.array(intent, { minLength: 1, maxLength: 6, size: 'max' }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sweep' as const), advanceMs: advance }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), advanceMs: fc.constant(0), rebuild: fc.boolean() }) },
);

/** A history: up to `maxSteps` batches, sweeps and restarts. */
export function histories(maxSteps = 30): fc.Arbitrary<Step[]> {
  return fc.array(step, { minLength: 1, maxLength: maxSteps, size: 'max' });
}

const ACTOR: ActorRef = { id: 'svc-7', kind: 'service', system: 'device-cloud' };

/** The log a history builds, as the store would hold it: positions, streams, revisions; refused facts left out. */
export class HistoryLog {
  readonly events: StoredEvent[] = [];
  private readonly workflows = new Map<string, WorkflowState>();
  private readonly revisions = new Map<string, number>();

  /** Records the intents the ledger accepts at `now`; returns the stored events. */
  record(intents: readonly Intent[], now: Date): StoredEvent[] {
    const stored: StoredEvent[] = [];
    for (const intent of intents) {
      const occurredAt = new Date(now.getTime() - intent.backdateMs).toISOString();
      const { awareHoursBefore, ...given } = intent.data;
      const data: Record<string, unknown> = { ...given };
      if (typeof awareHoursBefore === 'number') data.awareAt = new Date(Date.parse(occurredAt) - awareHoursBefore * HOUR_MS).toISOString();
      const position = this.events.length;
      const event = { eventId: `ev-${position}`, type: intent.type, occurredAt, subjectId: intent.subjectId, actor: ACTOR, data, metadata: {} } as unknown as LedgerEvent;
      const streamId = streamOf(event);
      const workflow = this.workflows.get(streamId) ?? initialWorkflowState;
      try {
        decideWorkflow(workflow, event);
      } catch (error) {
        if (error instanceof WorkflowRejection) continue;
        throw error;
      }
      this.workflows.set(streamId, evolveWorkflow(workflow, event));
      const revision = this.revisions.get(streamId) ?? 0;
      this.revisions.set(streamId, revision + 1);
      const e: StoredEvent = {
        ...(event as unknown as Omit<StoredEvent, 'streamId' | 'streamRevision' | 'globalPosition' | 'recordedAt' | 'prevHash' | 'hash' | 'contentDigest'>),
        streamId,
        streamRevision: revision,
        globalPosition: position,
        recordedAt: now.toISOString(),
        prevHash: '0'.repeat(64),
        hash: '0'.repeat(64),
        contentDigest: '0'.repeat(64),
      };
      this.events.push(e);
      stored.push(e);
    }
    return stored;
  }
}
