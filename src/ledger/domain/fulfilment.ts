import type { ActorRef, LedgerEvent } from './events.js';
import type { RequestState, WorkflowState } from './workflow.js';

/**
 * What fulfilling a rights request records, besides `SubjectRequestFulfilled`:
 * - erasure (Art. 17): the personal data is erased and the subject's key shredded — after which
 *   every personal value in the log is unreadable while who/what/when/why stays;
 * - restriction (Art. 18): processing is restricted until a `ProcessingRestrictionLifted`;
 * - consent withdrawal (Art. 7(3)) and objection (Art. 21): consent is withdrawn for the
 *   request's purposes.
 * Pure: ids and time come from the caller.
 */
export interface FulfilmentInput {
  readonly subjectId: string;
  readonly requestId: string;
  readonly request: RequestState;
  readonly state: WorkflowState;
  /** Purposes named when the request was received. */
  readonly purposes: readonly string[];
  /** Categories of personal data recorded for the subject (for the erasure record). */
  readonly categories: readonly string[];
  readonly outcome?: string;
  readonly actor: ActorRef;
  readonly occurredAt: string;
  readonly newEventId: () => string;
}

export function fulfilmentEvents(input: FulfilmentInput): LedgerEvent[] {
  const base = { occurredAt: input.occurredAt, subjectId: input.subjectId, actor: input.actor, metadata: { causationId: input.requestId } };
  const { requestId } = input;
  const effects: LedgerEvent[] = [];
  switch (input.request.right) {
    case 'erasure':
      effects.push({
        ...base,
        eventId: input.newEventId(),
        type: 'PersonalDataErased',
        data: { categories: input.categories.length > 0 ? [...input.categories] : ['user'], reason: 'subject_request', requestId },
      });
      if (!input.state.keyShredded) {
        effects.push({ ...base, eventId: input.newEventId(), type: 'SubjectKeyShredded', data: { reason: 'erasure request fulfilled (Art. 17)', requestId } });
      }
      break;
    case 'restriction':
      effects.push({
        ...base,
        eventId: input.newEventId(),
        type: 'ProcessingRestricted',
        data: { reason: 'restriction request fulfilled (Art. 18)', requestId, ...(input.purposes.length > 0 ? { purposes: [...input.purposes] } : {}) },
      });
      break;
    case 'consent_withdrawal':
    case 'objection':
      if (input.purposes.length > 0) {
        effects.push({ ...base, eventId: input.newEventId(), type: 'ConsentWithdrawn', data: { purposes: [...input.purposes], requestId } });
      }
      break;
    default:
      break;
  }
  effects.push({
    ...base,
    eventId: input.newEventId(),
    type: 'SubjectRequestFulfilled',
    data: { requestId, ...(input.outcome ? { outcome: input.outcome } : {}) },
  });
  return effects;
}

/** Whether fulfilling these events destroys the subject's key (it must happen before they are recorded). */
export function shredsKey(events: readonly LedgerEvent[]): boolean {
  return events.some((e) => e.type === 'SubjectKeyShredded');
}
