import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CLOCK, type Clock } from '../../../clock.js';
import { EVENT_STORE, type EventStore } from '../../../event-store/event-store.port.js';
import { Followers } from '../../../followers/followers.js';
import { FOLLOWERS } from '../../../event-store/followers.js';
import { ProjectionRunner } from '../../../read-models/projection-runner.js';
import { SUBJECT_REQUEST_EVENTS_TABLE } from '../../../../projections/subject-requests/subject-requests.projection.js';
import type { LedgerEvent } from '../../domain/events.js';
import { evolveWorkflow, initialWorkflowState, type RequestStatus, type WorkflowState } from '../../domain/workflow.js';

/** A rights request as the DPO works it: state, deadline (Art. 12(3)) and history. */
export interface SubjectRequestView {
  readonly requestId: string;
  readonly subjectId: string;
  readonly right: string;
  readonly status: RequestStatus;
  readonly receivedAt: string;
  readonly dueBy: string;
  readonly extended: boolean;
  /** Whole days until `dueBy` (negative when late); null once the request is closed. */
  readonly daysLeft: number | null;
  readonly overdue: boolean;
  readonly purposes: string[];
  readonly history: Array<{ type: string; occurredAt: string; actorId: string; eventId: string }>;
}

export interface RequestFilters {
  readonly status?: RequestStatus | 'open';
  readonly overdue?: boolean;
  readonly subjectId?: string;
  readonly requestId?: string;
  readonly right?: string;
}

export class ListSubjectRequestsQuery extends Query<SubjectRequestView[]> {
  constructor(readonly filters: RequestFilters) {
    super();
  }
}

const DAY_MS = 86_400_000;

/** Folds request facts with the domain's own evolve, so views follow the workflow's rules exactly. */
export function requestViews(events: readonly LedgerEvent[], now: Date): SubjectRequestView[] {
  const states = new Map<string, WorkflowState>();
  const history = new Map<string, SubjectRequestView['history']>();
  const purposes = new Map<string, string[]>();
  for (const event of events) {
    if (event.subjectId === null || !('requestId' in event.data)) continue;
    const requestId = event.data.requestId as string;
    const key = `${event.subjectId}\u0000${requestId}`;
    states.set(key, evolveWorkflow(states.get(key) ?? initialWorkflowState, event));
    history.set(key, [...(history.get(key) ?? []), { type: event.type, occurredAt: event.occurredAt, actorId: event.actor.id, eventId: event.eventId }]);
    if (event.type === 'SubjectRequestReceived') purposes.set(key, [...(event.data.purposes ?? [])]);
  }
  const views: SubjectRequestView[] = [];
  for (const [key, state] of states) {
    const [subjectId, requestId] = key.split('\u0000') as [string, string];
    const request = state.requests.get(requestId);
    if (!request) continue;
    const open = request.status === 'received' || request.status === 'verified';
    const msLeft = new Date(request.dueBy).getTime() - now.getTime();
    views.push({
      requestId,
      subjectId,
      right: request.right,
      status: request.status,
      receivedAt: request.receivedAt,
      dueBy: request.dueBy,
      extended: request.extended,
      daysLeft: open ? Math.floor(msLeft / DAY_MS) : null,
      overdue: open && msLeft < 0,
      purposes: purposes.get(key) ?? [],
      history: history.get(key) ?? [],
    });
  }
  return views.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.requestId.localeCompare(b.requestId));
}

@QueryHandler(ListSubjectRequestsQuery)
export class ListSubjectRequestsHandler implements IQueryHandler<ListSubjectRequestsQuery, SubjectRequestView[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ filters }: ListSubjectRequestsQuery): Promise<SubjectRequestView[]> {
    await this.feed.caughtUpToHead([FOLLOWERS.readModels]);
    const where: string[] = [];
    const params: string[] = [];
    if (filters.subjectId) {
      where.push('subject_id = ?');
      params.push(filters.subjectId);
    }
    if (filters.requestId) {
      where.push('request_id = ?');
      params.push(filters.requestId);
    }
    const rows = this.readModels.db
      .prepare(`SELECT event FROM ${SUBJECT_REQUEST_EVENTS_TABLE} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY position`)
      .all(...params) as Array<{ event: string }>;
    return requestViews(
      rows.map((r) => JSON.parse(r.event) as LedgerEvent),
      this.clock(),
    ).filter(
      (v) =>
        (filters.status === undefined ||
          v.status === filters.status ||
          (filters.status === 'open' && (v.status === 'received' || v.status === 'verified'))) &&
        (filters.overdue === undefined || v.overdue === filters.overdue) &&
        (filters.right === undefined || v.right === filters.right),
    );
  }
}
