import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '../../../event-store/event-store.port.js';
import { Followers } from '../../../followers/followers.js';
import { FOLLOWERS } from '../../../event-store/followers.js';
import { ProjectionRunner } from '../../../read-models/projection-runner.js';
import { SHREDDED_SUBJECTS_TABLE, SUBJECT_TIMELINE_TABLE } from '../../../../projections/subject-timeline/subject-timeline.projection.js';

export interface TimelineFilters {
  readonly from?: string;
  readonly to?: string;
  readonly category?: string;
  readonly purpose?: string;
  readonly actor?: string;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  /** Exclusive position to continue after (decoded cursor). */
  readonly after?: number;
  /** Log head of the first page: later pages stay within that snapshot (decoded cursor). */
  readonly snapshot?: number;
}

/** One answer to "who touched this person's data, when, and why". */
export interface TimelineEntry {
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly who: { readonly actorId: string; readonly kind: string; readonly system: string };
  readonly what: { readonly action: string; readonly categories: string[] };
  readonly why: {
    readonly purposes: string[];
    readonly legalBasis: string | null;
    readonly reasonCode: string | null;
    readonly ticketRef: string | null;
    readonly justification: string | null;
  };
  readonly recipient: Record<string, unknown> | null;
  readonly details: Record<string, unknown>;
  /** Whether the event carried personal values, and whether they are still readable. */
  readonly personalValues: 'none' | 'encrypted' | 'erased';
  readonly receipt: { readonly streamRevision: number; readonly globalPosition: number; readonly hash: string };
}

export interface TimelinePage {
  readonly subjectId: string;
  readonly entries: TimelineEntry[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
  /** Every event before this global position is reflected in the answer. */
  readonly asOfPosition: number;
}

export class GetSubjectTimelineQuery extends Query<TimelinePage> {
  constructor(
    readonly subjectId: string,
    readonly filters: TimelineFilters,
  ) {
    super();
  }
}

export interface TimelineRow {
  position: number;
  occurred_at: string;
  recorded_at: string;
  event_id: string;
  type: string;
  action: string;
  actor_id: string;
  actor_kind: string;
  actor_system: string;
  categories: string;
  purposes: string;
  legal_basis: string | null;
  reason_code: string | null;
  ticket_ref: string | null;
  justification: string | null;
  recipient: string | null;
  details: string;
  has_pii: number;
  stream_revision: number;
  hash: string;
}

/**
 * A cursor holds the last position returned and the log head of the first page, so paging
 * through a timeline shows one snapshot — not the access events the paging itself records.
 */
export function encodeCursor(after: number, snapshot: number): string {
  return Buffer.from(JSON.stringify({ p: after, h: snapshot }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { after: number; snapshot: number } | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown; h?: unknown };
    const valid = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    return valid(value.p) && valid(value.h) ? { after: value.p, snapshot: value.h } : null;
  } catch {
    return null;
  }
}

@QueryHandler(GetSubjectTimelineQuery)
export class GetSubjectTimelineHandler implements IQueryHandler<GetSubjectTimelineQuery, TimelinePage> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
  ) {}

  async execute({ subjectId, filters }: GetSubjectTimelineQuery): Promise<TimelinePage> {
    // Read-your-writes: wait until the read model holds everything acknowledged so far.
    const head = await this.feed.caughtUpToHead([FOLLOWERS.readModels]);

    const snapshot = filters.snapshot ?? head;
    const where = ['subject_id = ?', 'position < ?'];
    const params: Array<string | number> = [subjectId, snapshot];
    if (filters.after !== undefined) {
      where.push(filters.order === 'asc' ? 'position > ?' : 'position < ?');
      params.push(filters.after);
    }
    if (filters.from) {
      where.push('occurred_at >= ?');
      params.push(filters.from);
    }
    if (filters.to) {
      where.push('occurred_at < ?');
      params.push(filters.to);
    }
    if (filters.purpose) {
      where.push('EXISTS (SELECT 1 FROM json_each(purposes) WHERE value = ?)');
      params.push(filters.purpose);
    }
    if (filters.category) {
      where.push('EXISTS (SELECT 1 FROM json_each(categories) WHERE value = ?)');
      params.push(filters.category);
    }
    if (filters.actor) {
      where.push('actor_id = ?');
      params.push(filters.actor);
    }
    const rows = this.readModels.db
      .prepare(
        `SELECT * FROM ${SUBJECT_TIMELINE_TABLE} WHERE ${where.join(' AND ')} ORDER BY position ${filters.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(...params, filters.limit + 1) as TimelineRow[];
    const shredded = this.readModels.db.prepare(`SELECT 1 FROM ${SHREDDED_SUBJECTS_TABLE} WHERE subject_id = ?`).get(subjectId) !== undefined;

    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    return {
      subjectId,
      entries: page.map((row) => toEntry(row, shredded)),
      nextCursor: rows.length > filters.limit && last ? encodeCursor(last.position, snapshot) : null,
      asOfPosition: snapshot,
    };
  }
}

export function toEntry(row: TimelineRow, shredded: boolean): TimelineEntry {
  return {
    eventId: row.event_id,
    type: row.type,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    who: { actorId: row.actor_id, kind: row.actor_kind, system: row.actor_system },
    what: { action: row.action, categories: JSON.parse(row.categories) as string[] },
    why: {
      purposes: JSON.parse(row.purposes) as string[],
      legalBasis: row.legal_basis,
      reasonCode: row.reason_code,
      ticketRef: row.ticket_ref,
      justification: row.justification,
    },
    recipient: row.recipient === null ? null : (JSON.parse(row.recipient) as Record<string, unknown>),
    details: JSON.parse(row.details) as Record<string, unknown>,
    personalValues: row.has_pii === 0 ? 'none' : shredded ? 'erased' : 'encrypted',
    receipt: { streamRevision: row.stream_revision, globalPosition: row.position, hash: row.hash },
  };
}
