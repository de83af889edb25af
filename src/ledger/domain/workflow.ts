import type { LedgerEvent, LedgerEventType } from './events.js';

/**
 * The ledger's own workflow state machines: rights requests (Art. 12, 15-22),
 * restriction (Art. 18), key shredding (Art. 17), breaches (Art. 33-34) and notices.
 *
 * Principle: a fact is refused only when it contradicts these machines (fulfilling a
 * request that was never received). A fact that merely reveals a violation — access after
 * erasure, a late breach notice — is accepted and flagged by a projection, never refused.
 */

export type RequestStatus = 'received' | 'verified' | 'fulfilled' | 'rejected';

export interface RequestState {
  readonly right: string;
  readonly status: RequestStatus;
  readonly receivedAt: string;
  /** Art. 12(3): one month after receipt, extended by up to two further months. */
  readonly dueBy: string;
  readonly extended: boolean;
}

export interface WorkflowState {
  readonly requests: ReadonlyMap<string, RequestState>;
  readonly restricted: boolean;
  readonly keyShredded: boolean;
  readonly breach: 'none' | 'open' | 'closed';
  readonly noticePublished: boolean;
}

export const initialWorkflowState: WorkflowState = {
  requests: new Map(),
  restricted: false,
  keyShredded: false,
  breach: 'none',
  noticePublished: false,
};

export class WorkflowRejection extends Error {
  override readonly name = 'WorkflowRejection';
  constructor(
    readonly field: string,
    readonly currentState: string,
    message: string,
  ) {
    super(message);
  }
}

/** Event types whose acceptance depends on the stream's workflow state (a missing type is a compile error). */
const NEEDS_WORKFLOW_STATE: { readonly [T in LedgerEventType]: boolean } = {
  SubjectRequestReceived: true,
  SubjectRequestIdentityVerified: true,
  SubjectRequestExtended: true,
  SubjectRequestFulfilled: true,
  SubjectRequestRejected: true,
  ProcessingRestrictionLifted: true,
  SubjectKeyShredded: true,
  BreachDetected: true,
  BreachAssessed: true,
  BreachReportedToAuthority: true,
  BreachSubjectsNotified: true,
  BreachClosed: true,
  PrivacyNoticePublished: true,
  PersonalDataCollected: false,
  PersonalDataAccessed: false,
  PersonalDataDisclosed: false,
  PersonalDataTransferred: false,
  PersonalDataRectified: false,
  PersonalDataErased: false,
  AutomatedDecisionMade: false,
  ConsentGranted: false,
  ConsentWithdrawn: false,
  PrivacyNoticeAcknowledged: false,
  ProcessingRestricted: false,
  SubjectAffectedByBreach: false,
  SubjectAgeFlagged: false,
  ProcessingActivityRegistered: false,
};

export function needsWorkflowState(type: LedgerEventType): boolean {
  return NEEDS_WORKFLOW_STATE[type];
}

/**
 * Adds calendar months the way Art. 12(3) deadlines are counted: the same day of the
 * month, or the last day of a shorter month (31 Jan + 1 month = 28/29 Feb).
 */
export function addCalendarMonths(isoInstant: string, months: number): string {
  const d = new Date(isoInstant);
  const day = d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.toISOString();
}

function requireRequest(state: WorkflowState, requestId: string): RequestState {
  const request = state.requests.get(requestId);
  if (!request) {
    throw new WorkflowRejection('data.requestId', 'not_received', `request ${requestId} was never received on this subject`);
  }
  return request;
}

function requireOpen(request: RequestState, requestId: string, action: string): void {
  if (request.status === 'fulfilled' || request.status === 'rejected') {
    throw new WorkflowRejection('data.requestId', request.status, `request ${requestId} is already ${request.status}; it cannot be ${action}`);
  }
}

/** Throws WorkflowRejection when `event` is impossible in `state`. Pure. */
export function decideWorkflow(state: WorkflowState, event: LedgerEvent): void {
  switch (event.type) {
    case 'SubjectRequestReceived': {
      const existing = state.requests.get(event.data.requestId);
      if (existing) {
        throw new WorkflowRejection('data.requestId', existing.status, `request ${event.data.requestId} was already received`);
      }
      return;
    }
    case 'SubjectRequestIdentityVerified': {
      const request = requireRequest(state, event.data.requestId);
      requireOpen(request, event.data.requestId, 'verified');
      if (request.status === 'verified') {
        throw new WorkflowRejection('data.requestId', 'verified', `request ${event.data.requestId} is already verified`);
      }
      return;
    }
    case 'SubjectRequestExtended': {
      const request = requireRequest(state, event.data.requestId);
      requireOpen(request, event.data.requestId, 'extended');
      if (request.extended) {
        throw new WorkflowRejection('data.requestId', `${request.status}, extended`, `request ${event.data.requestId} was already extended; a request is extended once, by one or two months, within the first month`);
      }
      // Art. 12(3): the subject is told of an extension within one month of receipt.
      if (event.occurredAt > request.dueBy) {
        throw new WorkflowRejection('occurredAt', request.status, `an extension must be decided within the first month (by ${request.dueBy})`);
      }
      return;
    }
    case 'SubjectRequestFulfilled': {
      const request = requireRequest(state, event.data.requestId);
      requireOpen(request, event.data.requestId, 'fulfilled');
      // Art. 12(6): data is released only to a requester whose identity is established.
      if (request.status !== 'verified') {
        throw new WorkflowRejection('data.requestId', request.status, `request ${event.data.requestId} cannot be fulfilled before the requester's identity is verified`);
      }
      return;
    }
    case 'SubjectRequestRejected': {
      const request = requireRequest(state, event.data.requestId);
      requireOpen(request, event.data.requestId, 'rejected');
      return;
    }
    case 'ProcessingRestrictionLifted':
      if (!state.restricted) {
        throw new WorkflowRejection('type', 'not_restricted', 'processing of this subject is not restricted');
      }
      return;
    case 'SubjectKeyShredded':
      if (state.keyShredded) throw new WorkflowRejection('type', 'shredded', "this subject's key is already shredded");
      return;
    case 'BreachDetected':
      if (state.breach !== 'none') {
        throw new WorkflowRejection('data.breachId', state.breach, `breach ${event.data.breachId} was already detected`);
      }
      return;
    case 'BreachAssessed':
    case 'BreachReportedToAuthority':
    case 'BreachSubjectsNotified':
    case 'BreachClosed':
      if (state.breach === 'none') {
        throw new WorkflowRejection('data.breachId', 'not_detected', `breach ${event.data.breachId} was never detected`);
      }
      if (state.breach === 'closed') {
        throw new WorkflowRejection('data.breachId', 'closed', `breach ${event.data.breachId} is closed`);
      }
      return;
    case 'PrivacyNoticePublished':
      if (state.noticePublished) {
        throw new WorkflowRejection('data.version', 'published', `notice version ${event.data.version} was already published`);
      }
      return;
    case 'PersonalDataCollected':
    case 'PersonalDataAccessed':
    case 'PersonalDataDisclosed':
    case 'PersonalDataTransferred':
    case 'PersonalDataRectified':
    case 'PersonalDataErased':
    case 'AutomatedDecisionMade':
    case 'ConsentGranted':
    case 'ConsentWithdrawn':
    case 'PrivacyNoticeAcknowledged':
    case 'ProcessingRestricted':
    case 'SubjectAffectedByBreach':
    case 'SubjectAgeFlagged':
    case 'ProcessingActivityRegistered':
      return;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled event ${JSON.stringify(unhandled)}`);
    }
  }
}

/** Folds one event into the workflow state. Pure. */
export function evolveWorkflow(state: WorkflowState, event: LedgerEvent): WorkflowState {
  const withRequest = (requestId: string, update: (r: RequestState) => RequestState): WorkflowState => {
    const current = state.requests.get(requestId);
    if (!current) return state;
    const requests = new Map(state.requests);
    requests.set(requestId, update(current));
    return { ...state, requests };
  };
  switch (event.type) {
    case 'SubjectRequestReceived': {
      const requests = new Map(state.requests);
      requests.set(event.data.requestId, {
        right: event.data.right,
        status: 'received',
        receivedAt: event.occurredAt,
        dueBy: addCalendarMonths(event.occurredAt, 1),
        extended: false,
      });
      return { ...state, requests };
    }
    case 'SubjectRequestIdentityVerified':
      return withRequest(event.data.requestId, (r) => ({ ...r, status: 'verified' }));
    case 'SubjectRequestExtended': {
      const months = event.data.additionalMonths;
      return withRequest(event.data.requestId, (r) => ({ ...r, extended: true, dueBy: addCalendarMonths(r.receivedAt, 1 + months) }));
    }
    case 'SubjectRequestFulfilled':
      return withRequest(event.data.requestId, (r) => ({ ...r, status: 'fulfilled' }));
    case 'SubjectRequestRejected':
      return withRequest(event.data.requestId, (r) => ({ ...r, status: 'rejected' }));
    case 'ProcessingRestricted':
      return { ...state, restricted: true };
    case 'ProcessingRestrictionLifted':
      return { ...state, restricted: false };
    case 'SubjectKeyShredded':
      return { ...state, keyShredded: true };
    case 'BreachDetected':
      return { ...state, breach: 'open' };
    case 'BreachClosed':
      return { ...state, breach: 'closed' };
    case 'PrivacyNoticePublished':
      return { ...state, noticePublished: true };
    case 'BreachAssessed':
    case 'BreachReportedToAuthority':
    case 'BreachSubjectsNotified':
    case 'PersonalDataCollected':
    case 'PersonalDataAccessed':
    case 'PersonalDataDisclosed':
    case 'PersonalDataTransferred':
    case 'PersonalDataRectified':
    case 'PersonalDataErased':
    case 'AutomatedDecisionMade':
    case 'ConsentGranted':
    case 'ConsentWithdrawn':
    case 'PrivacyNoticeAcknowledged':
    case 'SubjectAffectedByBreach':
    case 'SubjectAgeFlagged':
    case 'ProcessingActivityRegistered':
      return state;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled event ${JSON.stringify(unhandled)}`);
    }
  }
}
