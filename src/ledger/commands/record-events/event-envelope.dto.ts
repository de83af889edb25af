import { IsIn, IsISO8601, IsObject, IsOptional, IsUUID } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { LEDGER_EVENT_TYPES, type LedgerEvent, type LedgerEventType } from '../../domain/events.js';
import { streamKindOf } from '../../domain/streams.js';
import { canonicalDtoCopy, compileDtos, NestedDto, validateDto } from './dto-validator.js';
import { EVENT_DATA_DTOS } from './event-data.dto.js';
import { IsPseudonymousId, isWellFormed, type FieldError } from './validation.js';

export const ACTOR_KINDS = ['employee', 'service', 'processor', 'auditor', 'dpo', 'data_subject', 'authority', 'system'] as const;

export class ActorDto {
  @ApiProperty({ example: 'agent-17' }) @IsPseudonymousId() id!: string;
  @ApiProperty({ enum: ACTOR_KINDS }) @IsIn(ACTOR_KINDS) kind!: (typeof ACTOR_KINDS)[number];
  @ApiProperty({ example: 'support-console' }) @IsPseudonymousId() system!: string;
}

export class MetadataDto {
  @ApiPropertyOptional() @IsOptional() @IsPseudonymousId() correlationId?: string;
  @ApiPropertyOptional() @IsOptional() @IsPseudonymousId() causationId?: string;
  @ApiPropertyOptional() @IsOptional() @IsPseudonymousId() emitter?: string;
}

/** The envelope every event arrives in (DESIGN.md, Events). `data` is checked per `type`. */
export class EventEnvelopeDto {
  @ApiProperty({ format: 'uuid', description: 'Client-chosen; the idempotency key' })
  @IsUUID('all')
  eventId!: string;

  @ApiProperty({ enum: LEDGER_EVENT_TYPES })
  @IsIn(LEDGER_EVENT_TYPES, { message: '$property must be one of the ledger event types (see GET /docs)' })
  type!: LedgerEventType;

  @ApiProperty({ format: 'date-time', example: '2026-11-01T10:00:00Z' })
  @IsISO8601({ strict: true, strictSeparator: true }, { message: '$property must be an ISO 8601 timestamp with a time zone' })
  occurredAt!: string;

  @ApiPropertyOptional({ description: 'Pseudonymous subject id; required for events about a person, absent otherwise' })
  @IsOptional()
  @IsPseudonymousId()
  subjectId?: string | null;

  @ApiProperty({ type: ActorDto }) @IsObject() @NestedDto(() => ActorDto) actor!: ActorDto;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Fields of the event type' })
  @IsObject()
  data!: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: 'Personal values; stored only encrypted under the subject key' })
  @IsOptional()
  @IsObject()
  pii?: Record<string, unknown>;

  @ApiPropertyOptional({ type: MetadataDto }) @IsOptional() @IsObject() @NestedDto(() => MetadataDto) metadata?: MetadataDto;
}

export class EventBatchDto {
  @ApiProperty({ type: [EventEnvelopeDto], maxItems: 1000 }) events!: EventEnvelopeDto[];
}

// Every DTO an event is checked against, compiled once when this module loads.
compileDtos(EventEnvelopeDto, ...Object.values(EVENT_DATA_DTOS));

export interface ParsedEvent {
  readonly event: LedgerEvent;
  readonly pii?: Readonly<Record<string, string>>;
}

/** Accepted clock skew between an emitter and the ledger. */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
const TIMEZONE = /(Z|[+-]\d{2}:?\d{2})$/;
const PII_FIELD = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Checks one event as a caller sent it (a parsed JSON body, not modified); refuses with field
 * errors (paths from `path`). The envelope and then its `data` are each validated once.
 * The event is built in canonical member order (RFC 8785) at every level, so its idempotency
 * digest and the stored record take it without reordering; the timestamp is normalised to
 * UTC milliseconds so stored timestamps order as text.
 */
export function parseEvent(plain: unknown, path: string, now: Date): { parsed?: ParsedEvent; errors: FieldError[] } {
  const envelope = validateDto(EventEnvelopeDto, plain, path);
  const dto = envelope.value;
  if (!dto) return { errors: envelope.errors };
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  const errors: FieldError[] = [];

  const occurredAt = new Date(dto.occurredAt);
  if (!TIMEZONE.test(dto.occurredAt)) errors.push({ field: at('occurredAt'), reason: 'must state its time zone (Z or ±hh:mm)' });
  else if (occurredAt.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) errors.push({ field: at('occurredAt'), reason: 'is in the future' });

  const aboutSubject = streamKindOf(dto.type) === 'subject';
  const subjectId = dto.subjectId ?? null;
  if (aboutSubject && subjectId === null) errors.push({ field: at('subjectId'), reason: `is required for ${dto.type}` });
  if (!aboutSubject && subjectId !== null) {
    errors.push({ field: at('subjectId'), reason: `must be absent: ${dto.type} is not about one subject` });
  }

  let pii: Record<string, string> | undefined;
  if (dto.pii !== undefined) {
    if (!aboutSubject) errors.push({ field: at('pii'), reason: `is only allowed on events about one subject` });
    const keys = Object.keys(dto.pii);
    if (keys.length === 0 || keys.length > 32) errors.push({ field: at('pii'), reason: 'must hold 1 to 32 values' });
    for (const key of keys) {
      const value = dto.pii[key];
      if (!PII_FIELD.test(key)) errors.push({ field: at(`pii.${key}`), reason: 'is not a valid field name' });
      else if (typeof value !== 'string' || value.length > 4096) errors.push({ field: at(`pii.${key}`), reason: 'must be a string of at most 4096 characters' });
      else if (!isWellFormed(value)) errors.push({ field: at(`pii.${key}`), reason: 'must be well-formed Unicode text (no lone surrogates)' });
    }
    pii = dto.pii as Record<string, string>;
  }

  const dataClass: new () => object = EVENT_DATA_DTOS[dto.type];
  const data = validateDto(dataClass, dto.data, at('data'));
  errors.push(...data.errors);
  if (errors.length > 0 || !data.value) return { errors };

  const event = {
    actor: { id: dto.actor.id, kind: dto.actor.kind, system: dto.actor.system },
    data: canonicalDtoCopy(dataClass, data.value),
    eventId: dto.eventId.toLowerCase(),
    metadata: metadataOf(dto.metadata),
    occurredAt: occurredAt.toISOString(),
    subjectId,
    type: dto.type,
  } as LedgerEvent;
  return { parsed: pii ? { event, pii } : { event }, errors: [] };
}

/**
 * Checks a batch request body, `{ events: [...] }` with at most `maxEvents` events: each event
 * is validated once (paths `events[i]...`), an eventId may appear once, and every refusal of
 * every event is reported together.
 */
export function parseEventBatch(body: unknown, maxEvents: number, now: Date): { events?: ParsedEvent[]; errors: FieldError[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { errors: [{ field: '(body)', reason: 'must be a JSON object' }] };
  const errors: FieldError[] = [];
  for (const key of Object.keys(body)) if (key !== 'events') errors.push({ field: key, reason: 'is not a known field' });
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events) || events.length === 0) errors.push({ field: 'events', reason: 'must be a non-empty array' });
  else if (events.length > maxEvents) errors.push({ field: 'events', reason: `must hold at most ${maxEvents} events (got ${events.length})` });
  if (errors.length > 0 || !Array.isArray(events)) return { errors };

  const parsed: ParsedEvent[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < events.length; i++) {
    const result = parseEvent(events[i], `events[${i}]`, now);
    for (const error of result.errors) errors.push(error);
    if (!result.parsed) continue;
    const eventId = result.parsed.event.eventId;
    const first = seen.get(eventId);
    if (first !== undefined) errors.push({ field: `events[${i}].eventId`, reason: `repeats events[${first}].eventId` });
    seen.set(eventId, i);
    parsed.push(result.parsed);
  }
  return errors.length > 0 ? { errors } : { events: parsed, errors };
}

/** The metadata members that are present, in canonical order. */
function metadataOf(metadata: MetadataDto | null | undefined): LedgerEvent['metadata'] {
  if (!metadata) return {};
  const { causationId, correlationId, emitter } = metadata;
  return {
    ...(causationId == null ? {} : { causationId }),
    ...(correlationId == null ? {} : { correlationId }),
    ...(emitter == null ? {} : { emitter }),
  };
}
