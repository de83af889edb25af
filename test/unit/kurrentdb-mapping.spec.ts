import { randomUUID } from 'node:crypto';
import {
  ANY,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotFoundError,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  UnsupportedError,
  WrongExpectedVersionError,
  type JSONRecordedEvent,
} from '@kurrent/kurrentdb-client';
import { canonicalRecordBytes, chainHash, verifyStreamChain } from '../../src/integrity/chain.js';
import {
  GENESIS_HASH,
  WrongExpectedRevisionError,
  type ChainedRecord,
  type StoredEvent,
} from '../../src/event-store/event-store.port.js';
import {
  EVENT_ID_CLAIM_TYPE,
  KurrentDbAppendTooLargeError,
  KurrentDbUnsupportedServerError,
  LOG_STREAM,
  LedgerRecordError,
  assertLedgerStreamId,
  chainedRecordFromCanonical,
  claimFromRecord,
  claimOf,
  eventIdStream,
  exactStreamState,
  fromCurrentStreamState,
  fromStreamState,
  isEventIdStream,
  isReservedStreamId,
  isStreamNotFound,
  isTransientError,
  ledgerMetadata,
  meetsExpectation,
  receiptOfClaim,
  redactConnectionString,
  storedEventFromRecord,
  toClaimRecord,
  toLedgerRecord,
  toPortError,
  toRevision,
  toSafeNumber,
  toStreamState,
} from '../../src/event-store/kurrentdb/kurrentdb-mapping.js';

const TWO_POW_53 = 2n ** 53n;

function storedEvent(overrides: Partial<ChainedRecord> = {}): StoredEvent {
  const record: ChainedRecord = {
    eventId: '5f0c6c7e-3b1a-4d53-9a43-2f0f1b0f7a10',
    type: 'PersonalDataAccessed',
    streamId: 'subject-9d2c',
    streamRevision: 0,
    globalPosition: 41,
    occurredAt: '2026-11-01T10:00:00.000Z',
    recordedAt: '2026-11-01T10:00:01.000Z',
    subjectId: '9d2c',
    actor: { id: 'agent-17', kind: 'employee', system: 'support-console' },
    data: { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', nested: { n: 1.5 } },
    pii: 'v1.aes-256-gcm.ciphertext',
    metadata: { correlationId: 'c-1', emitter: 'support-console' },
    ...overrides,
  };
  const bytes = canonicalRecordBytes(record);
  return {
    ...chainedRecordFromCanonical(bytes),
    prevHash: GENESIS_HASH,
    hash: chainHash(GENESIS_HASH, bytes),
    contentDigest: 'ab'.repeat(32),
  };
}

/** What the client hands back for a record written as `toLedgerRecord` (JSON round trip included). */
function recorded(streamId: string, revision: bigint, written: { type: string; data: unknown }): JSONRecordedEvent {
  return {
    streamId,
    id: randomUUID(),
    isJson: true,
    revision,
    type: written.type,
    created: new Date(),
    data: JSON.parse(JSON.stringify(written.data)) as JSONRecordedEvent['data'],
    metadata: undefined,
  } as JSONRecordedEvent;
}

describe('KurrentDB mapping: stream names and ids', () => {
  it('gives every eventId one claim stream, case-insensitively', () => {
    const id = '5F0C6C7E-3B1A-4D53-9A43-2F0F1B0F7A10';
    expect(eventIdStream(id)).toBe('ledger-eventid-5f0c6c7e-3b1a-4d53-9a43-2f0f1b0f7a10');
    expect(eventIdStream(id.toLowerCase())).toBe(eventIdStream(id));
    expect(isEventIdStream(eventIdStream(id))).toBe(true);
    expect(() => eventIdStream('not-a-uuid')).toThrow(TypeError);
  });

  it('reserves KurrentDB system streams and the adapter bookkeeping streams', () => {
    expect(isReservedStreamId('$all')).toBe(true);
    expect(isReservedStreamId(LOG_STREAM)).toBe(true);
    expect(isReservedStreamId(eventIdStream(randomUUID()))).toBe(true);
    expect(isReservedStreamId('subject-9d2c')).toBe(false);
    expect(isReservedStreamId('ledger-logbook')).toBe(false);
    expect(() => assertLedgerStreamId(LOG_STREAM)).toThrow(/reserved/);
    expect(() => assertLedgerStreamId('')).toThrow(/empty/);
    expect(() => assertLedgerStreamId('breach-7')).not.toThrow();
  });
});

describe('KurrentDB mapping: bigint revisions and positions', () => {
  it('converts within 0..2^53-1 and refuses anything a JS number cannot hold exactly', () => {
    expect(toSafeNumber(0n, 'position')).toBe(0);
    expect(toSafeNumber(TWO_POW_53 - 1n, 'position')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toSafeNumber(TWO_POW_53, 'position')).toThrow(RangeError);
    expect(() => toSafeNumber(2n ** 64n - 1n, 'position')).toThrow(/outside 0\.\.2\^53-1/);
    expect(() => toSafeNumber(-1n, 'position')).toThrow(RangeError);
  });

  it('turns port revisions into client revisions, refusing negatives and fractions', () => {
    expect(toRevision(0, 'fromRevision')).toBe(0n);
    expect(toRevision(Number.MAX_SAFE_INTEGER, 'fromRevision')).toBe(TWO_POW_53 - 1n);
    expect(() => toRevision(-1, 'fromRevision')).toThrow(RangeError);
    expect(() => toRevision(1.5, 'fromRevision')).toThrow(RangeError);
    expect(() => toRevision(2 ** 53, 'fromRevision')).toThrow(RangeError);
  });
});

describe('KurrentDB mapping: stream states', () => {
  it('maps the port expectations to the client constants and back', () => {
    expect(toStreamState('any')).toBe(ANY);
    expect(toStreamState('no_stream')).toBe(NO_STREAM);
    expect(toStreamState('exists')).toBe(STREAM_EXISTS);
    expect(toStreamState(7)).toBe(7n);
    for (const expected of ['any', 'no_stream', 'exists', 0, 12] as const) {
      expect(fromStreamState(toStreamState(expected))).toBe(expected);
    }
    expect(() => toStreamState(-1)).toThrow(RangeError);
    expect(() => fromStreamState(TWO_POW_53)).toThrow(RangeError);
  });

  it('appends with the exact head it chained from, never ANY or STREAM_EXISTS', () => {
    expect(exactStreamState(null)).toBe(NO_STREAM);
    expect(exactStreamState(0)).toBe(0n);
    expect(exactStreamState(41)).toBe(41n);
  });

  it('reports the server actual state as a revision or no_stream (deleted streams count as gone)', () => {
    expect(fromCurrentStreamState(NO_STREAM)).toBe('no_stream');
    expect(fromCurrentStreamState(3n)).toBe(3);
    expect(fromCurrentStreamState(-5n)).toBe('no_stream');
  });

  it('checks a caller expectation against an actual head', () => {
    expect(meetsExpectation('any', 'no_stream')).toBe(true);
    expect(meetsExpectation('no_stream', 'no_stream')).toBe(true);
    expect(meetsExpectation('no_stream', 0)).toBe(false);
    expect(meetsExpectation('exists', 'no_stream')).toBe(false);
    expect(meetsExpectation('exists', 4)).toBe(true);
    expect(meetsExpectation(4, 4)).toBe(true);
    expect(meetsExpectation(4, 5)).toBe(false);
  });
});

describe('KurrentDB mapping: records', () => {
  it('writes a ledger event as a self-contained JSON record with the ledger fields as string metadata', () => {
    const event = storedEvent();
    const recordId = randomUUID();
    const written = toLedgerRecord(event, recordId);
    expect(written).toMatchObject({ id: recordId, contentType: 'application/json', type: 'PersonalDataAccessed' });
    expect(written.id).not.toBe(event.eventId);
    expect(written.metadata).toEqual({
      'ledger-event-id': event.eventId,
      'ledger-stream-id': 'subject-9d2c',
      'ledger-stream-revision': '0',
      'ledger-global-position': '41',
      'ledger-prev-hash': GENESIS_HASH,
      'ledger-hash': event.hash,
      'ledger-content-digest': event.contentDigest,
    });
    // multi-stream append accepts only string metadata values
    expect(Object.values(ledgerMetadata(event)).every((v) => typeof v === 'string')).toBe(true);
  });

  it('reads the same event back from its stream and from the log, and the chain still verifies', () => {
    const event = storedEvent();
    const written = toLedgerRecord(event, randomUUID());
    const fromStream = storedEventFromRecord(recorded('subject-9d2c', 0n, written), 'stream');
    const fromLog = storedEventFromRecord(recorded(LOG_STREAM, 41n, written), 'log');
    expect(fromStream).toEqual(event);
    expect(fromLog).toEqual(event);
    expect(verifyStreamChain([fromStream])).toBeNull();
  });

  it('omits pii when the event has none, and keeps a null subject', () => {
    const { pii: _pii, ...withoutPii } = storedEvent({ subjectId: null });
    const event: StoredEvent = { ...withoutPii, hash: chainHash(GENESIS_HASH, canonicalRecordBytes(withoutPii)) };
    const back = storedEventFromRecord(recorded('subject-9d2c', 0n, toLedgerRecord(event, randomUUID())), 'stream');
    expect('pii' in back).toBe(false);
    expect(back.subjectId).toBeNull();
    expect(verifyStreamChain([back])).toBeNull();
  });

  it('refuses a record that sits at another position or stream than its content says', () => {
    const written = toLedgerRecord(storedEvent(), randomUUID());
    expect(() => storedEventFromRecord(recorded(LOG_STREAM, 40n, written), 'log')).toThrow(LedgerRecordError);
    expect(() => storedEventFromRecord(recorded('subject-other', 0n, written), 'stream')).toThrow(LedgerRecordError);
    expect(() => storedEventFromRecord(recorded('subject-9d2c', 1n, written), 'stream')).toThrow(/revision 0/);
    expect(() => storedEventFromRecord(recorded(LOG_STREAM, TWO_POW_53, written), 'log')).toThrow(RangeError);
  });

  it('refuses malformed record content with the field named', () => {
    const data = toLedgerRecord(storedEvent(), randomUUID()).data as Record<string, unknown>;
    const broken = { type: 'PersonalDataAccessed', data: { ...data, hash: 'not-hex' } };
    expect(() => storedEventFromRecord(recorded('subject-9d2c', 0n, broken), 'stream')).toThrow(/'hash'/);
    const noActor = { type: 'PersonalDataAccessed', data: { ...data, actor: 'agent-17' } };
    expect(() => storedEventFromRecord(recorded('subject-9d2c', 0n, noActor), 'stream')).toThrow(/'actor'/);
    const binary = { ...recorded('subject-9d2c', 0n, broken), isJson: false };
    expect(() => storedEventFromRecord(binary as unknown as JSONRecordedEvent, 'stream')).toThrow(/not a ledger JSON record/);
  });

  it('writes and reads an eventId claim that carries the first receipt and the content digest', () => {
    const event = storedEvent();
    const claim = claimOf(event);
    const written = toClaimRecord(claim, randomUUID());
    expect(written.type).toBe(EVENT_ID_CLAIM_TYPE);
    const back = claimFromRecord(recorded(eventIdStream(event.eventId), 0n, written));
    expect(back).toEqual(claim);
    expect(receiptOfClaim(back)).toEqual({
      eventId: event.eventId,
      streamId: event.streamId,
      streamRevision: 0,
      globalPosition: 41,
      hash: event.hash,
    });
    expect(() => claimFromRecord(recorded(eventIdStream(randomUUID()), 0n, written))).toThrow(LedgerRecordError);
    expect(() => claimFromRecord(recorded(eventIdStream(event.eventId), 0n, toLedgerRecord(event, randomUUID())))).toThrow(
      /not an eventId claim/,
    );
  });
});

describe('KurrentDB mapping: errors', () => {
  it("translates the client's wrong expected version into the port's conflict", () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: 'subject-9d2c', expected: 5n, current: 0n });
    const translated = toPortError(error);
    expect(translated).toBeInstanceOf(WrongExpectedRevisionError);
    expect(translated).toMatchObject({ streamId: 'subject-9d2c', expected: 5, actual: 0 });
  });

  it("reports the caller's expectation, not the exact revision the adapter sent", () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: 's', expected: 3n, current: 4n });
    expect(toPortError(error, new Map([['s', 'no_stream' as const]]))).toMatchObject({ expected: 'no_stream', actual: 4 });
    const missing = new WrongExpectedVersionError(undefined, { streamName: 's', expected: STREAM_EXISTS, current: NO_STREAM });
    expect(toPortError(missing)).toMatchObject({ expected: 'exists', actual: 'no_stream' });
  });

  it('explains an old server, an oversized append and a deleted stream', () => {
    expect(toPortError(new UnsupportedError('multiStreamAppend', '25.1'))).toBeInstanceOf(KurrentDbUnsupportedServerError);
    expect(String(toPortError(new UnsupportedError('multiStreamAppend', '25.1')))).toMatch(/25\.1 or later/);
    const tooLarge = toPortError(MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576));
    expect(tooLarge).toBeInstanceOf(KurrentDbAppendTooLargeError);
    expect(String(tooLarge)).toMatch(/1048576 bytes.*KURRENTDB_MAX_APPEND_SIZE/);
    expect(toPortError(StreamDeletedError.fromStreamName('subject-9d2c'))).toBeInstanceOf(LedgerRecordError);
    const other = new Error('boom');
    expect(toPortError(other)).toBe(other);
  });

  it('tells transient failures (retry) from the rest', () => {
    expect(isTransientError(new UnavailableError())).toBe(true);
    expect(isTransientError(new DeadlineExceededError())).toBe(true);
    expect(isTransientError(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }))).toBe(true);
    expect(isTransientError(new NotFoundError())).toBe(false);
    expect(isTransientError(new WrongExpectedVersionError(undefined, { streamName: 's', expected: ANY, current: 1n }))).toBe(false);
    expect(isTransientError(new Error('boom'))).toBe(false);
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 'subject-9d2c'))).toBe(true);
    expect(isStreamNotFound(new NotFoundError())).toBe(false);
  });

  it('keeps credentials out of messages', () => {
    expect(redactConnectionString('kurrentdb://admin:changeit@node1:2113,node2:2113?tls=true')).toBe(
      'kurrentdb://***@node1:2113,node2:2113?tls=true',
    );
    expect(redactConnectionString('kurrentdb://127.0.0.1:1?tls=false')).toBe('kurrentdb://127.0.0.1:1?tls=false');
  });
});
