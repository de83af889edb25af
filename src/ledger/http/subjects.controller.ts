import { Controller, Get, Inject, Param, Query, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { callerActor, Roles, type AuthenticatedRequest } from '../../auth/api-key.guard.js';
import { ledgerVocabulary } from '../../vocabulary/ledger-vocabulary.js';
import { AUDIT_PURPOSE_KEY } from '../../vocabulary/vocabulary.js';
import { isPseudonymousId, type FieldError } from '../commands/record-events/validation.js';
import { decodeCursor, GetSubjectTimelineQuery, type TimelineFilters, type TimelinePage } from '../queries/subject-timeline/subject-timeline.query.js';
import { InputRejected } from './http-errors.js';
import { CLOCK, type Clock } from '../../clock.js';
import { recordRead } from './audited-read.js';

const TIMELINE_QUERY_FIELDS = ['from', 'to', 'category', 'purpose', 'actor', 'order', 'limit', 'cursor', 'ticketRef'];

@ApiTags('subjects')
@ApiBearerAuth()
@Controller('v1/subjects')
export class SubjectsController {
  constructor(
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get(':subjectId/timeline')
  @Roles('auditor')
  @ApiOperation({
    summary: "Who touched this person's data, when, and why",
    description:
      'Entries in log order with who (actor), what (action, categories), why (purposes, legal basis, reason, ticket) and the receipt. ' +
      'Reads are processing too: every call is itself recorded on the subject as PersonalDataAccessed by the caller.',
  })
  @ApiQuery({ name: 'from', required: false, description: 'occurredAt ≥ from (ISO 8601)' })
  @ApiQuery({ name: 'to', required: false, description: 'occurredAt < to (ISO 8601)' })
  @ApiQuery({ name: 'category', required: false })
  @ApiQuery({ name: 'purpose', required: false })
  @ApiQuery({ name: 'actor', required: false, description: 'actor id' })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'limit', required: false, description: '1-500, default 50' })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'ticketRef', required: false, description: 'case or ticket that justifies this read; recorded with the access' })
  async timeline(
    @Param('subjectId') subjectId: string,
    @Query() query: Record<string, unknown>,
    @Req() request: AuthenticatedRequest,
  ): Promise<TimelinePage> {
    const { filters, ticketRef } = parseTimelineQuery(subjectId, query);
    const page = await this.queries.execute(new GetSubjectTimelineQuery(subjectId, filters));

    const categories = page.entries.flatMap((entry) => entry.what.categories);
    await recordRead(this.commands, {
      subjectId,
      actor: callerActor(request.caller!),
      categories,
      purpose: AUDIT_PURPOSE_KEY,
      reasonCode: 'audit',
      justification: 'subject timeline read through the ledger API',
      at: this.clock(),
      ...(ticketRef ? { ticketRef } : {}),
    });
    return page;
  }
}

function parseTimelineQuery(subjectId: string, query: Record<string, unknown>): { filters: TimelineFilters; ticketRef?: string } {
  const errors: FieldError[] = [];
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') {
      errors.push({ field: name, reason: 'must be given once, non-empty' });
      return undefined;
    }
    return value;
  };
  if (!isPseudonymousId(subjectId)) errors.push({ field: 'subjectId', reason: 'must be a pseudonymous id' });
  for (const key of Object.keys(query)) if (!TIMELINE_QUERY_FIELDS.includes(key)) errors.push({ field: key, reason: 'is not a known filter' });

  const instant = (name: string): string | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const date = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(value) || Number.isNaN(date.getTime())) {
      errors.push({ field: name, reason: 'must be an ISO 8601 date or timestamp with a time zone' });
      return undefined;
    }
    return date.toISOString();
  };
  const from = instant('from');
  const to = instant('to');
  const category = text('category');
  if (category !== undefined && !ledgerVocabulary().has('data-categories', category)) {
    errors.push({ field: 'category', reason: `unknown data category '${category}'` });
  }
  const purpose = text('purpose');
  if (purpose !== undefined && !ledgerVocabulary().has('purposes', purpose)) errors.push({ field: 'purpose', reason: `unknown purpose '${purpose}'` });
  const actor = text('actor');
  const order = text('order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') errors.push({ field: 'order', reason: "must be 'asc' or 'desc'" });
  const limitText = text('limit') ?? '50';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 500) errors.push({ field: 'limit', reason: 'must be an integer from 1 to 500' });
  const cursorText = text('cursor');
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  if (cursorText !== undefined && cursor === null) errors.push({ field: 'cursor', reason: 'is not a cursor this API returned' });
  const ticketRef = text('ticketRef');
  if (ticketRef !== undefined && !isPseudonymousId(ticketRef)) errors.push({ field: 'ticketRef', reason: 'must be a pseudonymous reference' });
  if (errors.length > 0) throw new InputRejected(errors);

  const filters: TimelineFilters = {
    order: order as 'asc' | 'desc',
    limit,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(category ? { category } : {}),
    ...(purpose ? { purpose } : {}),
    ...(actor ? { actor } : {}),
    ...(cursor ? { after: cursor.after, snapshot: cursor.snapshot } : {}),
  };
  return ticketRef ? { filters, ticketRef } : { filters };
}
