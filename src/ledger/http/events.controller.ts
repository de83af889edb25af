import { Body, Controller, HttpCode, Inject, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Roles } from '../../auth/api-key.guard.js';
import { LEDGER_CONFIG } from '../../config/config.module.js';
import type { LedgerConfig } from '../../config/ledger-config.js';
import type { AppendedReceipt } from '../../event-store/event-store.port.js';
import { EventBatchDto, EventEnvelopeDto, parseEvent, type ParsedEvent } from '../commands/record-events/event-envelope.dto.js';
import { RecordEventsCommand } from '../commands/record-events/record-events.handler.js';
import type { FieldError } from '../commands/record-events/validation.js';
import { InputRejected } from './http-errors.js';
import { CLOCK, type Clock } from '../../clock.js';

function receiptBody(r: AppendedReceipt) {
  return { eventId: r.eventId, streamId: r.streamId, streamRevision: r.streamRevision, globalPosition: r.globalPosition, hash: r.hash };
}

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
  @ApiOperation({ summary: 'Record one event', description: 'The same eventId with the same body returns the first receipt (200); with another body, 409.' })
  @ApiBody({ type: EventEnvelopeDto })
  @ApiResponse({ status: 201, description: 'Recorded; the receipt' })
  @ApiResponse({ status: 200, description: 'Already recorded with this body; the first receipt' })
  async record(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { parsed, errors } = parseEvent(body, '', this.clock());
    if (!parsed) throw new InputRejected(errors);
    const [receipt] = await this.commands.execute(new RecordEventsCommand([parsed]));
    if (!receipt) throw new Error('append returned no receipt');
    if (receipt.duplicate) void reply.status(200);
    return receiptBody(receipt);
  }

  @Post('batch')
  @Roles('emitter')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Record a batch of events atomically',
    description: 'At most LEDGER_MAX_BATCH_EVENTS events (default 1000) and a 4 MiB body. All are stored or none; receipts in request order.',
  })
  @ApiBody({ type: EventBatchDto })
  async recordBatch(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const events = (body as { events?: unknown } | null)?.events;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputRejected([{ field: '(body)', reason: 'must be a JSON object' }]);
    const extra = Object.keys(body).filter((k) => k !== 'events');
    const errors: FieldError[] = extra.map((k) => ({ field: k, reason: 'is not a known field' }));
    if (!Array.isArray(events) || events.length === 0) errors.push({ field: 'events', reason: 'must be a non-empty array' });
    else if (events.length > this.config.maxBatchEvents) {
      errors.push({ field: 'events', reason: `must hold at most ${this.config.maxBatchEvents} events (got ${events.length})` });
    }
    if (errors.length > 0) throw new InputRejected(errors);

    const now = this.clock();
    const parsed: ParsedEvent[] = [];
    const seen = new Map<string, number>();
    (events as unknown[]).forEach((plain, i) => {
      const result = parseEvent(plain, `events[${i}]`, now);
      errors.push(...result.errors);
      if (!result.parsed) return;
      const first = seen.get(result.parsed.event.eventId);
      if (first !== undefined) errors.push({ field: `events[${i}].eventId`, reason: `repeats events[${first}].eventId` });
      seen.set(result.parsed.event.eventId, i);
      parsed.push(result.parsed);
    });
    if (errors.length > 0) throw new InputRejected(errors);

    const receipts = await this.commands.execute(new RecordEventsCommand(parsed));
    if (receipts.every((r) => r.duplicate)) void reply.status(200);
    return { receipts: receipts.map(receiptBody) };
  }
}
