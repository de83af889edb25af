import { Body, Controller, HttpCode, Inject, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../../auth/api-key.guard.js';
import { LEDGER_CONFIG } from '../../config/config.module.js';
import type { LedgerConfig } from '../../config/ledger-config.js';
import type { AppendedReceipt } from '../../event-store/event-store.port.js';
import { EventBatchDto, EventEnvelopeDto, parseEvent, parseEventBatch } from '../commands/record-events/event-envelope.dto.js';
import { RecordEventsCommand } from '../commands/record-events/record-events.handler.js';
import { InputRejected } from './http-errors.js';
import { CLOCK, type Clock } from '../../clock.js';

/**
 * The receipt as the API states it. Fastify serialises 200 and 201 bodies with these schemas
 * (fast-json-stringify), which also keeps the store's own fields (`duplicate`) out of them.
 */
const RECEIPT_SCHEMA = {
  type: 'object',
  properties: {
    eventId: { type: 'string' },
    streamId: { type: 'string' },
    streamRevision: { type: 'integer' },
    globalPosition: { type: 'integer' },
    hash: { type: 'string' },
  },
  required: ['eventId', 'streamId', 'streamRevision', 'globalPosition', 'hash'],
} as const;
const RECEIPTS_SCHEMA = { type: 'object', properties: { receipts: { type: 'array', items: RECEIPT_SCHEMA } }, required: ['receipts'] } as const;

@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @Roles('emitter')
  @HttpCode(201)
  @RouteSchema({ response: { 200: RECEIPT_SCHEMA, 201: RECEIPT_SCHEMA } })
  @ApiOperation({ summary: 'Record one event', description: 'The same eventId with the same body returns the first receipt (200); with another body, 409.' })
  @ApiBody({ type: EventEnvelopeDto })
  @ApiResponse({ status: 201, description: 'Recorded; the receipt' })
  @ApiResponse({ status: 200, description: 'Already recorded with this body; the first receipt' })
  async record(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<AppendedReceipt> {
    const { parsed, errors } = parseEvent(body, '', this.clock());
    if (!parsed) throw new InputRejected(errors);
    const [receipt] = await this.commands.execute(new RecordEventsCommand([parsed]));
    if (!receipt) throw new Error('append returned no receipt');
    if (receipt.duplicate) void reply.status(200);
    return receipt;
  }

  @Post('batch')
  @Roles('emitter')
  @HttpCode(201)
  @RouteSchema({ response: { 200: RECEIPTS_SCHEMA, 201: RECEIPTS_SCHEMA } })
  @ApiOperation({
    summary: 'Record a batch of events atomically',
    description: 'At most LEDGER_MAX_BATCH_EVENTS events (default 1000) and a 4 MiB body. All are stored or none; receipts in request order.',
  })
  @ApiBody({ type: EventBatchDto })
  async recordBatch(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ receipts: AppendedReceipt[] }> {
    const { events, errors } = parseEventBatch(body, this.config.maxBatchEvents, this.clock());
    if (!events) throw new InputRejected(errors);
    const receipts = await this.commands.execute(new RecordEventsCommand(events));
    if (receipts.every((r) => r.duplicate)) void reply.status(200);
    return { receipts };
  }
}
