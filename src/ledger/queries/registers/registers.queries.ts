import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CLOCK, type Clock } from '../../../clock.js';
import { EVENT_STORE, type EventStore } from '../../../event-store/event-store.port.js';
import { Followers } from '../../../followers/followers.js';
import { FOLLOWERS } from '../../../event-store/followers.js';
import { ProjectionRunner } from '../../../read-models/projection-runner.js';
import { BREACH_EVENTS_TABLE } from '../../../../projections/breach-register/breach-register.projection.js';
import { PROCESSING_ACTIVITIES_TABLE } from '../../../../projections/processing-register/processing-register.projection.js';
import { SHREDDED_SUBJECTS_TABLE, SUBJECT_TIMELINE_TABLE } from '../../../../projections/subject-timeline/subject-timeline.projection.js';
import type { ProcessingActivityRegistered } from '../../domain/events.js';
import { toEntry, type TimelineEntry, type TimelineRow } from '../subject-timeline/subject-timeline.query.js';

/** Read-your-writes: the read models hold everything acknowledged; returns that log head. */
function caughtUp(feed: Followers): Promise<number> {
  return feed.caughtUpToHead([FOLLOWERS.readModels]);
}

// ── processing across subjects: disclosures, transfers, one actor's activity ─────────────
export interface ProcessingFilters {
  readonly types: readonly string[];
  readonly actorId?: string;
  readonly recipientId?: string;
  readonly country?: string;
  readonly mechanism?: string;
  readonly from?: string;
  readonly to?: string;
  readonly after?: number;
  readonly snapshot?: number;
  readonly limit: number;
}

export interface ProcessingPage {
  readonly entries: Array<TimelineEntry & { subjectId: string }>;
  readonly nextCursor: { after: number; snapshot: number } | null;
  readonly asOfPosition: number;
}

export class ListProcessingQuery extends Query<ProcessingPage> {
  constructor(readonly filters: ProcessingFilters) {
    super();
  }
}

@QueryHandler(ListProcessingQuery)
export class ListProcessingHandler implements IQueryHandler<ListProcessingQuery, ProcessingPage> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
  ) {}

  async execute({ filters }: ListProcessingQuery): Promise<ProcessingPage> {
    const head = await caughtUp(this.feed);
    const snapshot = filters.snapshot ?? head;
    const where = ['t.position < ?'];
    const params: Array<string | number> = [snapshot];
    if (filters.types.length > 0) {
      where.push(`type IN (${filters.types.map(() => '?').join(', ')})`);
      params.push(...filters.types);
    }
    const add = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    add('actor_id = ?', filters.actorId);
    add("json_extract(recipient, '$.id') = ?", filters.recipientId);
    add("json_extract(details, '$.destinationCountry') = ?", filters.country);
    add("json_extract(details, '$.mechanism') = ?", filters.mechanism);
    add('occurred_at >= ?', filters.from);
    add('occurred_at < ?', filters.to);
    add('t.position > ?', filters.after);
    const rows = this.readModels.db
      .prepare(`SELECT t.*, s.subject_id IS NOT NULL AS shredded FROM ${SUBJECT_TIMELINE_TABLE} t LEFT JOIN ${SHREDDED_SUBJECTS_TABLE} s USING (subject_id) WHERE ${where.join(' AND ')} ORDER BY t.position LIMIT ?`)
      .all(...params, filters.limit + 1) as Array<TimelineRow & { subject_id: string; shredded: number }>;
    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    return {
      entries: page.map((row) => ({ subjectId: row.subject_id, ...toEntry(row, row.shredded === 1) })),
      nextCursor: rows.length > filters.limit && last ? { after: last.position, snapshot } : null,
      asOfPosition: snapshot,
    };
  }
}

// ── Art. 19: who received this person's data ──────────────────────────────────────────────
export interface RecipientView {
  readonly id: string;
  readonly kind: string;
  readonly country: string | null;
  readonly categories: string[];
  readonly purposes: string[];
  readonly mechanisms: string[];
  readonly times: number;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly evidence: Array<{ eventId: string; globalPosition: number }>;
}

export class ListSubjectRecipientsQuery extends Query<RecipientView[]> {
  constructor(readonly subjectId: string) {
    super();
  }
}

@QueryHandler(ListSubjectRecipientsQuery)
export class ListSubjectRecipientsHandler implements IQueryHandler<ListSubjectRecipientsQuery, RecipientView[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
  ) {}

  async execute({ subjectId }: ListSubjectRecipientsQuery): Promise<RecipientView[]> {
    await caughtUp(this.feed);
    const rows = this.readModels.db
      .prepare(`SELECT * FROM ${SUBJECT_TIMELINE_TABLE} WHERE subject_id = ? AND recipient IS NOT NULL ORDER BY position`)
      .all(subjectId) as TimelineRow[];
    const byRecipient = new Map<string, { view: Omit<RecipientView, 'categories' | 'purposes' | 'mechanisms'>; categories: Set<string>; purposes: Set<string>; mechanisms: Set<string> }>();
    for (const row of rows) {
      const entry = toEntry(row, false);
      const r = entry.recipient as { id: string; kind: string; country?: string };
      const key = `${r.kind}:${r.id}`;
      const found = byRecipient.get(key) ?? {
        view: { id: r.id, kind: r.kind, country: r.country ?? null, times: 0, firstAt: entry.occurredAt, lastAt: entry.occurredAt, evidence: [] },
        categories: new Set<string>(),
        purposes: new Set<string>(),
        mechanisms: new Set<string>(),
      };
      found.view = { ...found.view, times: found.view.times + 1, lastAt: entry.occurredAt, evidence: [...found.view.evidence, { eventId: entry.eventId, globalPosition: entry.receipt.globalPosition }] };
      for (const c of entry.what.categories) found.categories.add(c);
      for (const p of entry.why.purposes) found.purposes.add(p);
      if (typeof entry.details['mechanism'] === 'string') found.mechanisms.add(entry.details['mechanism']);
      byRecipient.set(key, found);
    }
    return [...byRecipient.values()].map((r) => ({ ...r.view, categories: [...r.categories].sort(), purposes: [...r.purposes].sort(), mechanisms: [...r.mechanisms].sort() }));
  }
}

// ── Art. 33(5): the breach register with its 72-hour clock ───────────────────────────────
export interface BreachView {
  readonly breachId: string;
  readonly awareAt: string;
  readonly detectedAt: string;
  readonly nature: string[];
  readonly categories: string[];
  readonly approximateSubjects: number;
  readonly description: string;
  readonly risk: string | null;
  readonly riskRationale: string | null;
  /** Art. 33(1): 72 hours from awareness. */
  readonly authorityClock: {
    readonly deadline: string;
    readonly status: 'pending' | 'overdue' | 'notified_on_time' | 'notified_late' | 'not_required';
    readonly hoursLeft: number | null;
  };
  readonly notices: Array<{ to: 'authority' | 'subjects'; at: string; hoursAfterAwareness: number; details: Record<string, unknown>; eventId: string }>;
  readonly affectedSubjects: number;
  readonly closed: { at: string; summary: string } | null;
}

export class ListBreachesQuery extends Query<BreachView[]> {
  constructor(readonly breachId?: string) {
    super();
  }
}

interface BreachRow {
  breach_id: string;
  type: string;
  occurred_at: string;
  subject_id: string | null;
  data: string;
  event_id: string;
}

@QueryHandler(ListBreachesQuery)
export class ListBreachesHandler implements IQueryHandler<ListBreachesQuery, BreachView[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ breachId }: ListBreachesQuery): Promise<BreachView[]> {
    await caughtUp(this.feed);
    const rows = (
      breachId
        ? this.readModels.db.prepare(`SELECT * FROM ${BREACH_EVENTS_TABLE} WHERE breach_id = ? ORDER BY position`).all(breachId)
        : this.readModels.db.prepare(`SELECT * FROM ${BREACH_EVENTS_TABLE} ORDER BY position`).all()
    ) as BreachRow[];
    const groups = new Map<string, BreachRow[]>();
    for (const row of rows) groups.set(row.breach_id, [...(groups.get(row.breach_id) ?? []), row]);
    const now = this.clock();
    const views: BreachView[] = [];
    for (const [id, group] of groups) {
      const detected = group.find((r) => r.type === 'BreachDetected');
      if (!detected) continue;
      const d = JSON.parse(detected.data) as { awareAt: string; nature: string[]; categories: string[]; approximateSubjects: number; description: string };
      const deadline = new Date(new Date(d.awareAt).getTime() + 72 * 3_600_000).toISOString();
      const hoursAfter = (at: string) => Math.round(((new Date(at).getTime() - new Date(d.awareAt).getTime()) / 3_600_000) * 10) / 10;
      let risk: string | null = null;
      let riskRationale: string | null = null;
      let assessedAt: string | null = null;
      const notices: BreachView['notices'] = [];
      let closed: BreachView['closed'] = null;
      const affected = new Set<string>();
      for (const row of group) {
        const data = JSON.parse(row.data) as Record<string, unknown>;
        if (row.type === 'BreachAssessed') {
          risk = String(data['risk']);
          riskRationale = String(data['rationale']);
          assessedAt = row.occurred_at;
        }
        if (row.type === 'BreachReportedToAuthority' || row.type === 'BreachSubjectsNotified') {
          const { breachId: _b, ...details } = data;
          notices.push({ to: row.type === 'BreachReportedToAuthority' ? 'authority' : 'subjects', at: row.occurred_at, hoursAfterAwareness: hoursAfter(row.occurred_at), details, eventId: row.event_id });
        }
        if (row.type === 'BreachClosed') closed = { at: row.occurred_at, summary: String(data['summary']) };
        if (row.type === 'SubjectAffectedByBreach' && row.subject_id) affected.add(row.subject_id);
      }
      const authority = notices.find((n) => n.to === 'authority');
      const status: BreachView['authorityClock']['status'] = authority
        ? authority.at <= deadline
          ? 'notified_on_time'
          : 'notified_late'
        : risk === 'unlikely' && assessedAt !== null && assessedAt <= deadline
          ? 'not_required'
          : now.toISOString() > deadline
            ? 'overdue'
            : 'pending';
      views.push({
        breachId: id,
        awareAt: d.awareAt,
        detectedAt: detected.occurred_at,
        nature: d.nature,
        categories: d.categories,
        approximateSubjects: d.approximateSubjects,
        description: d.description,
        risk,
        riskRationale,
        authorityClock: {
          deadline,
          status,
          hoursLeft: status === 'pending' ? Math.round(((new Date(deadline).getTime() - now.getTime()) / 3_600_000) * 10) / 10 : null,
        },
        notices,
        affectedSubjects: affected.size,
        closed,
      });
    }
    return views;
  }
}

// ── Art. 30: the processing register, with what was actually observed ───────────────────
export interface ProcessingActivityView extends ProcessingActivityRegistered {
  readonly registeredAt: string;
  readonly observed: { readonly events: number; readonly categories: string[]; readonly recipients: string[]; readonly unregisteredCategories: string[]; readonly unregisteredRecipients: string[] };
}

export class ListProcessingActivitiesQuery extends Query<ProcessingActivityView[]> {}

@QueryHandler(ListProcessingActivitiesQuery)
export class ListProcessingActivitiesHandler implements IQueryHandler<ListProcessingActivitiesQuery, ProcessingActivityView[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
  ) {}

  async execute(): Promise<ProcessingActivityView[]> {
    await caughtUp(this.feed);
    const activities = this.readModels.db.prepare(`SELECT registration, registered_at FROM ${PROCESSING_ACTIVITIES_TABLE} ORDER BY activity_id`).all() as Array<{ registration: string; registered_at: string }>;
    const observed = this.readModels.db
      .prepare(
        `SELECT json_extract(details, '$.processingActivityId') AS activity, categories, recipient FROM ${SUBJECT_TIMELINE_TABLE}
         WHERE json_extract(details, '$.processingActivityId') IS NOT NULL`,
      )
      .all() as Array<{ activity: string; categories: string; recipient: string | null }>;
    return activities.map(({ registration, registered_at }) => {
      const activity = JSON.parse(registration) as ProcessingActivityRegistered;
      const mine = observed.filter((o) => o.activity === activity.activityId);
      const categories = new Set(mine.flatMap((o) => JSON.parse(o.categories) as string[]));
      const recipients = new Set(mine.flatMap((o) => (o.recipient ? [(JSON.parse(o.recipient) as { id: string }).id] : [])));
      const covered = (c: string) => activity.categories.some((r) => c === r || c.startsWith(`${r}.`));
      return {
        ...activity,
        registeredAt: registered_at,
        observed: {
          events: mine.length,
          categories: [...categories].sort(),
          recipients: [...recipients].sort(),
          unregisteredCategories: [...categories].filter((c) => !covered(c)).sort(),
          unregisteredRecipients: [...recipients].filter((r) => !activity.recipients.some((a) => a.id === r)).sort(),
        },
      };
    });
  }
}
