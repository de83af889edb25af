import type { LedgerEvent, LedgerEventType } from './events.js';

/**
 * Where each event lives. Everything about one person is one stream, so
 * "who touched this person's data" is a single stream read.
 */
export type StreamKind = 'subject' | 'breach' | 'register' | 'notice';

const STREAM_KIND: { readonly [T in LedgerEventType]: StreamKind } = {
  PersonalDataCollected: 'subject',
  PersonalDataAccessed: 'subject',
  PersonalDataDisclosed: 'subject',
  PersonalDataTransferred: 'subject',
  PersonalDataRectified: 'subject',
  PersonalDataErased: 'subject',
  AutomatedDecisionMade: 'subject',
  ConsentGranted: 'subject',
  ConsentWithdrawn: 'subject',
  PrivacyNoticePublished: 'notice',
  PrivacyNoticeAcknowledged: 'subject',
  SubjectRequestReceived: 'subject',
  SubjectRequestIdentityVerified: 'subject',
  SubjectRequestExtended: 'subject',
  SubjectRequestFulfilled: 'subject',
  SubjectRequestRejected: 'subject',
  ProcessingRestricted: 'subject',
  ProcessingRestrictionLifted: 'subject',
  BreachDetected: 'breach',
  BreachAssessed: 'breach',
  BreachReportedToAuthority: 'breach',
  BreachSubjectsNotified: 'breach',
  BreachClosed: 'breach',
  SubjectAffectedByBreach: 'subject',
  SubjectAgeFlagged: 'subject',
  SubjectKeyShredded: 'subject',
  ProcessingActivityRegistered: 'register',
};

export function streamKindOf(type: LedgerEventType): StreamKind {
  return STREAM_KIND[type];
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
