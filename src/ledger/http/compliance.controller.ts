import { Followers } from '../../followers/followers.js';
import { FOLLOWERS } from '../../event-store/followers.js';
import { Controller, Get, Inject, NotFoundException, Param, Query, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { callerActor, Roles, type AuthenticatedRequest } from '../../auth/api-key.guard.js';
import { ComplianceMonitor, type Violation } from '../../compliance/compliance-monitor.js';
import { COMPLIANCE_RULES } from '../../compliance/rules/index.js';
import { WebhookAlerts } from '../../compliance/webhook-alerts.js';
import { EVENT_STORE, type EventStore } from '../../event-store/event-store.port.js';
import { AUDIT_PURPOSE_KEY } from '../../vocabulary/vocabulary.js';
import { ledgerVocabulary } from '../../vocabulary/ledger-vocabulary.js';
import type { ActorRef } from '../domain/events.js';
import { isPseudonymousId, type FieldError } from '../commands/record-events/validation.js';
import {
  ListBreachesQuery,
  ListProcessingActivitiesQuery,
  ListProcessingQuery,
  ListSubjectRecipientsQuery,
  type ProcessingFilters,
} from '../queries/registers/registers.queries.js';
import { decodeCursor, encodeCursor } from '../queries/subject-timeline/subject-timeline.query.js';
import { recordRead, recordReads } from './audited-read.js';
import { InputRejected } from './http-errors.js';
import { CLOCK, type Clock } from '../../clock.js';

type Params = Record<string, unknown>;

/** Reads the query string with the named filters; unknown filters and bad values are 400s. */
class QueryReader {
  readonly errors: FieldError[] = [];
  constructor(
    private readonly query: Params,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(query)) if (!allowed.includes(key)) this.errors.push({ field: key, reason: 'is not a known filter' });
  }
  text(name: string, check: (v: string) => boolean = () => true, reason = 'has an invalid value'): string | undefined {
    const value = this.query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '' || !check(value)) {
      this.errors.push({ field: name, reason });
      return undefined;
    }
    return value;
  }
  instant(name: string): string | undefined {
    const value = this.text(name, (v) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(v) && !Number.isNaN(new Date(v).getTime()), 'must be an ISO 8601 date or timestamp with a time zone');
    return value === undefined ? undefined : new Date(value).toISOString();
  }
  limit(): number {
    const value = this.text('limit', (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 500, 'must be an integer from 1 to 500');
    return value === undefined ? 50 : Number(value);
  }
  done(): void {
    if (this.errors.length > 0) throw new InputRejected(this.errors);
  }
}

/**
 * What an auditor works from: violations derived from the log with their proving events, the
 * Art. 33(5) breach register, who received a person's data (Art. 19), disclosures, transfers,
 * one actor's activity (insider-access reviews) and the Art. 30 register. Every answer that
 * names subjects is itself recorded as an access on each of them.
 */
@ApiTags('compliance')
@ApiBearerAuth()
@Controller('v1')
export class ComplianceController {
  constructor(
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ComplianceMonitor) private readonly monitor: ComplianceMonitor,
    @Inject(Followers) private readonly feed: Followers,
    @Inject(WebhookAlerts) private readonly alerts: WebhookAlerts,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The monitor has seen everything acknowledged, and every deadline up to now is swept. */
  private async monitorUpToDate(): Promise<void> {
    await this.feed.caughtUpToHead([FOLLOWERS.compliance]);
    await this.feed.sweep();
  }

  /** Records one access per subject named in an answer (reads are processing too). */
  private async recordReads(subjects: Iterable<string>, actor: ActorRef, justification: string): Promise<void> {
    const at = this.clock();
    await recordReads(
      this.commands,
      [...new Set(subjects)].map((subjectId) => ({ subjectId, actor, categories: [], purpose: AUDIT_PURPOSE_KEY, reasonCode: 'audit', justification, at })),
    );
  }

  @Get('violations')
  @Roles('auditor')
  @ApiOperation({ summary: 'Violations derived from the log (filters: status, rule, subjectId, breachId, from, to on openedAt; cursor)' })
  async violations(@Query() query: Params, @Req() req: AuthenticatedRequest) {
    const q = new QueryReader(query, ['status', 'rule', 'subjectId', 'breachId', 'from', 'to', 'limit', 'cursor']);
    const status = q.text('status', (v) => v === 'open' || v === 'resolved', "must be 'open' or 'resolved'") as 'open' | 'resolved' | undefined;
    const rule = q.text('rule', (v) => COMPLIANCE_RULES.some((r) => r.id === v), `must be one of ${COMPLIANCE_RULES.map((r) => r.id).join(', ')}`);
    const subjectId = q.text('subjectId', isPseudonymousId, 'must be a pseudonymous id');
    const breachId = q.text('breachId', isPseudonymousId, 'must be a pseudonymous id');
    const from = q.instant('from');
    const to = q.instant('to');
    const limit = q.limit();
    const cursor = q.text('cursor', (v) => Buffer.from(v, 'base64url').toString('utf8').length > 0, 'is not a cursor this API returned');
    q.done();
    await this.monitorUpToDate();
    const after = cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString('utf8');
    if (after !== undefined && !this.monitor.get(after)) throw new InputRejected([{ field: 'cursor', reason: 'is not a cursor this API returned' }]);
    const page = this.monitor.list({ ...(status && { status }), ...(rule && { rule }), ...(subjectId && { subjectId }), ...(breachId && { breachId }), ...(from && { from }), ...(to && { to }), ...(after && { after }), limit: limit + 1 });
    const violations = page.slice(0, limit);
    await this.recordReads(violations.filter((v) => v.scope === 'subject').map((v) => v.scopeId), callerActor(req.caller!), 'violations register read');
    const last = violations[violations.length - 1];
    return {
      violations,
      nextCursor: page.length > limit && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
      rules: COMPLIANCE_RULES.map((r) => ({ id: r.id, article: r.article, title: r.title })),
    };
  }

  @Get('violations/:id')
  @Roles('auditor')
  async violation(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<Violation & { deliveries: unknown }> {
    await this.monitorUpToDate();
    const found = this.monitor.get(id);
    if (!found) throw new NotFoundException(`id: no violation ${id}`);
    if (found.scope === 'subject') await this.recordReads([found.scopeId], callerActor(req.caller!), 'violation read');
    return { ...found, deliveries: this.alerts.deliveries(id) };
  }

  @Get('alerts/deliveries')
  @Roles('auditor')
  @ApiOperation({ summary: 'Webhook deliveries of opened violations: pending, delivered or failed, with attempts' })
  deliveries() {
    return { webhooks: this.alerts.enabled, deliveries: this.alerts.deliveries() };
  }

  @Get('breaches')
  @Roles('auditor')
  @ApiOperation({ summary: 'Art. 33(5) breach register with the 72-hour clock and every notice' })
  async breaches() {
    return { breaches: await this.queries.execute(new ListBreachesQuery()) };
  }

  @Get('breaches/:breachId')
  @Roles('auditor')
  async breach(@Param('breachId') breachId: string) {
    if (!isPseudonymousId(breachId)) throw new InputRejected([{ field: 'breachId', reason: 'must be a pseudonymous id' }]);
    const [found] = await this.queries.execute(new ListBreachesQuery(breachId));
    if (!found) throw new NotFoundException(`breachId: no breach ${breachId}`);
    await this.monitorUpToDate();
    return { ...found, violations: this.monitor.list({ breachId, limit: 100 }) };
  }

  @Get('subjects/:subjectId/recipients')
  @Roles('auditor')
  @ApiOperation({ summary: "Art. 19: who received this person's data, what, why, when (the read is recorded)" })
  async recipients(@Param('subjectId') subjectId: string, @Req() req: AuthenticatedRequest) {
    if (!isPseudonymousId(subjectId)) throw new InputRejected([{ field: 'subjectId', reason: 'must be a pseudonymous id' }]);
    const recipients = await this.queries.execute(new ListSubjectRecipientsQuery(subjectId));
    await recordRead(this.commands, {
      subjectId,
      actor: callerActor(req.caller!),
      categories: recipients.flatMap((r) => r.categories),
      purpose: AUDIT_PURPOSE_KEY,
      reasonCode: 'audit',
      justification: 'Art. 19 recipients read',
      at: this.clock(),
    });
    return { subjectId, recipients };
  }

  @Get('disclosures')
  @Roles('auditor')
  @ApiOperation({ summary: 'Disclosures to recipients across subjects (filters: recipient, from, to; cursor)' })
  async disclosures(@Query() query: Params, @Req() req: AuthenticatedRequest) {
    const q = new QueryReader(query, ['recipient', 'from', 'to', 'limit', 'cursor']);
    const recipientId = q.text('recipient', isPseudonymousId, 'must be a recipient id');
    return this.processing(q, { types: ['PersonalDataDisclosed'], ...(recipientId && { recipientId }) }, req, 'disclosures register read');
  }

  @Get('transfers')
  @Roles('auditor')
  @ApiOperation({ summary: 'Transfers outside the EEA across subjects (filters: country, mechanism, recipient, from, to; cursor)' })
  async transfers(@Query() query: Params, @Req() req: AuthenticatedRequest) {
    const q = new QueryReader(query, ['country', 'mechanism', 'recipient', 'from', 'to', 'limit', 'cursor']);
    const country = q.text('country', (v) => ledgerVocabulary().has('countries', v), 'must be an ISO 3166 country code of the vocabulary');
    const mechanism = q.text('mechanism', (v) => ledgerVocabulary().has('transfer-mechanisms', v), 'must be a transfer mechanism');
    const recipientId = q.text('recipient', isPseudonymousId, 'must be a recipient id');
    return this.processing(q, { types: ['PersonalDataTransferred'], ...(country && { country }), ...(mechanism && { mechanism }), ...(recipientId && { recipientId }) }, req, 'transfers register read');
  }

  @Get('actors/:actorId/activity')
  @Roles('auditor')
  @ApiOperation({ summary: 'What one employee or service touched, across subjects (insider-access review; from, to; cursor)' })
  async actorActivity(@Param('actorId') actorId: string, @Query() query: Params, @Req() req: AuthenticatedRequest) {
    if (!isPseudonymousId(actorId)) throw new InputRejected([{ field: 'actorId', reason: 'must be a pseudonymous id' }]);
    const q = new QueryReader(query, ['from', 'to', 'limit', 'cursor']);
    return this.processing(q, { types: [], actorId }, req, `activity of actor ${actorId} reviewed`);
  }

  private async processing(q: QueryReader, filters: Omit<ProcessingFilters, 'limit'>, req: AuthenticatedRequest, justification: string) {
    const from = q.instant('from');
    const to = q.instant('to');
    const limit = q.limit();
    const cursorText = q.text('cursor', (v) => decodeCursor(v) !== null, 'is not a cursor this API returned');
    q.done();
    const cursor = cursorText ? decodeCursor(cursorText) : null;
    const page = await this.queries.execute(
      new ListProcessingQuery({ ...filters, ...(from && { from }), ...(to && { to }), ...(cursor && { after: cursor.after, snapshot: cursor.snapshot }), limit }),
    );
    await this.recordReads(page.entries.map((e) => e.subjectId), callerActor(req.caller!), justification);
    return { entries: page.entries, nextCursor: page.nextCursor ? encodeCursor(page.nextCursor.after, page.nextCursor.snapshot) : null, asOfPosition: page.asOfPosition };
  }

  @Get('processing-activities')
  @Roles('auditor')
  @ApiOperation({ summary: 'Art. 30 register: each activity with what was actually observed in events' })
  async processingActivities() {
    return { activities: await this.queries.execute(new ListProcessingActivitiesQuery()) };
  }
}
