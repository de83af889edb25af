import type { StoredEvent } from '../../src/event-store/event-store.port.js';
import type { Projection, RowChange } from '../projection.js';

/**
 * Rights requests (Art. 12, 15-22): every lifecycle fact of every request, in log order.
 * The current state of a request is the domain's own fold (evolveWorkflow) over its rows,
 * done at query time, so deadlines follow exactly the rules the workflow enforces.
 */
export const SUBJECT_REQUEST_EVENTS_TABLE = 'subject_request_events';

const REQUEST_EVENT_TYPES = new Set([
  'SubjectRequestReceived',
  'SubjectRequestIdentityVerified',
  'SubjectRequestExtended',
  'SubjectRequestFulfilled',
  'SubjectRequestRejected',
]);

export const subjectRequestsProjection: Projection = {
  name: 'subject-requests',
  version: 1,
  tables: [SUBJECT_REQUEST_EVENTS_TABLE],
  schema: [
    `CREATE TABLE IF NOT EXISTS ${SUBJECT_REQUEST_EVENTS_TABLE} (
      position    INTEGER PRIMARY KEY,
      subject_id  TEXT NOT NULL,
      request_id  TEXT NOT NULL,
      type        TEXT NOT NULL,
      occurred_at TEXT NOT NULL,
      event       TEXT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS subject_request_events_by_request ON ${SUBJECT_REQUEST_EVENTS_TABLE}(request_id, position)`,
    `CREATE INDEX IF NOT EXISTS subject_request_events_by_subject ON ${SUBJECT_REQUEST_EVENTS_TABLE}(subject_id, position)`,
  ],
  fold(event: StoredEvent): readonly RowChange[] {
    if (!REQUEST_EVENT_TYPES.has(event.type) || event.subjectId === null) return [];
    const requestId = event.data['requestId'];
    if (typeof requestId !== 'string') return [];
    return [
      {
        kind: 'insert',
        table: SUBJECT_REQUEST_EVENTS_TABLE,
        row: {
          position: event.globalPosition,
          subject_id: event.subjectId,
          request_id: requestId,
          type: event.type,
          occurred_at: event.occurredAt,
          // Request facts hold no personal values (those stay in the encrypted pii part).
          event: JSON.stringify({ type: event.type, eventId: event.eventId, occurredAt: event.occurredAt, subjectId: event.subjectId, actor: event.actor, data: event.data, metadata: event.metadata }),
        },
      },
    ];
  },
};
