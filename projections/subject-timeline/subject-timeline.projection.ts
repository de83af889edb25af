import type { StoredEvent } from '../../src/event-store/event-store.port.js';
import { LEDGER_EVENT_TYPES, type LedgerEventType } from '../../src/ledger/domain/events.js';
import type { Projection, RowChange } from '../projection.js';

/**
 * Subject timeline: for one person, who touched their data, when, and why.
 * One row per event in a subject's stream; nothing personal beyond the pseudonymous id
 * (the encrypted `pii` part is never copied here, only whether it exists).
 */
export const SUBJECT_TIMELINE_TABLE = 'subject_timeline';
/** Subjects whose data key was shredded: their personal values show as erased everywhere. */
export const SHREDDED_SUBJECTS_TABLE = 'shredded_subjects';

export const ACTION_OF: { readonly [T in LedgerEventType]: string } = {
  PersonalDataCollected: 'collected',
  PersonalDataAccessed: 'accessed',
  PersonalDataDisclosed: 'disclosed',
  PersonalDataTransferred: 'transferred',
  PersonalDataRectified: 'rectified',
  PersonalDataErased: 'erased',
  AutomatedDecisionMade: 'decided_automatically',
  ConsentGranted: 'consent_granted',
  ConsentWithdrawn: 'consent_withdrawn',
  PrivacyNoticePublished: 'notice_published',
  PrivacyNoticeAcknowledged: 'notice_acknowledged',
  SubjectRequestReceived: 'request_received',
  SubjectRequestIdentityVerified: 'request_identity_verified',
  SubjectRequestExtended: 'request_extended',
  SubjectRequestFulfilled: 'request_fulfilled',
  SubjectRequestRejected: 'request_rejected',
  ProcessingRestricted: 'processing_restricted',
  ProcessingRestrictionLifted: 'processing_restriction_lifted',
  BreachDetected: 'breach_detected',
  BreachAssessed: 'breach_assessed',
  BreachReportedToAuthority: 'breach_reported',
  BreachSubjectsNotified: 'breach_subjects_notified',
  BreachClosed: 'breach_closed',
  SubjectAffectedByBreach: 'affected_by_breach',
  SubjectAgeFlagged: 'age_flagged',
  SubjectKeyShredded: 'key_shredded',
  ProcessingActivityRegistered: 'activity_registered',
};

/** The action of each ledger event type: one lookup answers both "is it one" (isLedgerEventType) and its action. */
const ACTIONS: ReadonlyMap<string, string> = new Map(LEDGER_EVENT_TYPES.map((type) => [type, ACTION_OF[type]]));

/** Fields lifted into their own columns; every other data field stays in `details`. */
const WHY_FIELDS = new Set(['categories', 'purpose', 'purposes', 'legalBasis', 'reasonCode', 'ticketRef', 'justification', 'recipient']);
const NO_CHANGES: readonly RowChange[] = [];

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** JSON of the data fields that have no column of their own (`{}` when there are none). */
function detailsOf(data: StoredEvent['data']): string {
  let details: Record<string, unknown> | null = null;
  for (const key in data) if (!WHY_FIELDS.has(key)) (details ??= {})[key] = data[key];
  return details === null ? '{}' : JSON.stringify(details);
}

export const subjectTimelineProjection: Projection = {
  name: 'subject-timeline',
  version: 1,
  tables: [SUBJECT_TIMELINE_TABLE, SHREDDED_SUBJECTS_TABLE],
  schema: [
    `CREATE TABLE IF NOT EXISTS ${SUBJECT_TIMELINE_TABLE} (
      position      INTEGER PRIMARY KEY,
      subject_id    TEXT NOT NULL,
      occurred_at   TEXT NOT NULL,
      recorded_at   TEXT NOT NULL,
      event_id      TEXT NOT NULL,
      type          TEXT NOT NULL,
      action        TEXT NOT NULL,
      actor_id      TEXT NOT NULL,
      actor_kind    TEXT NOT NULL,
      actor_system  TEXT NOT NULL,
      categories    TEXT NOT NULL,
      purposes      TEXT NOT NULL,
      legal_basis   TEXT,
      reason_code   TEXT,
      ticket_ref    TEXT,
      justification TEXT,
      recipient     TEXT,
      details       TEXT NOT NULL,
      has_pii       INTEGER NOT NULL,
      stream_revision INTEGER NOT NULL,
      hash          TEXT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS subject_timeline_by_subject ON ${SUBJECT_TIMELINE_TABLE}(subject_id, position)`,
    `CREATE INDEX IF NOT EXISTS subject_timeline_by_actor ON ${SUBJECT_TIMELINE_TABLE}(actor_id, position)`,
    `CREATE TABLE IF NOT EXISTS ${SHREDDED_SUBJECTS_TABLE} (
      subject_id  TEXT PRIMARY KEY,
      shredded_at TEXT NOT NULL,
      position    INTEGER NOT NULL
    )`,
  ],
  fold(event: StoredEvent): readonly RowChange[] {
    if (event.subjectId === null) return NO_CHANGES;
    const action = ACTIONS.get(event.type);
    if (action === undefined) return NO_CHANGES;
    const data = event.data;
    const purpose = data['purpose'];
    const purposes = data['purposes'];
    const categories = data['categories'];
    const timeline: RowChange = {
      kind: 'insert',
      table: SUBJECT_TIMELINE_TABLE,
      row: {
        position: event.globalPosition,
        subject_id: event.subjectId,
        occurred_at: event.occurredAt,
        recorded_at: event.recordedAt,
        event_id: event.eventId,
        type: event.type,
        action,
        actor_id: event.actor.id,
        actor_kind: event.actor.kind,
        actor_system: event.actor.system,
        categories: Array.isArray(categories) ? JSON.stringify(categories) : '[]',
        // The same text as JSON.stringify([purpose]), without the array.
        purposes: typeof purpose === 'string' ? `[${JSON.stringify(purpose)}]` : Array.isArray(purposes) ? JSON.stringify(purposes) : '[]',
        legal_basis: text(data['legalBasis']),
        reason_code: text(data['reasonCode']),
        ticket_ref: text(data['ticketRef']),
        justification: text(data['justification']),
        recipient: data['recipient'] === undefined ? null : JSON.stringify(data['recipient']),
        details: detailsOf(data),
        has_pii: event.pii === undefined ? 0 : 1,
        stream_revision: event.streamRevision,
        hash: event.hash,
      },
    };
    if (event.type !== 'SubjectKeyShredded') return [timeline];
    return [
      {
        kind: 'upsert',
        table: SHREDDED_SUBJECTS_TABLE,
        row: { subject_id: event.subjectId, shredded_at: event.recordedAt, position: event.globalPosition },
      },
      timeline,
    ];
  },
};
