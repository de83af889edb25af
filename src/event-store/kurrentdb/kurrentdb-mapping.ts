/**
 * Pure mapping between the ledger's EventStore port and KurrentDB records, revisions and errors.
 * No I/O here: the adapter (kurrentdb-event-store.ts) stays a thin sequence of reads and one
 * atomic multi-stream append per ledger append, and everything it translates is unit-tested
 * (test/unit/kurrentdb-mapping.spec.ts).
 *
 * Physical layout in KurrentDB (see the adapter's header for why):
 * - `ledger-log`: one record per ledger event; its stream revision IS the event's globalPosition;
 * - the ledger stream itself (`subject-<id>`, `breach-<id>`, ...): the same record, revision = streamRevision;
 * - `ledger-eventid-<uuid>`: one claim per eventId (written with NO_STREAM), the durable idempotency key.
 */
import {
  ANY,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NO_STREAM,
  NotLeaderError,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  StreamTombstonedError,
  TimeoutError,
  TransactionMaxSizeExceededError,
  UnavailableError,
  UnsupportedError,
  WrongExpectedVersionError,
  type AppendStreamState,
  type CurrentStreamState,
  type JSONEventData,
} from '@kurrent/kurrentdb-client';
import {
  WrongExpectedRevisionError,
  type ChainedRecord,
  type ExpectedRevision,
  type Receipt,
  type StoredEvent,
} from '../event-store.port.js';
import { isUuid } from '../sqlite/uuid-bytes.js';

/** The ledger's global log: revision n of this stream is the Merkle leaf n. */
export const LOG_STREAM = 'ledger-log';
/** One stream per eventId; its only event is the claim written atomically with the event. */
export const EVENT_ID_STREAM_PREFIX = 'ledger-eventid-';
export const EVENT_ID_CLAIM_TYPE = 'LedgerEventIdClaimed';
const HEX64 = /^[0-9a-f]{64}$/;

/** A KurrentDB record whose content is not what the ledger wrote there (format, position or stream). */
export class LedgerRecordError extends Error {
  override readonly name = 'LedgerRecordError';
}

/** The server lacks a capability the adapter needs to keep the port's invariants. */
export class KurrentDbUnsupportedServerError extends Error {
  override readonly name = 'KurrentDbUnsupportedServerError';
}

/** Raised when an append cannot be written as one KurrentDB transaction, with what to change. */
export class KurrentDbAppendTooLargeError extends Error {
  override readonly name = 'KurrentDbAppendTooLargeError';
}

// ---------------------------------------------------------------------------------------------
// Stream names and ids

/** Ledger streams may not use KurrentDB system names or the adapter's own bookkeeping streams. */
export function isReservedStreamId(streamId: string): boolean {
  return streamId.startsWith('$') || streamId === LOG_STREAM || streamId.startsWith(EVENT_ID_STREAM_PREFIX);
}

export function assertLedgerStreamId(streamId: string): void {
  if (streamId.length === 0) throw new TypeError('streamId must not be empty');
  if (isReservedStreamId(streamId)) {
    throw new TypeError(
      `streamId '${streamId}' is reserved: '$...' is KurrentDB's, '${LOG_STREAM}' and '${EVENT_ID_STREAM_PREFIX}...' are the ledger's own`,
    );
  }
}

/** The idempotency stream of an eventId: one per UUID, case-insensitive like the embedded store. */
export function eventIdStream(eventId: string): string {
  if (!isUuid(eventId)) throw new TypeError('eventId must be a UUID');
  return EVENT_ID_STREAM_PREFIX + eventId.toLowerCase();
}

export function isEventIdStream(streamName: string): boolean {
  return streamName.startsWith(EVENT_ID_STREAM_PREFIX);
}

// ---------------------------------------------------------------------------------------------
// Numbers: KurrentDB speaks bigint (u64), the port speaks safe JS integers.

/** bigint revision/position → number; refuses what a JS number cannot hold exactly. */
export function toSafeNumber(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`${what} ${value.toString()} is outside 0..2^53-1 and cannot be a ledger position`);
  }
  return Number(value);
}

/** number → bigint revision for the client; only non-negative safe integers are revisions. */
export function toRevision(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer (got ${value})`);
  return BigInt(value);
}

// ---------------------------------------------------------------------------------------------
// Stream states

/** The port's expectation as the client's stream state. */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'exists':
      return STREAM_EXISTS;
    default:
      return toRevision(expected, 'expected revision');
  }
}

/** The client's stream state as the port's expectation (used to report conflicts). */
export function fromStreamState(state: AppendStreamState): ExpectedRevision {
  if (state === ANY) return 'any';
  if (state === NO_STREAM) return 'no_stream';
  if (state === STREAM_EXISTS) return 'exists';
  return toSafeNumber(state, 'expected revision');
}

/**
 * What the adapter actually sends: always the exact head it chained from (or NO_STREAM), never
 * ANY/STREAM_EXISTS, because the new events' prevHash is that head's hash. `null` = no stream.
 */
export function exactStreamState(headRevision: number | null): AppendStreamState {
  return headRevision === null ? NO_STREAM : toRevision(headRevision, 'stream revision');
}

/** The server's "actual" state as the port reports it. KurrentDB reports deleted streams as negative. */
export function fromCurrentStreamState(state: CurrentStreamState): number | 'no_stream' {
  if (state === NO_STREAM || state < 0n) return 'no_stream';
  return toSafeNumber(state, 'stream revision');
}

/** Does a stream at `actual` satisfy the caller's expectation? */
export function meetsExpectation(expected: ExpectedRevision, actual: number | 'no_stream'): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === 'no_stream';
    case 'exists':
      return actual !== 'no_stream';
    default:
      return actual === expected;
  }
}

// ---------------------------------------------------------------------------------------------
// Records

/** What a ledger event record holds: the stored event, chained fields and ledger fields together. */
export type LedgerRecordData = Record<string, unknown> & StoredEvent;

export interface EventIdClaim {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly globalPosition: number;
  readonly hash: string;
  readonly contentDigest: string;
}

/**
 * Metadata of a ledger record: the ledger fields as strings, for operators browsing KurrentDB
 * (multi-stream append accepts only string values). The adapter reads `data` only, so a record
 * is self-contained and its metadata can never disagree with what is verified.
 */
export function ledgerMetadata(event: StoredEvent): Record<string, string> {
  return {
    'ledger-event-id': event.eventId,
    'ledger-stream-id': event.streamId,
    'ledger-stream-revision': String(event.streamRevision),
    'ledger-global-position': String(event.globalPosition),
    'ledger-prev-hash': event.prevHash,
    'ledger-hash': event.hash,
    'ledger-content-digest': event.contentDigest,
  };
}

/** A ledger event as a KurrentDB JSON record. `recordId` is KurrentDB's id, not the ledger's eventId. */
export function toLedgerRecord(event: StoredEvent, recordId: string): JSONEventData {
  const data: LedgerRecordData = {
    eventId: event.eventId,
    type: event.type,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    occurredAt: event.occurredAt,
    recordedAt: event.recordedAt,
    subjectId: event.subjectId,
    actor: event.actor,
    data: event.data,
    ...(event.pii === undefined ? {} : { pii: event.pii }),
    metadata: event.metadata,
    globalPosition: event.globalPosition,
    prevHash: event.prevHash,
    hash: event.hash,
    contentDigest: event.contentDigest,
  };
  return { id: recordId, contentType: 'application/json', type: event.type, data, metadata: ledgerMetadata(event) };
}

export function claimOf(event: StoredEvent): EventIdClaim {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    globalPosition: event.globalPosition,
    hash: event.hash,
    contentDigest: event.contentDigest,
  };
}

export function toClaimRecord(claim: EventIdClaim, recordId: string): JSONEventData {
  return {
    id: recordId,
    contentType: 'application/json',
    type: EVENT_ID_CLAIM_TYPE,
    data: { ...claim },
    metadata: { 'ledger-event-id': claim.eventId, 'ledger-global-position': String(claim.globalPosition) },
  };
}

export function receiptOfClaim(claim: EventIdClaim): Receipt {
  return {
    eventId: claim.eventId,
    streamId: claim.streamId,
    streamRevision: claim.streamRevision,
    globalPosition: claim.globalPosition,
    hash: claim.hash,
  };
}

/** The part of a KurrentDB RecordedEvent the mapping reads (the client's RecordedEvent satisfies it). */
export interface KurrentRecord {
  readonly streamId: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  readonly data: unknown;
}

/**
 * A ledger event read back from `ledger-log` (where) = 'log' or from its own stream ('stream').
 * Checks that the record sits where its content says it does: the log revision is the
 * globalPosition, the stream revision is the streamRevision.
 */
export function storedEventFromRecord(record: KurrentRecord, where: 'log' | 'stream'): StoredEvent {
  const at = `${record.streamId}@${record.revision.toString()}`;
  if (!record.isJson || !isObject(record.data)) throw new LedgerRecordError(`${at} is not a ledger JSON record`);
  const d = record.data;
  const actor = d['actor'];
  const event: StoredEvent = {
    eventId: str(d, 'eventId', at),
    type: str(d, 'type', at),
    streamId: str(d, 'streamId', at),
    streamRevision: int(d, 'streamRevision', at),
    occurredAt: str(d, 'occurredAt', at),
    recordedAt: str(d, 'recordedAt', at),
    subjectId: d['subjectId'] === null ? null : str(d, 'subjectId', at),
    actor: isObject(actor)
      ? { id: str(actor, 'id', at), kind: str(actor, 'kind', at), system: str(actor, 'system', at) }
      : fail(at, 'actor'),
    data: isObject(d['data']) ? d['data'] : fail(at, 'data'),
    ...(d['pii'] === undefined ? {} : { pii: str(d, 'pii', at) }),
    metadata: isObject(d['metadata']) ? (d['metadata'] as StoredEvent['metadata']) : fail(at, 'metadata'),
    globalPosition: int(d, 'globalPosition', at),
    prevHash: hex64(d, 'prevHash', at),
    hash: hex64(d, 'hash', at),
    contentDigest: str(d, 'contentDigest', at),
  };
  const revision = toSafeNumber(record.revision, `revision of ${record.streamId}`);
  if (where === 'log') {
    if (record.streamId !== LOG_STREAM || revision !== event.globalPosition) {
      throw new LedgerRecordError(`${at} holds globalPosition ${event.globalPosition}: the log is out of order`);
    }
  } else if (record.streamId !== event.streamId || revision !== event.streamRevision) {
    throw new LedgerRecordError(`${at} holds ${event.streamId} revision ${event.streamRevision}`);
  }
  return event;
}

export function claimFromRecord(record: KurrentRecord): EventIdClaim {
  const at = `${record.streamId}@${record.revision.toString()}`;
  if (!record.isJson || record.type !== EVENT_ID_CLAIM_TYPE || !isObject(record.data)) {
    throw new LedgerRecordError(`${at} is not an eventId claim`);
  }
  const d = record.data;
  const claim: EventIdClaim = {
    eventId: str(d, 'eventId', at),
    streamId: str(d, 'streamId', at),
    streamRevision: int(d, 'streamRevision', at),
    globalPosition: int(d, 'globalPosition', at),
    hash: hex64(d, 'hash', at),
    contentDigest: str(d, 'contentDigest', at),
  };
  if (record.streamId !== eventIdStream(claim.eventId)) throw new LedgerRecordError(`${at} claims eventId ${claim.eventId}`);
  return claim;
}

/** The chained part of a record, exactly as hashed: JSON-normalised from its canonical bytes. */
export function chainedRecordFromCanonical(canonical: Uint8Array): ChainedRecord {
  return JSON.parse(Buffer.from(canonical).toString('utf8')) as ChainedRecord;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * A client error as the port's error. `expectations` holds what the caller expected per stream,
 * so a conflict reports the caller's expectation rather than the exact revision the adapter sent.
 */
export function toPortError(error: unknown, expectations?: ReadonlyMap<string, ExpectedRevision>): unknown {
  if (error instanceof WrongExpectedVersionError) {
    const expected = expectations?.get(error.streamName) ?? fromStreamState(error.expectedState);
    return new WrongExpectedRevisionError(error.streamName, expected, fromCurrentStreamState(error.actualState));
  }
  if (error instanceof UnsupportedError) {
    return new KurrentDbUnsupportedServerError(
      `the KurrentDB server does not support ${error.feature} (needs ${error.minimumVersion} or later); ` +
        'the ledger needs it to append an event, its log position and its eventId claim atomically',
    );
  }
  if (error instanceof MaxAppendSizeExceededError || error instanceof TransactionMaxSizeExceededError) {
    const limit = error instanceof MaxAppendSizeExceededError ? error.maxAppendSize : error.maxSize;
    return new KurrentDbAppendTooLargeError(
      `the append exceeds the server's maximum append size (${limit} bytes; each ledger event is written twice plus ` +
        'its eventId claim): send fewer events per batch or raise KURRENTDB_MAX_APPEND_SIZE on the server',
    );
  }
  if (error instanceof StreamDeletedError || error instanceof StreamTombstonedError) {
    const stream = error instanceof StreamDeletedError ? error.streamName : error.stream;
    return new LedgerRecordError(`stream ${stream} was deleted in KurrentDB; the ledger never deletes, so the log is damaged`);
  }
  return error;
}

/** Errors worth another attempt: no leader yet, node unreachable, deadline passed. */
export function isTransientError(error: unknown): boolean {
  if (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof NotLeaderError ||
    error instanceof TimeoutError
  ) {
    return true;
  }
  // Raw gRPC errors (e.g. from the capability probe): 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED.
  const code = isObject(error) ? error['code'] : undefined;
  return code === 14 || code === 4;
}

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof StreamNotFoundError;
}

/** The connection string without credentials, fit for an error message or a log line. */
export function redactConnectionString(connectionString: string): string {
  return connectionString.replace(/^([a-z+]+:\/\/)[^@/]*@/i, '$1***@');
}

// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(at: string, field: string): never {
  throw new LedgerRecordError(`${at}: field '${field}' is missing or malformed`);
}

function str(d: Record<string, unknown>, field: string, at: string): string {
  const v = d[field];
  return typeof v === 'string' ? v : fail(at, field);
}

function int(d: Record<string, unknown>, field: string, at: string): number {
  const v = d[field];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(at, field);
}

function hex64(d: Record<string, unknown>, field: string, at: string): string {
  const v = d[field];
  return typeof v === 'string' && HEX64.test(v) ? v : fail(at, field);
}
