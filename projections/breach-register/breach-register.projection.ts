import type { StoredEvent } from '../../src/event-store/event-store.port.js';
import type { Projection, RowChange } from '../projection.js';

/**
 * The Art. 33(5) breach register: every fact of every breach (detection, assessment, notices,
 * closure) and every subject recorded as affected, in log order. The register view and its
 * 72-hour clock are folded from these rows at query time.
 */
export const BREACH_EVENTS_TABLE = 'breach_events';

const BREACH_TYPES = new Set(['BreachDetected', 'BreachAssessed', 'BreachReportedToAuthority', 'BreachSubjectsNotified', 'BreachClosed', 'SubjectAffectedByBreach']);

export const breachRegisterProjection: Projection = {
  name: 'breach-register',
  version: 1,
  tables: [BREACH_EVENTS_TABLE],
  schema: [
    `CREATE TABLE IF NOT EXISTS ${BREACH_EVENTS_TABLE} (
      position    INTEGER PRIMARY KEY,
      breach_id   TEXT NOT NULL,
      type        TEXT NOT NULL,
      occurred_at TEXT NOT NULL,
      subject_id  TEXT,
      data        TEXT NOT NULL,
      event_id    TEXT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS breach_events_by_breach ON ${BREACH_EVENTS_TABLE}(breach_id, position)`,
  ],
  fold(event: StoredEvent): readonly RowChange[] {
    const breachId = event.data['breachId'];
    if (!BREACH_TYPES.has(event.type) || typeof breachId !== 'string') return [];
    return [
      {
        kind: 'insert',
        table: BREACH_EVENTS_TABLE,
        row: {
          position: event.globalPosition,
          breach_id: breachId,
          type: event.type,
          occurred_at: event.occurredAt,
          subject_id: event.subjectId,
          data: JSON.stringify(event.data),
          event_id: event.eventId,
        },
      },
    ];
  },
};
