import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { openPersonalValues } from '../../../crypto/personal-values-cipher.js';
import { SUBJECT_KEYRING, SubjectKeyShreddedError, type SubjectKeyring } from '../../../crypto/subject-keyring.js';
import { EVENT_STORE, type EventStore } from '../../../event-store/event-store.port.js';
import { Followers } from '../../../followers/followers.js';
import { FOLLOWERS } from '../../../event-store/followers.js';
import { ProjectionRunner } from '../../../read-models/projection-runner.js';
import { ledgerVocabulary } from '../../../vocabulary/ledger-vocabulary.js';
import { SUBJECT_TIMELINE_TABLE } from '../../../../projections/subject-timeline/subject-timeline.projection.js';
import { PROCESSING_ACTIVITIES_TABLE } from '../../../../projections/processing-register/processing-register.projection.js';
import type { ProcessingActivityRegistered, Recipient } from '../../domain/events.js';
import { subjectStream } from '../../domain/streams.js';

/** One event's personal values as the subject's key still allows reading them. */
export interface PersonalValuesEntry {
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly categories: string[];
  /** 'erased' once the subject's key was shredded: the ciphertext stays, unreadable. */
  readonly status: 'readable' | 'erased';
  readonly values: Record<string, string> | null;
}

export class GetPersonalValuesQuery extends Query<PersonalValuesEntry[]> {
  constructor(
    readonly subjectId: string,
    /** Only events with these types (all when absent). */
    readonly types?: readonly string[],
    /** Only collections whose source is one of these (all when absent). */
    readonly sources?: readonly string[],
  ) {
    super();
  }
}

@QueryHandler(GetPersonalValuesQuery)
export class GetPersonalValuesHandler implements IQueryHandler<GetPersonalValuesQuery, PersonalValuesEntry[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
  ) {}

  async execute({ subjectId, types, sources }: GetPersonalValuesQuery): Promise<PersonalValuesEntry[]> {
    const events = (await this.store.readStream(subjectStream(subjectId))).filter(
      (e) =>
        e.pii !== undefined &&
        (!types || types.includes(e.type)) &&
        (!sources || sources.includes(String(e.data['source']))),
    );
    let key: Buffer | null = null;
    try {
      key = events.length > 0 ? await this.keyring.dataKey(subjectId, { create: false }) : null;
    } catch (error) {
      if (!(error instanceof SubjectKeyShreddedError)) throw error;
    }
    return events.map((e) => ({
      eventId: e.eventId,
      type: e.type,
      occurredAt: e.occurredAt,
      categories: Array.isArray(e.data['categories']) ? (e.data['categories'] as string[]) : [],
      status: key ? 'readable' : 'erased',
      values: key ? openPersonalValues(key, e.eventId, subjectId, e.pii!) : null,
    }));
  }
}

/** The Art. 15(1) information about a subject's processing, built from the read models. */
export interface AccessPackage {
  readonly subjectId: string;
  readonly generatedAt: string;
  /** Art. 15(1)(a): purposes, each with its legal basis (Art. 6(1)) as recorded. */
  readonly purposes: Array<{ purpose: string; name: string | null; legalBases: string[] }>;
  /** Art. 15(1)(b): categories of personal data concerned. */
  readonly categories: Array<{ category: string; name: string | null }>;
  /** Art. 15(1)(c), 15(2): recipients, including third countries and the safeguards used. */
  readonly recipients: Array<{ id: string; kind: string; country: string | null; mechanisms: string[]; lastAt: string }>;
  /** Art. 15(1)(d): retention per category from the processing register. */
  readonly retention: Array<{ category: string; period: string; activityId: string }>;
  /** Art. 15(1)(g): where the data came from. */
  readonly sources: string[];
  /** Art. 15(1)(h): automated decisions, with the logic involved and whether they have legal or similar effect. */
  readonly automatedDecisions: Array<{ occurredAt: string; decision: string; logicRef: string; producesLegalOrSimilarEffect: boolean }>;
  /** Art. 15(1)(e),(f): the subject's rights and where to complain. */
  readonly rights: Array<{ right: string; article: string; description: string }>;
  readonly personalValues: 'erased' | 'held_encrypted' | 'none';
}

export class GetAccessPackageQuery extends Query<AccessPackage> {
  constructor(readonly subjectId: string) {
    super();
  }
}

interface TimelineRow {
  type: string;
  occurred_at: string;
  categories: string;
  purposes: string;
  legal_basis: string | null;
  recipient: string | null;
  details: string;
  has_pii: number;
}

@QueryHandler(GetAccessPackageQuery)
export class GetAccessPackageHandler implements IQueryHandler<GetAccessPackageQuery, AccessPackage> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
  ) {}

  async execute({ subjectId }: GetAccessPackageQuery): Promise<AccessPackage> {
    await this.feed.caughtUpToHead([FOLLOWERS.readModels]);
    const vocabulary = ledgerVocabulary();
    const rows = this.readModels.db
      .prepare(`SELECT type, occurred_at, categories, purposes, legal_basis, recipient, details, has_pii FROM ${SUBJECT_TIMELINE_TABLE} WHERE subject_id = ? ORDER BY position`)
      .all(subjectId) as TimelineRow[];
    const processing = new Set(['PersonalDataCollected', 'PersonalDataAccessed', 'PersonalDataDisclosed', 'PersonalDataTransferred', 'AutomatedDecisionMade']);

    const purposes = new Map<string, Set<string>>();
    const categories = new Set<string>();
    const recipients = new Map<string, { id: string; kind: string; country: string | null; mechanisms: Set<string>; lastAt: string }>();
    const sources = new Set<string>();
    const activities = new Set<string>();
    const decisions: AccessPackage['automatedDecisions'] = [];
    for (const row of rows) {
      if (!processing.has(row.type)) continue;
      const details = JSON.parse(row.details) as Record<string, unknown>;
      for (const p of JSON.parse(row.purposes) as string[]) {
        const bases = purposes.get(p) ?? new Set<string>();
        if (row.legal_basis) bases.add(row.legal_basis);
        purposes.set(p, bases);
      }
      for (const c of JSON.parse(row.categories) as string[]) categories.add(c);
      if (typeof details['processingActivityId'] === 'string') activities.add(details['processingActivityId']);
      if (row.type === 'PersonalDataCollected' && typeof details['source'] === 'string') sources.add(details['source']);
      if (row.recipient) {
        const r = JSON.parse(row.recipient) as Recipient;
        const key = `${r.kind}:${r.id}`;
        const entry = recipients.get(key) ?? { id: r.id, kind: r.kind, country: r.country ?? null, mechanisms: new Set<string>(), lastAt: row.occurred_at };
        if (typeof details['mechanism'] === 'string') entry.mechanisms.add(details['mechanism']);
        entry.lastAt = row.occurred_at;
        recipients.set(key, entry);
      }
      if (row.type === 'AutomatedDecisionMade') {
        decisions.push({
          occurredAt: row.occurred_at,
          decision: String(details['decision']),
          logicRef: String(details['logicRef']),
          producesLegalOrSimilarEffect: details['producesLegalOrSimilarEffect'] === true,
        });
      }
    }

    const registrations = (this.readModels.db.prepare(`SELECT registration FROM ${PROCESSING_ACTIVITIES_TABLE} ORDER BY activity_id`).all() as Array<{ registration: string }>).map(
      (r) => JSON.parse(r.registration) as ProcessingActivityRegistered,
    );
    const retention = registrations
      .filter((a) => activities.has(a.activityId) || a.categories.some((c) => categories.has(c)))
      .flatMap((a) => a.retention.filter((r) => categories.has(r.category)).map((r) => ({ category: r.category, period: r.period, activityId: a.activityId })));

    let personalValues: AccessPackage['personalValues'] = rows.some((r) => r.has_pii === 1) ? 'held_encrypted' : 'none';
    if (await this.keyring.isShredded(subjectId)) personalValues = 'erased';

    return {
      subjectId,
      generatedAt: new Date().toISOString(),
      purposes: [...purposes].map(([purpose, bases]) => ({ purpose, name: vocabulary.get('purposes', purpose)?.name ?? null, legalBases: [...bases].sort() })),
      categories: [...categories].sort().map((category) => ({ category, name: vocabulary.get('data-categories', category)?.name ?? null })),
      recipients: [...recipients.values()].map((r) => ({ ...r, mechanisms: [...r.mechanisms].sort() })),
      retention,
      sources: [...sources].sort(),
      automatedDecisions: decisions,
      rights: vocabulary.list('rights').map((r) => ({ right: r.key, article: (r as { article?: string }).article ?? '', description: r.description })),
      personalValues,
    };
  }
}
