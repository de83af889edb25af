import { randomUUID } from 'node:crypto';
import { Body, ConflictException, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { callerActor, Roles, type AuthenticatedRequest } from '../../auth/api-key.guard.js';
import type { AppendedReceipt } from '../../event-store/event-store.port.js';
import { parseEvent } from '../commands/record-events/event-envelope.dto.js';
import { RecordEventsCommand } from '../commands/record-events/record-events.handler.js';
import { isPseudonymousId, type FieldError } from '../commands/record-events/validation.js';
import { FulfilSubjectRequestCommand } from '../commands/subject-requests/subject-request.handlers.js';
import type { LedgerEventType } from '../domain/events.js';
import { ListSubjectRequestsQuery, type RequestFilters, type SubjectRequestView } from '../queries/subject-requests/subject-requests.query.js';
import { InputRejected } from './http-errors.js';
import { CLOCK, type Clock } from '../../clock.js';

type Action = 'verify' | 'extend' | 'fulfil' | 'reject';

const ACTION_EVENT: Record<Exclude<Action, 'fulfil'>, LedgerEventType> = {
  verify: 'SubjectRequestIdentityVerified',
  extend: 'SubjectRequestExtended',
  reject: 'SubjectRequestRejected',
};

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputRejected([{ field: '(body)', reason: 'must be a JSON object' }]);
  return body as Record<string, unknown>;
}

/** Field errors of the underlying event, renamed to the fields of this endpoint's body. */
function bodyErrors(errors: readonly FieldError[]): FieldError[] {
  return errors.map((e) => ({ field: e.field.replace(/^data\./, ''), reason: e.reason }));
}

/**
 * Rights requests (GDPR Art. 12, 15-22, 7(3)): received → identity verified → optionally
 * extended (once, within the first month, by one or two months) → fulfilled or rejected.
 * Each step is an event on the subject's stream; an impossible step is a 409 naming the
 * current state. The deadline is one month from receipt by the calendar-month rule.
 */
@ApiTags('requests')
@ApiBearerAuth()
@Controller('v1/requests')
export class RequestsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @Roles('dpo')
  @HttpCode(201)
  @ApiOperation({ summary: 'Record a rights request received from a data subject' })
  async receive(@Body() body: unknown, @Req() req: AuthenticatedRequest) {
    const { subjectId, right, channel, purposes, requestId, receivedAt, ...rest } = asObject(body);
    const errors: FieldError[] = Object.keys(rest).map((field) => ({ field, reason: 'is not a known field' }));
    if (!isPseudonymousId(subjectId)) errors.push({ field: 'subjectId', reason: 'is required: a pseudonymous subject id' });
    if (requestId !== undefined && !isPseudonymousId(requestId)) errors.push({ field: 'requestId', reason: 'must be a pseudonymous reference' });
    if ((right === 'consent_withdrawal' || right === 'objection') && purposes === undefined) {
      errors.push({ field: 'purposes', reason: `is required for ${right}: the purposes the subject withdraws from` });
    }
    const id = (requestId as string | undefined) ?? `req-${randomUUID()}`;
    const parsed = parseEvent(
      {
        eventId: randomUUID(),
        type: 'SubjectRequestReceived',
        occurredAt: receivedAt ?? this.clock().toISOString(),
        subjectId,
        actor: callerActor(req.caller!),
        data: { requestId: id, right, channel, ...(purposes === undefined ? {} : { purposes }) },
      },
      '',
      this.clock(),
    );
    const known = new Set(errors.map((e) => e.field));
    errors.push(...bodyErrors(parsed.errors).filter((e) => !known.has(e.field)).map((e) => (e.field === 'occurredAt' ? { ...e, field: 'receivedAt' } : e)));
    if (errors.length > 0 || !parsed.parsed) throw new InputRejected(errors);
    const receipts = await this.commands.execute(new RecordEventsCommand([parsed.parsed]));
    return this.answer(id, subjectId as string, receipts);
  }

  @Post(':requestId/:action')
  @Roles('dpo')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Advance a request: verify {method}, extend {reason, additionalMonths}, fulfil {outcome?}, reject {reason}',
    description: 'Fulfilling an erasure request shreds the subject key; a restriction request restricts processing; a consent withdrawal withdraws consent for its purposes.',
  })
  async act(@Param('requestId') requestId: string, @Param('action') action: string, @Body() body: unknown, @Req() req: AuthenticatedRequest) {
    if (!['verify', 'extend', 'fulfil', 'reject'].includes(action)) {
      throw new NotFoundException(`action: unknown action '${action}' (verify, extend, fulfil, reject)`);
    }
    const request = await this.find(requestId);
    const fields = asObject(body ?? {});
    const actor = callerActor(req.caller!);
    if (action === 'fulfil') {
      const { outcome, ...rest } = fields;
      const errors: FieldError[] = Object.keys(rest).map((field) => ({ field, reason: 'is not a known field' }));
      if (outcome !== undefined && (typeof outcome !== 'string' || outcome.length === 0 || outcome.length > 500)) {
        errors.push({ field: 'outcome', reason: 'must be a text of 1 to 500 characters' });
      }
      if (errors.length > 0) throw new InputRejected(errors);
      const receipts = await this.commands.execute(
        new FulfilSubjectRequestCommand(request.subjectId, requestId, request.purposes, actor, outcome as string | undefined),
      );
      return this.answer(requestId, request.subjectId, receipts);
    }
    const parsed = parseEvent(
      {
        eventId: randomUUID(),
        type: ACTION_EVENT[action as Exclude<Action, 'fulfil'>],
        occurredAt: this.clock().toISOString(),
        subjectId: request.subjectId,
        actor,
        data: { ...fields, requestId },
      },
      '',
      this.clock(),
    );
    if (!parsed.parsed) throw new InputRejected(bodyErrors(parsed.errors));
    const receipts = await this.commands.execute(new RecordEventsCommand([parsed.parsed]));
    return this.answer(requestId, request.subjectId, receipts);
  }

  @Get()
  @Roles('auditor')
  @ApiOperation({ summary: 'Rights requests with their state, deadline and days left' })
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'received', 'verified', 'fulfilled', 'rejected'] })
  @ApiQuery({ name: 'overdue', required: false, enum: ['true', 'false'] })
  @ApiQuery({ name: 'subjectId', required: false })
  @ApiQuery({ name: 'right', required: false })
  async list(@Query() query: Record<string, unknown>) {
    const errors: FieldError[] = [];
    const filters: { -readonly [K in keyof RequestFilters]: RequestFilters[K] } = {};
    for (const [key, value] of Object.entries(query)) {
      if (key === 'status' && ['open', 'received', 'verified', 'fulfilled', 'rejected'].includes(String(value))) filters.status = value as RequestFilters['status'];
      else if (key === 'overdue' && (value === 'true' || value === 'false')) filters.overdue = value === 'true';
      else if (key === 'subjectId' && isPseudonymousId(value)) filters.subjectId = value;
      else if (key === 'right' && typeof value === 'string' && value.length > 0) filters.right = value;
      else errors.push({ field: key, reason: ['status', 'overdue', 'subjectId', 'right'].includes(key) ? `has an invalid value` : 'is not a known filter' });
    }
    if (errors.length > 0) throw new InputRejected(errors);
    return { requests: await this.queries.execute(new ListSubjectRequestsQuery(filters)) };
  }

  @Get(':requestId')
  @Roles('auditor')
  async get(@Param('requestId') requestId: string) {
    return this.find(requestId);
  }

  private async find(requestId: string): Promise<SubjectRequestView> {
    if (!isPseudonymousId(requestId)) throw new InputRejected([{ field: 'requestId', reason: 'must be a pseudonymous reference' }]);
    const found = await this.queries.execute(new ListSubjectRequestsQuery({ requestId }));
    if (found.length === 0) throw new NotFoundException(`requestId: no request ${requestId}`);
    if (found.length > 1) throw new ConflictException(`requestId: ${requestId} names requests of ${found.length} subjects; use the events API`);
    return found[0]!;
  }

  private async answer(requestId: string, subjectId: string, receipts: AppendedReceipt[]) {
    const [request] = await this.queries.execute(new ListSubjectRequestsQuery({ requestId, subjectId }));
    return { request, receipts: receipts.map(({ duplicate: _d, ...r }) => r) };
  }
}
