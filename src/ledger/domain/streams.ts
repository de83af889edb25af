import type { LedgerEvent, LedgerEventType } from './events.js';

/**
 * Where each event lives. Everything about one person is one stream, so
 * "who touched this person's data" is a single stream read.
 */
export type StreamKind = 'subject' | 'breach' | 'register' | 'notice';

export function streamKindOf(type: LedgerEventType): StreamKind {
  switch (type) {
    case 'BreachDetected':
    case 'BreachAssessed':
    case 'BreachReportedToAuthority':
    case 'BreachSubjectsNotified':
    case 'BreachClosed':
      return 'breach';
    case 'ProcessingActivityRegistered':
      return 'register';
    case 'PrivacyNoticePublished':
      return 'notice';
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
    case 'SubjectRequestReceived':
    case 'SubjectRequestIdentityVerified':
    case 'SubjectRequestExtended':
    case 'SubjectRequestFulfilled':
    case 'SubjectRequestRejected':
    case 'ProcessingRestricted':
    case 'ProcessingRestrictionLifted':
    case 'SubjectAffectedByBreach':
    case 'SubjectAgeFlagged':
    case 'SubjectKeyShredded':
      return 'subject';
    default: {
      const unhandled: never = type;
      throw new Error(`no stream for ${String(unhandled)}`);
    }
  }
}

export const REGISTER_STREAM = 'register-processing';

export function subjectStream(subjectId: string): string {
  return `subject-${subjectId}`;
}

export function streamOf(event: LedgerEvent): string {
  switch (event.type) {
    case 'BreachDetected':
    case 'BreachAssessed':
    case 'BreachReportedToAuthority':
    case 'BreachSubjectsNotified':
    case 'BreachClosed':
      return `breach-${event.data.breachId}`;
    case 'ProcessingActivityRegistered':
      return REGISTER_STREAM;
    case 'PrivacyNoticePublished':
      return `notice-${event.data.version}`;
    default:
      if (event.subjectId === null) throw new Error(`${event.type} needs a subjectId`);
      return subjectStream(event.subjectId);
  }
}
