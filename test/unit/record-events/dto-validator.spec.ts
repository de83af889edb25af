import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, IsString, ValidateNested, validateSync, type ValidationError, type ValidatorConstraintInterface } from 'class-validator';
import fc from 'fast-check';
import { EVENT_DATA_DTOS, PersonalDataAccessedDto } from '../../../src/ledger/commands/record-events/event-data.dto.js';
import { EventEnvelopeDto, parseEvent, parseEventBatch } from '../../../src/ledger/commands/record-events/event-envelope.dto.js';
import { canonicalDtoCopy, compileDtos, validateDto } from '../../../src/ledger/commands/record-events/dto-validator.js';
import type { FieldError } from '../../../src/ledger/commands/record-events/validation.js';
import { LEDGER_EVENT_TYPES, type LedgerEventType } from '../../../src/ledger/domain/events.js';
import { exampleData, exampleIds } from '../../support/example-events.js';

/*
 * The compiled DTO validator (dto-validator.ts) against its reference, class-validator's own
 * validateSync over class-transformer's plainToInstance with the options the ledger used, and
 * the recording path's promise to validate each event once and name the field of a refusal.
 */

type Dto = new () => object;

/** The reference: what the ledger's validation was before it was compiled. */
function reference(cls: Dto, plain: Record<string, unknown>, path: string): { errors: FieldError[]; plainValue?: unknown } {
  const value = plainToInstance(cls, plain, { enableImplicitConversion: false });
  const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: true } });
  const flat = flatten(errors, path);
  return flat.length > 0 ? { errors: flat } : { errors: [], plainValue: JSON.parse(JSON.stringify(value)) };
}

function flatten(errors: readonly ValidationError[], path: string): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const segment = /^\d+$/.test(error.property) ? `[${error.property}]` : error.property;
    const field = path === '' ? segment : segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
    const constraints = Object.entries(error.constraints ?? {});
    if (error.value === undefined && constraints.length > 0 && !('whitelistValidation' in (error.constraints ?? {}))) {
      out.push({ field, reason: 'is required' });
      continue;
    }
    for (const [constraint, message] of constraints) {
      out.push({
        field,
        reason: constraint === 'whitelistValidation' ? 'is not a known field' : message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message,
      });
    }
    if (error.children?.length) out.push(...flatten(error.children, field));
  }
  // Where IsObject already refused a nested DTO, the compiled validator leaves out the second,
  // redundant "nested property ... must be either object or array" (see dto-validator.ts).
  return out.filter((e) => !(/nested property .* must be either object or array$/.test(e.reason) && out.some((o) => o.field === e.field && o !== e)));
}

const DATA_PROPERTIES = (cls: Dto): string[] => [...new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false).map((m) => m.propertyName))];
const NESTED = (cls: Dto, property: string): boolean =>
  getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false).some((m) => m.propertyName === property && m.type === 'nestedValidation');

/** Values a caller might put anywhere: right and wrong types, vocabulary keys and not. */
const anyValue = fc.oneof(
  fc.constantFrom(undefined, null, '', ' ', 'x', 'agent-17', 'jane@example.com', '4915112345678', 'user.contact.email', 'user.shoe_size', 'contract', 'DE', 'XX'),
  fc.constantFrom('essential.service.operations.support', 'customer_initiated_support', '2026-11-01T10:00:00Z', '2026-02-30T10:00:00Z', 'P30D', 'a'.repeat(501)),
  fc.integer({ min: -5, max: 30 }),
  fc.constantFrom(1.5, 0, 1e21, 2, true, false),
  fc.array(fc.constantFrom('user.contact.email', 'user.sensor.video', 'nope', 'essential.service', 3), { maxLength: 4 }),
  fc.constantFrom({}, { id: 'proc-1', kind: 'processor' }, { id: 'proc-1', kind: 'robot', country: 'DE' }, { extra: 1 }),
  fc.array(fc.constantFrom({ id: 'p', kind: 'processor' }, { category: 'user.contact.email', period: 'P10D' }, { country: 'US', mechanism: 'scc' }, 'x', null), { maxLength: 3 }),
);
const extraKey = fc.constantFrom('note', 'customerName', 'Categories', 'id2');

function validEnvelope(): Record<string, unknown> {
  return {
    eventId: '6f1c1f0e-3a1b-4c55-9d7e-0a1b2c3d4e5f',
    type: 'PersonalDataAccessed',
    occurredAt: '2026-11-01T10:00:00Z',
    subjectId: 'cust-1001',
    actor: { id: 'agent-17', kind: 'employee', system: 'support-console' },
    data: {},
    pii: { email: 'x' },
    metadata: { correlationId: 'corr-1', emitter: 'svc' },
  };
}

describe('compiled DTO validation', () => {
  it.each(LEDGER_EVENT_TYPES.map((t) => [t]))('accepts the example %s and copies it in canonical member order', (type: LedgerEventType) => {
    const cls: Dto = EVENT_DATA_DTOS[type];
    const data = structuredClone(exampleData(exampleIds('dto'))[type]) as unknown as Record<string, unknown>;
    const result = validateDto(cls, data, 'data');
    expect(result.errors).toEqual([]);
    const copy = canonicalDtoCopy(cls, result.value!);
    expect(copy).toEqual(reference(cls, data, 'data').plainValue);
    const keysInOrder = (v: unknown): boolean =>
      typeof v !== 'object' || v === null || (Array.isArray(v) ? v.every(keysInOrder) : Object.keys(v).join() === Object.keys(v).sort().join() && Object.values(v).every(keysInOrder));
    expect(keysInOrder(copy)).toBe(true);
  });

  it('refuses and names exactly what class-validator does, for any mutation of the envelope or any event type', () => {
    const mutation = fc.record({
      type: fc.constantFrom<LedgerEventType | 'envelope'>(...LEDGER_EVENT_TYPES, 'envelope'),
      changes: fc.array(fc.tuple(fc.nat(), anyValue), { minLength: 1, maxLength: 3 }),
      extra: fc.option(fc.tuple(extraKey, anyValue), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ type, changes, extra }) => {
        const cls: Dto = type === 'envelope' ? EventEnvelopeDto : EVENT_DATA_DTOS[type];
        const properties = DATA_PROPERTIES(cls);
        const data = type === 'envelope' ? validEnvelope() : (structuredClone(exampleData(exampleIds('dto'))[type]) as unknown as Record<string, unknown>);
        for (const [at, value] of changes) {
          const property = properties[at % properties.length]!;
          // class-validator descends into arrays in a singular nested position; the compiler refuses them.
          fc.pre(!(NESTED(cls, property) && Array.isArray(value) && !Array.isArray(data[property])));
          if (value === undefined) delete data[property];
          else data[property] = value;
        }
        if (extra && extra[1] !== undefined) data[extra[0]] = extra[1];
        // As a request body: parsed JSON, no shared or undefined members.
        const body = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
        const expected = reference(cls, JSON.parse(JSON.stringify(body)) as Record<string, unknown>, 'data');
        const actual = validateDto(cls, body, 'data');
        expect(actual.errors).toEqual(expected.errors);
        if (actual.value) expect(canonicalDtoCopy(cls, actual.value)).toEqual(expected.plainValue);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses what plainToInstance let through: members it drops, a missing or non-object nested DTO', () => {
    const accessed = exampleData(exampleIds('dto')).PersonalDataAccessed;
    const disclosed = exampleData(exampleIds('dto')).PersonalDataDisclosed;
    const errors = (cls: Dto, plain: unknown) => validateDto(cls, plain, 'data').errors;
    expect(errors(PersonalDataAccessedDto, { ...accessed, constructor: 'x' })).toEqual([{ field: 'data.constructor', reason: 'is not a known field' }]);
    expect(errors(PersonalDataAccessedDto, { ...accessed, toString: 'x' })).toEqual([{ field: 'data.toString', reason: 'is not a known field' }]);
    const { recipient: _recipient, ...withoutRecipient } = disclosed;
    expect(errors(EVENT_DATA_DTOS.PersonalDataDisclosed, withoutRecipient)).toEqual([{ field: 'data.recipient', reason: 'is required' }]);
    expect(errors(EVENT_DATA_DTOS.PersonalDataDisclosed, { ...disclosed, recipient: [disclosed.recipient] })).toEqual([{ field: 'data.recipient', reason: 'must be an object' }]);
    expect(errors(EVENT_DATA_DTOS.PersonalDataAccessed, { ...accessed, justification: 'broken \ud800 text' })).toEqual([
      { field: 'data.justification', reason: 'must be well-formed Unicode text (no lone surrogates)' },
    ]);
  });

  it('refuses, when compiling, metadata it does not implement', () => {
    class Grouped {
      @IsString({ groups: ['admin'] }) name!: string;
    }
    class Inner {
      @IsString() id!: string;
    }
    class NestedWithoutClass {
      @ValidateNested() inner!: Inner;
    }
    expect(() => compileDtos(Grouped)).toThrow(/validation group/);
    expect(() => compileDtos(NestedWithoutClass)).toThrow(/ValidateNested without NestedDto/);
  });
});

describe('parsing an event envelope', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  const envelope = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    eventId: randomUUID(),
    type: 'PersonalDataAccessed',
    occurredAt: '2026-11-01T10:00:00Z',
    subjectId: 'cust-1001',
    actor: { id: 'agent-17', kind: 'employee', system: 'support-console' },
    data: { ...exampleData(exampleIds('env')).PersonalDataAccessed },
    ...overrides,
  });

  it.each([
    ['without an actor', { actor: undefined }, { field: 'actor', reason: 'is required' }],
    ['with an actor that is an array', { actor: [{ id: 'agent-17', kind: 'employee', system: 'support-console' }] }, { field: 'actor', reason: 'must be an object' }],
    ['with metadata that is an array', { metadata: [] }, { field: 'metadata', reason: 'must be an object' }],
    ['with a personal value that is not well-formed text', { pii: { name: 'J\udc00' } }, { field: 'pii.name', reason: 'must be well-formed Unicode text (no lone surrogates)' }],
  ])('refuses an event %s, naming the field', (_case, overrides, expected) => {
    const body = envelope(overrides);
    for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete body[key];
    expect(parseEvent(body, '', now).errors).toEqual([expected]);
  });

  it('builds the event in canonical member order, metadata without absent members', () => {
    const { parsed } = parseEvent(envelope({ metadata: { emitter: 'svc', correlationId: 'c-1' } }), '', now);
    const event = parsed!.event as unknown as Record<string, unknown>;
    expect(Object.keys(event)).toEqual(['actor', 'data', 'eventId', 'metadata', 'occurredAt', 'subjectId', 'type']);
    expect(Object.keys(event['data'] as object)).toEqual([...Object.keys(event['data'] as object)].sort());
    expect(event['metadata']).toEqual({ correlationId: 'c-1', emitter: 'svc' });
    expect(Object.keys(event['metadata'] as object)).toEqual(['correlationId', 'emitter']);
  });

  it('does not echo an e-mail address given as a subject id', () => {
    const { errors } = parseEvent(envelope({ subjectId: 'jane.doe@example.com' }), '', now);
    expect(errors.map((e) => e.field)).toEqual(['subjectId']);
    expect(JSON.stringify(errors)).not.toContain('jane.doe@example.com');
  });
});

describe('parsing a batch', () => {
  const now = new Date('2027-01-01T00:00:00Z');
  const storage = getMetadataStorage();
  /** The constraint instance behind one decorator of a DTO property (the one the compiled plan calls). */
  function constraintOf(cls: Dto, property: string, name: string): ValidatorConstraintInterface {
    for (const m of storage.getTargetValidationMetadatas(cls, '', false, false)) {
      if (m.propertyName !== property) continue;
      const found = storage.getTargetValidatorConstraints(m.constraintCls).find((c) => c.name === name);
      if (found) return found.instance;
    }
    throw new Error(`no ${name} on ${cls.name}.${property}`);
  }
  const event = (i: number): Record<string, unknown> => ({
    eventId: randomUUID(),
    type: 'PersonalDataAccessed',
    occurredAt: '2026-11-01T10:00:00Z',
    subjectId: `cust-${i}`,
    actor: { id: 'agent-17', kind: 'employee', system: 'support-console' },
    data: { ...exampleData(exampleIds('batch')).PersonalDataAccessed, ...(i === 3 ? { categories: ['user.contact.email', 'user.shoe_size'] } : {}) },
  });

  afterEach(() => jest.restoreAllMocks());

  it('validates each event once and names events[3].data.categories, and nothing else', () => {
    const eventIds = jest.spyOn(constraintOf(EventEnvelopeDto, 'eventId', 'isUuid'), 'validate');
    const purposes = jest.spyOn(constraintOf(PersonalDataAccessedDto, 'purpose', 'isVocabularyKey'), 'validate');
    const reasons = jest.spyOn(constraintOf(EVENT_DATA_DTOS.PersonalDataAccessed, 'reasonCode', 'isVocabularyKey'), 'validate');
    const result = parseEventBatch({ events: [0, 1, 2, 3, 4].map(event) }, 1000, now);
    expect(result.events).toBeUndefined();
    expect(result.errors).toEqual([
      { field: 'events[3].data.categories', reason: "has unknown data category 'user.shoe_size' (see GET /v1/vocabulary/data-categories)" },
    ]);
    expect(eventIds).toHaveBeenCalledTimes(5);
    expect(purposes).toHaveBeenCalledTimes(5);
    expect(reasons).toHaveBeenCalledTimes(5);
  });

  it('accepts a valid batch in request order; refuses a repeated eventId naming both positions', () => {
    const events = [0, 1, 2].map(event);
    expect(parseEventBatch({ events }, 1000, now).events?.map((p) => p.event.eventId)).toEqual(events.map((e) => e['eventId']));
    const repeated = [...events, { ...event(4), eventId: events[1]!['eventId'] }];
    expect(parseEventBatch({ events: repeated }, 1000, now).errors).toEqual([{ field: 'events[3].eventId', reason: 'repeats events[1].eventId' }]);
  });

  it.each([
    ['not an object', [], [{ field: '(body)', reason: 'must be a JSON object' }]],
    ['without events', { note: 1 }, [{ field: 'note', reason: 'is not a known field' }, { field: 'events', reason: 'must be a non-empty array' }]],
    ['with too many events', { events: [0, 1, 2].map(event) }, [{ field: 'events', reason: 'must hold at most 2 events (got 3)' }]],
  ])('refuses a body %s', (_case, body, expected) => {
    expect(parseEventBatch(body, 2, now).errors).toEqual(expected);
  });
});
