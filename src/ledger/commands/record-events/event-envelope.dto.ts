import { Type } from 'class-transformer';
import { IsIn, IsISO8601, IsObject, IsOptional, IsUUID, ValidateNested } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { LEDGER_EVENT_TYPES, type LedgerEvent, type LedgerEventType } from '../../domain/events.js';
import { streamKindOf } from '../../domain/streams.js';
import { EVENT_DATA_DTOS } from './event-data.dto.js';
import { IsPseudonymousId, validatePlain, type FieldError } from './validation.js';

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

  @ApiProperty({ type: ActorDto }) @ValidateNested() @Type(() => ActorDto) actor!: ActorDto;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Fields of the event type' })
  @IsObject()
  data!: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, description: 'Personal values; stored only encrypted under the subject key' })
  @IsOptional()
  @IsObject()
  pii?: Record<string, unknown>;

  @ApiPropertyOptional({ type: MetadataDto }) @IsOptional() @ValidateNested() @Type(() => MetadataDto) metadata?: MetadataDto;
}

export class EventBatchDto {
  @ApiProperty({ type: [EventEnvelopeDto], maxItems: 1000 }) events!: EventEnvelopeDto[];
}

export interface ParsedEvent {
  readonly event: LedgerEvent;
  readonly pii?: Readonly<Record<string, string>>;
}

/** Accepted clock skew between an emitter and the ledger. */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;
const TIMEZONE = /(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Checks one event as a caller sent it; refuses with field errors (paths from `path`).
 * The timestamp is normalised to UTC milliseconds so stored timestamps order as text.
 */
export function parseEvent(plain: unknown, path: string, now: Date): { parsed?: ParsedEvent; errors: FieldError[] } {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  const envelope = validatePlain(EventEnvelopeDto, plain, path);
  const errors = [...envelope.errors];
  if (errors.length > 0) return { errors };
  const dto = envelope.value;

  if (!TIMEZONE.test(dto.occurredAt)) errors.push({ field: at('occurredAt'), reason: 'must state its time zone (Z or ±hh:mm)' });
  else if (new Date(dto.occurredAt).getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    errors.push({ field: at('occurredAt'), reason: 'is in the future' });
  }

  const aboutSubject = streamKindOf(dto.type) === 'subject';
  const subjectId = dto.subjectId ?? null;
  if (aboutSubject && subjectId === null) errors.push({ field: at('subjectId'), reason: `is required for ${dto.type}` });
  if (!aboutSubject && subjectId !== null) {
    errors.push({ field: at('subjectId'), reason: `must be absent: ${dto.type} is not about one subject` });
  }

  let pii: Record<string, string> | undefined;
  if (dto.pii !== undefined) {
    if (!aboutSubject) errors.push({ field: at('pii'), reason: `is only allowed on events about one subject` });
    const entries = Object.entries(dto.pii);
    if (entries.length === 0 || entries.length > 32) errors.push({ field: at('pii'), reason: 'must hold 1 to 32 values' });
    for (const [key, value] of entries) {
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key)) errors.push({ field: at(`pii.${key}`), reason: 'is not a valid field name' });
      else if (typeof value !== 'string' || value.length > 4096) {
        errors.push({ field: at(`pii.${key}`), reason: 'must be a string of at most 4096 characters' });
      }
    }
    pii = Object.fromEntries(entries) as Record<string, string>;
  }

  const dataClass: new () => object = EVENT_DATA_DTOS[dto.type];
  const data = validatePlain(dataClass, dto.data, at('data'));
  errors.push(...data.errors);
  if (errors.length > 0) return { errors };

  const event = {
    eventId: dto.eventId.toLowerCase(),
    type: dto.type,
    occurredAt: new Date(dto.occurredAt).toISOString(),
    subjectId,
    actor: { id: dto.actor.id, kind: dto.actor.kind, system: dto.actor.system },
    data: toPlainData(data.value),
    metadata: { ...(dto.metadata ?? {}) },
  } as LedgerEvent;
  return { parsed: pii ? { event, pii } : { event }, errors: [] };
}

/** DTO instances back to plain JSON (drops class prototypes and undefined optionals). */
function toPlainData(dto: object): never {
  return JSON.parse(JSON.stringify(dto)) as never;
}
