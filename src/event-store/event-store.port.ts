/**
 * The EventStore port: the only way the ledger reads or writes its log.
 * Two adapters implement it (embedded SQLite, KurrentDB) and pass one contract suite
 * (test/contract/event-store.contract.ts).
 *
 * Invariants every adapter keeps:
 * - nothing stored is ever updated or deleted (GDPR erasure is crypto-shredding, not deletion);
 * - appends to one stream state the expected revision, so each stream's hash chain is linear;
 * - an append request is atomic: all of its events are stored, or none;
 * - `eventId` is an idempotency key that survives restarts: the same id with the same
 *   content digest returns the first receipt; with a different digest it is a conflict.
 */

/** Who performed the processing (or emitted the fact). Never a natural person's name: an id. */
export interface Actor {
  readonly id: string;
  readonly kind: string;
  readonly system: string;
}

export interface EventMetadata {
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly emitter?: string;
}

/** An event as the ledger wants it stored. `pii`, when present, is already ciphertext. */
export interface NewEvent {
  readonly eventId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly subjectId: string | null;
  readonly actor: Actor;
  readonly data: Readonly<Record<string, unknown>>;
  readonly pii?: string;
  readonly metadata: EventMetadata;
  /**
   * SHA-256 (hex) over the caller's canonical request body; compared on a repeated eventId.
   * It is not part of the chained record.
   */
  readonly contentDigest: string;
}

/**
 * The record that is canonicalised (RFC 8785) and hash-chained; what a verifier recomputes.
 * It names its own global position, so an event moved or swapped in the log no longer
 * matches its hash.
 */
export interface ChainedRecord {
  readonly eventId: string;
  readonly type: string;
  readonly streamId: string;
  readonly streamRevision: number;
  /** 0-based position in the global log (the Merkle leaf index). */
  readonly globalPosition: number;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly subjectId: string | null;
  readonly actor: Actor;
  readonly data: Readonly<Record<string, unknown>>;
  readonly pii?: string;
  readonly metadata: EventMetadata;
}

export interface StoredEvent extends ChainedRecord {
  /** hex SHA-256 of the previous event of the stream, 64 zeros for revision 0. */
  readonly prevHash: string;
  /** hex SHA-256(prevHash || canonical(record)). */
  readonly hash: string;
  readonly contentDigest: string;
}

export interface Receipt {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly globalPosition: number;
  readonly hash: string;
}

export interface AppendedReceipt extends Receipt {
  /** true when the eventId had been stored before with the same content: nothing new was written. */
  readonly duplicate: boolean;
}

/**
 * Expected state of a stream before the append:
 * 'any' (no check), 'no_stream' (must not exist), 'exists', or the exact current revision.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'exists' | number;

export interface AppendRequest {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly NewEvent[];
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Revision to start from (inclusive). Default: first (forwards) or last (backwards). */
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Global position to start from (inclusive). Default 0. */
  readonly fromPosition?: number;
  readonly maxCount?: number;
}

export interface StreamHead {
  readonly streamId: string;
  readonly revision: number;
  readonly hash: string;
}

export interface Subscription {
  /** Stops delivery; resolves when no handler call is running. */
  stop(): Promise<void>;
}

export interface SubscribeOptions {
  /** First global position to deliver (inclusive). */
  readonly fromPosition: number;
  /** Called with events in global order, each exactly once per subscription; awaited before the next batch. */
  readonly onEvents: (events: readonly StoredEvent[]) => Promise<void> | void;
  readonly onError?: (error: unknown) => void;
  readonly batchSize?: number;
}

export interface EventStore {
  /**
   * Appends every request in one atomic unit: all of them are stored, or none.
   * Throws WrongExpectedRevisionError or EventIdConflictError (nothing written).
   * Receipts come back in request order, events in order.
   */
  append(requests: readonly AppendRequest[]): Promise<AppendedReceipt[]>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /**
   * Optional: readAll together with each event's stored canonical record text (the bytes its
   * chain link and Merkle leaf cover), so the log feed need not canonicalise again.
   */
  readLogBatch?(fromPosition: number, maxCount: number): Promise<{ events: StoredEvent[]; records: string[] }>;
  /** Head of the global log: the next global position to be written (= number of events). */
  headPosition(): Promise<number>;
  streamHead(streamId: string): Promise<StreamHead | null>;
  findByEventId(eventId: string): Promise<StoredEvent | null>;
  /**
   * Optional: registers a wake-up called after appends become readable (possibly spuriously);
   * returns the unregister function. Followers without it poll.
   */
  onAppended?(listener: () => void): () => void;
  /** Catch-up subscription to the global log from a position, then live. */
  subscribeToAll(options: SubscribeOptions): Subscription;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EventStore');

export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

export class EventIdConflictError extends Error {
  override readonly name = 'EventIdConflictError';
  constructor(
    readonly eventId: string,
    readonly existing: Receipt,
  ) {
    super(`eventId ${eventId} was already used for a different event`);
  }
}

/** Genesis link of every stream's hash chain. */
export const GENESIS_HASH = '0'.repeat(64);
