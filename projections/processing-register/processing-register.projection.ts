import type { StoredEvent } from '../../src/event-store/event-store.port.js';
import type { Projection, RowChange } from '../projection.js';

/**
 * The Art. 30 record of processing activities, as registered in the `register-processing`
 * stream. A later registration of the same activity id replaces the earlier one (the log
 * keeps every version).
 */
export const PROCESSING_ACTIVITIES_TABLE = 'processing_activities';

export const processingRegisterProjection: Projection = {
  name: 'processing-register',
  version: 1,
  tables: [PROCESSING_ACTIVITIES_TABLE],
  schema: [
    `CREATE TABLE IF NOT EXISTS ${PROCESSING_ACTIVITIES_TABLE} (
      activity_id   TEXT PRIMARY KEY,
      registration  TEXT NOT NULL,
      registered_at TEXT NOT NULL,
      position      INTEGER NOT NULL
    )`,
  ],
  fold(event: StoredEvent): readonly RowChange[] {
    if (event.type !== 'ProcessingActivityRegistered' || typeof event.data['activityId'] !== 'string') return [];
    return [
      {
        kind: 'upsert',
        table: PROCESSING_ACTIVITIES_TABLE,
        row: {
          activity_id: event.data['activityId'] as string,
          registration: JSON.stringify(event.data),
          registered_at: event.occurredAt,
          position: event.globalPosition,
        },
      },
    ];
  },
};
