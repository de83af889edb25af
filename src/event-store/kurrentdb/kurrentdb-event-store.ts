/**
 * EventStore on KurrentDB (formerly EventStoreDB), for when one machine is not enough.
 * Needs KurrentDB 25.1 or later: every ledger append is ONE multi-stream append (atomic on the
 * server: all streams are written, or none). `connect()` refuses older servers with a clear error.
 *
 * What one ledger append writes, in one server transaction:
 *   1. the events to their ledger stream (`subject-<id>`, ...) with the EXACT expected revision
 *      of the head their chain continues (never ANY): `hash = chainHash(head.hash, record)`;
 *   2. the same records to `ledger-log` with the exact expected revision of the log's head.
 *      The log's stream revision IS the port's `globalPosition`: 0-based and contiguous (a
 *      stream's revisions have no gaps, and the ledger never deletes), so it is the RFC 6962
 *      leaf index. KurrentDB's `$all` commit/prepare positions are not contiguous and are not used;
 *   3. one claim per event to `ledger-eventid-<uuid>` with NO_STREAM: the idempotency key.
 *
 * Why this is safe with several service instances:
 * - Positions: two instances that read the same log head race for the same next revision; the
 *   server accepts exactly one, the other gets WrongExpectedVersion with the actual head and
 *   re-plans (the hashed record names its globalPosition, so every attempt recomputes its hashes).
 *   So positions are assigned by the server's compare-and-append on one stream:
 *   a single total order that every instance reads identically (`readAll` and `subscribeToAll`
 *   read `ledger-log` by revision). The log's order is also its `$all` order.
 * - Chains: the same compare-and-append on the ledger stream means no two writers can both
 *   extend revision n, so a stream's chain never forks, even when the caller said 'any'.
 * - Idempotency: the claim stream is created at most once, in the same transaction as the event,
 *   so "this eventId is stored" is durable, cluster-wide and survives restarts (KurrentDB's own
 *   duplicate detection is an in-memory, per-stream, best-effort cache; it is not relied on:
 *   every record gets a fresh KurrentDB id, so each attempt is decided by expected revisions only).
 *   A repeated eventId finds its claim: same contentDigest and stream → the first receipt with
 *   `duplicate: true`; otherwise EventIdConflictError.
 * - Crashes: there is no second write to lose. A crash before the commit stores nothing; after it,
 *   everything. An append whose outcome is unknown (timeout, leader change) is retried for
 *   `appendRetryMs`: if it had landed, its claims are found and the same receipts come back
 *   (marked as this call's own, not as duplicates). Past that the caller gets the error, and a
 *   retry with the same eventIds has the same guarantee.
 * - Readers: `readAll` and `subscribeToAll` read `ledger-log` by revision from the leader; a
 *   revision is visible only once its whole transaction is committed, so every reader sees one
 *   gap-free prefix of one order. `$all` is not read (its positions have gaps, and it holds every
 *   event twice plus claims and system events).
 *
 * Throughput: appends from one instance are serialised (one transaction in flight) and all
 * instances contend on `ledger-log`; that single sequencer is the price of a gap-free global order.
 * Each event is stored twice (its stream and the log) plus a small claim.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  WrongExpectedVersionError,
  type AppendStreamRequest,
  type MultiAppendResult,
  type ReadRevision,
  type ResolvedEvent,
  type StreamSubscription,
} from '@kurrent/kurrentdb-client';
import { canonicalRecordBytes, chainHash } from '../../integrity/chain.js';
import { subscribeByPolling } from '../catch-up-subscription.js';
import {
  EventIdConflictError,
  GENESIS_HASH,
  WrongExpectedRevisionError,
  type AppendedReceipt,
  type AppendRequest,
  type ChainedRecord,
  type EventStore,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type StreamHead,
  type SubscribeOptions,
  type Subscription,
} from '../event-store.port.js';
import {
  KurrentDbUnsupportedServerError,
  LOG_STREAM,
  assertLedgerStreamId,
  chainedRecordFromCanonical,
  claimFromRecord,
  claimOf,
  eventIdStream,
  exactStreamState,
  fromCurrentStreamState,
  isEventIdStream,
  isStreamNotFound,
  isTransientError,
  meetsExpectation,
  receiptOfClaim,
  redactConnectionString,
  storedEventFromRecord,
  toClaimRecord,
  toLedgerRecord,
  toPortError,
  toRevision,
  toSafeNumber,
  type EventIdClaim,
  type KurrentRecord,
} from './kurrentdb-mapping.js';

export interface KurrentDbEventStoreOptions {
  /** e.g. `kurrentdb://node1:2113,node2:2113,node3:2113?tls=false` (see the client's docs). */
  readonly connectionString: string;
  /** Attempts `connect()` makes before it gives up (default 10). */
  readonly connectRetries?: number;
  /** First delay between connect attempts, doubled each time up to 5 s (default 500 ms). */
  readonly retryDelayMs?: number;
  /** Attempts one append makes while other instances keep advancing the log (default 100). */
  readonly maxAppendAttempts?: number;
  /** How long one append keeps retrying while the cluster is unavailable, e.g. electing a leader (default 10 s). */
  readonly appendRetryMs?: number;
  /** Stream heads kept in memory (LRU); a stale one costs one rejected append, never a fork. */
  readonly streamHeadCacheSize?: number;
  /** Idle subscriptions re-read the log this often even without a live signal (default 1000 ms). */
  readonly subscriptionPollMs?: number;
  /** How long a subscription keeps retrying reads while the cluster is unavailable (default 60 s). */
  readonly subscriptionRetryMs?: number;
  /** Clock for `recordedAt`; injected so tests control it. */
  readonly now?: () => Date;
}

/** The server could not be reached (or refused us) within the bounded retries of `connect()`. */
export class KurrentDbConnectionError extends Error {
  override readonly name = 'KurrentDbConnectionError';
}

interface Head {
  readonly revision: number;
  readonly hash: string;
}

/** One ledger append, planned against known heads: the receipts and the one physical write. */
interface Plan {
  readonly receipts: AppendedReceipt[];
  readonly write: {
    readonly requests: AppendStreamRequest[];
    readonly heads: ReadonlyMap<string, Head>;
    readonly lastPosition: number;
  } | null;
}

/** A caller's expected revision does not hold; `cached` says whether the head came from memory. */
class ExpectationNotMet {
  constructor(
    readonly error: WrongExpectedRevisionError,
    readonly cached: boolean,
  ) {}
}

const CLAIM_LOOKUP_CONCURRENCY = 32;

export class KurrentDbEventStore implements EventStore {
  private readonly client: KurrentDBClient;
  private readonly now: () => Date;
  private readonly heads = new Map<string, Head>();
  private readonly headCacheSize: number;
  private readonly appended = new EventEmitter();
  /** Last revision of `ledger-log` as this instance last saw it; -1 = empty; null = unknown. */
  private logHead: number | null = null;
  private writeChain: Promise<unknown> = Promise.resolve();
  private tail: StreamSubscription | null = null;
  private tailRestart: NodeJS.Timeout | null = null;
  private listeners = 0;
  private closed = false;

  /** Creates the store and waits until the server answers (bounded retries), or throws. */
  static async connect(options: KurrentDbEventStoreOptions): Promise<KurrentDbEventStore> {
    const store = new KurrentDbEventStore(options);
    try {
      await store.connect();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /** Parses the connection string (throws on a malformed one); no traffic until `connect()`. */
  constructor(private readonly options: KurrentDbEventStoreOptions) {
    try {
      this.client = KurrentDBClient.connectionString(options.connectionString);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new KurrentDbConnectionError(`KURRENTDB_CONNECTION_STRING is not a KurrentDB connection string: ${reason}`, {
        cause: error,
      });
    }
    this.now = options.now ?? (() => new Date());
    this.headCacheSize = options.streamHeadCacheSize ?? 100_000;
    this.appended.setMaxListeners(0);
  }

  /**
   * Waits until the cluster answers a leader read and accepts multi-stream appends.
   * Unreachable: retries with growing delays, then KurrentDbConnectionError naming the server
   * (credentials redacted) and the last cause. Too old a server: KurrentDbUnsupportedServerError.
   */
  async connect(): Promise<void> {
    const attempts = Math.max(1, this.options.connectRetries ?? 10);
    let delay = this.options.retryDelayMs ?? 500;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        this.logHead = await this.readLogHead();
        await this.probeMultiStreamAppend();
        return;
      } catch (error) {
        if (error instanceof KurrentDbUnsupportedServerError) throw error;
        lastError = error;
        if (!isTransientError(error)) break;
        if (attempt < attempts) {
          await sleep(delay);
          delay = Math.min(delay * 2, 5000);
        }
      }
    }
    const where = redactConnectionString(this.options.connectionString);
    const cause = lastError instanceof Error ? lastError.message || lastError.name : String(lastError);
    const message = isTransientError(lastError)
      ? `KurrentDB at ${where} is unreachable after ${attempts} attempts (last error: ${cause}); ` +
        'check the hosts, ports and tls setting of KURRENTDB_CONNECTION_STRING'
      : `KurrentDB at ${where} refused the ledger: ${cause}`;
    throw new KurrentDbConnectionError(message, { cause: lastError });
  }

  /**
   * An empty append session: a 25.1+ server rejects it for having no requests, an older one lacks
   * the method (the client reports UnsupportedError). Nothing is written either way.
   */
  private async probeMultiStreamAppend(): Promise<void> {
    try {
      await this.client.multiStreamAppend([]);
    } catch (error) {
      const translated = toPortError(error);
      if (translated instanceof KurrentDbUnsupportedServerError || isTransientError(error)) throw translated;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Appends

  append(requests: readonly AppendRequest[]): Promise<AppendedReceipt[]> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    try {
      validate(requests);
    } catch (error) {
      return Promise.reject(error);
    }
    // One transaction in flight per instance: each plan starts from the heads the last one left.
    const run = this.writeChain.then(() => this.appendSerially(requests));
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private async appendSerially(requests: readonly AppendRequest[]): Promise<AppendedReceipt[]> {
    const maxAttempts = this.options.maxAppendAttempts ?? 100;
    const retryUntil = Date.now() + (this.options.appendRetryMs ?? 10_000);
    let delay = 100;
    let known: Map<string, EventIdClaim> | null = null;
    let lookUp = false;
    /** eventId → hash this call sent in an attempt whose outcome is unknown; stored means it was ours. */
    const sent = new Map<string, string>();

    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let plan: Plan | ExpectationNotMet;
      try {
        if (lookUp) known = await this.lookUpClaims(requests);
        lookUp = false;
        plan = await this.plan(requests, known ?? new Map(), sent);
      } catch (error) {
        if (!isTransientError(error) || Date.now() + delay > retryUntil) throw error;
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
        continue;
      }
      if (plan instanceof ExpectationNotMet) {
        // A retry repeats its original expectation, so "wrong revision" may mean "already stored":
        // re-read a cached head, then look the eventIds up, before reporting the conflict.
        if (plan.cached) this.heads.delete(plan.error.streamId);
        else if (known === null) lookUp = true;
        else throw plan.error;
        continue;
      }
      if (!plan.write) return plan.receipts;

      let result: MultiAppendResult;
      try {
        result = await this.client.multiStreamAppend(plan.write.requests);
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          if (error.streamName === LOG_STREAM) {
            // Another writer took the next position; the error tells us the log's new head.
            const actual = fromCurrentStreamState(error.actualState);
            this.logHead = actual === 'no_stream' ? -1 : actual;
            if (attempt > 2) await sleep(Math.random() * Math.min(100, 2 ** attempt));
          } else if (isEventIdStream(error.streamName)) {
            lookUp = true;
          } else {
            this.heads.delete(error.streamName);
          }
          continue;
        }
        // Outcome unknown: forget what we believed. Another attempt is safe, because if this one
        // landed its claims are stored and the events come back as ours instead of twice.
        this.heads.clear();
        this.logHead = null;
        if (!isTransientError(error) || Date.now() + delay > retryUntil) throw toPortError(error);
        for (const r of plan.receipts) if (!r.duplicate) sent.set(r.eventId.toLowerCase(), r.hash);
        known = null; // claims may have appeared: look again before reporting a conflict
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
        continue;
      }

      const logRevision = result.responses.find((r) => r.streamName === LOG_STREAM)?.revision;
      if (logRevision !== undefined && logRevision !== BigInt(plan.write.lastPosition)) {
        this.logHead = null;
        throw new Error(`KurrentDB stored the log at revision ${logRevision.toString()}, expected ${plan.write.lastPosition}`);
      }
      for (const [streamId, head] of plan.write.heads) this.rememberHead(streamId, head);
      this.logHead = plan.write.lastPosition;
      this.appended.emit('appended');
      return plan.receipts;
    }
    throw new Error(`append gave up after ${maxAttempts} attempts: other writers kept advancing the ledger log`);
  }

  /** Builds the receipts and the single multi-stream write for `requests`, from known heads. */
  private async plan(
    requests: readonly AppendRequest[],
    known: ReadonlyMap<string, EventIdClaim>,
    sent: ReadonlyMap<string, string>,
  ): Promise<Plan | ExpectationNotMet> {
    for (const request of requests) {
      for (const event of request.events) {
        const claim = known.get(event.eventId.toLowerCase());
        if (claim && (claim.contentDigest !== event.contentDigest || claim.streamId !== request.streamId)) {
          throw new EventIdConflictError(event.eventId, receiptOfClaim(claim));
        }
      }
    }
    const toWrite = requests.map((r) => r.events.filter((e) => !known.has(e.eventId.toLowerCase())));
    const streams = [...new Set(requests.filter((_, i) => toWrite[i]!.length > 0).map((r) => r.streamId))];
    const [logHead, ...streamHeads] = await Promise.all([this.currentLogHead(), ...streams.map((s) => this.currentHead(s))]);
    const heads = new Map(streams.map((s, i) => [s, streamHeads[i]!] as const));

    const receipts: AppendedReceipt[] = [];
    /** Per stream written: the head the server must still have, and the chain's tail as planned. */
    const planned = new Map<string, { head: Head | null; tail: Head | null; events: StoredEvent[] }>();
    const logEvents: StoredEvent[] = [];
    let position = logHead + 1;
    const recordedAt = this.now().toISOString();

    for (const [i, request] of requests.entries()) {
      let chain = planned.get(request.streamId);
      if (toWrite[i]!.length > 0) {
        const read = heads.get(request.streamId)!;
        chain ??= { head: read.head, tail: read.head, events: [] };
        const current = chain.tail?.revision ?? 'no_stream';
        if (!meetsExpectation(request.expectedRevision, current)) {
          return new ExpectationNotMet(
            new WrongExpectedRevisionError(request.streamId, request.expectedRevision, current),
            read.cached,
          );
        }
        planned.set(request.streamId, chain);
      }
      for (const event of request.events) {
        const id = event.eventId.toLowerCase();
        const claim = known.get(id);
        if (claim) {
          receipts.push({ ...receiptOfClaim(claim), duplicate: sent.get(id) !== claim.hash });
          continue;
        }
        if (!chain) throw new Error('unreachable: a fresh event without a planned chain');
        const prevHash = chain.tail?.hash ?? GENESIS_HASH;
        const draft: ChainedRecord = {
          eventId: event.eventId,
          type: event.type,
          streamId: request.streamId,
          streamRevision: (chain.tail?.revision ?? -1) + 1,
          globalPosition: position++,
          occurredAt: event.occurredAt,
          recordedAt,
          subjectId: event.subjectId,
          actor: event.actor,
          data: event.data,
          ...(event.pii === undefined ? {} : { pii: event.pii }),
          metadata: event.metadata,
        };
        const bytes = canonicalRecordBytes(draft);
        const stored: StoredEvent = {
          // exactly what was hashed, JSON-normalised, is what is stored
          ...chainedRecordFromCanonical(bytes),
          prevHash,
          hash: chainHash(prevHash, bytes),
          contentDigest: event.contentDigest,
        };
        chain.events.push(stored);
        chain.tail = { revision: stored.streamRevision, hash: stored.hash };
        logEvents.push(stored);
        receipts.push({
          eventId: stored.eventId,
          streamId: stored.streamId,
          streamRevision: stored.streamRevision,
          globalPosition: stored.globalPosition,
          hash: stored.hash,
          duplicate: false,
        });
      }
    }
    if (logEvents.length === 0) return { receipts, write: null };

    const writes: AppendStreamRequest[] = [];
    const newHeads = new Map<string, Head>();
    for (const [streamId, { head, tail, events }] of planned) {
      writes.push({
        streamName: streamId,
        expectedState: exactStreamState(head?.revision ?? null),
        events: events.map((e) => toLedgerRecord(e, randomUUID())),
      });
      if (tail) newHeads.set(streamId, tail);
    }
    writes.push({
      streamName: LOG_STREAM,
      expectedState: exactStreamState(logHead < 0 ? null : logHead),
      events: logEvents.map((e) => toLedgerRecord(e, randomUUID())),
    });
    for (const e of logEvents) {
      writes.push({ streamName: eventIdStream(e.eventId), expectedState: NO_STREAM, events: [toClaimRecord(claimOf(e), randomUUID())] });
    }
    return { receipts, write: { requests: writes, heads: newHeads, lastPosition: position - 1 } };
  }

  private async currentLogHead(): Promise<number> {
    if (this.logHead === null) this.logHead = await this.readLogHead();
    return this.logHead;
  }

  private async currentHead(streamId: string): Promise<{ head: Head | null; cached: boolean }> {
    const cached = this.heads.get(streamId);
    if (cached) return { head: cached, cached: true };
    const [last] = await this.read(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    if (!last) return { head: null, cached: false };
    const event = storedEventFromRecord(last, 'stream');
    const head = { revision: event.streamRevision, hash: event.hash };
    this.rememberHead(streamId, head);
    return { head, cached: false };
  }

  private rememberHead(streamId: string, head: Head): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > this.headCacheSize) {
      const oldest = this.heads.keys().next();
      if (!oldest.done) this.heads.delete(oldest.value);
    }
  }

  /** The claims already stored for the eventIds of `requests`, by lower-cased eventId. */
  private async lookUpClaims(requests: readonly AppendRequest[]): Promise<Map<string, EventIdClaim>> {
    const ids = [...new Set(requests.flatMap((r) => r.events.map((e) => e.eventId.toLowerCase())))];
    const found = new Map<string, EventIdClaim>();
    for (let i = 0; i < ids.length; i += CLAIM_LOOKUP_CONCURRENCY) {
      const claims = await Promise.all(ids.slice(i, i + CLAIM_LOOKUP_CONCURRENCY).map((id) => this.readClaim(id)));
      for (const claim of claims) if (claim) found.set(claim.eventId.toLowerCase(), claim);
    }
    return found;
  }

  private async readClaim(eventId: string): Promise<EventIdClaim | null> {
    const [record] = await this.read(eventIdStream(eventId), { direction: FORWARDS, fromRevision: START, maxCount: 1 });
    return record ? claimFromRecord(record) : null;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision === undefined ? (backwards ? END : START) : toRevision(options.fromRevision, 'fromRevision');
    const records = await this.read(streamId, {
      direction: backwards ? BACKWARDS : FORWARDS,
      fromRevision: from,
      ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
    });
    return records.map((r) => storedEventFromRecord(r, 'stream'));
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    const records = await this.read(LOG_STREAM, {
      direction: FORWARDS,
      fromRevision: toRevision(options.fromPosition ?? 0, 'fromPosition'),
      ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
    });
    return records.map((r) => storedEventFromRecord(r, 'log'));
  }

  async headPosition(): Promise<number> {
    return (await this.readLogHead()) + 1;
  }

  async streamHead(streamId: string): Promise<StreamHead | null> {
    const [last] = await this.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return last ? { streamId, revision: last.streamRevision, hash: last.hash } : null;
  }

  async findByEventId(eventId: string): Promise<StoredEvent | null> {
    let claim: EventIdClaim | null;
    try {
      claim = await this.readClaim(eventId);
    } catch (error) {
      if (error instanceof TypeError) return null; // not a UUID: never stored
      throw error;
    }
    if (!claim) return null;
    const [event] = await this.readAll({ fromPosition: claim.globalPosition, maxCount: 1 });
    return event ?? null;
  }

  private async readLogHead(): Promise<number> {
    const [last] = await this.read(LOG_STREAM, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
    return last ? toSafeNumber(last.revision, 'ledger-log revision') : -1;
  }

  /**
   * Reads records of one stream from the leader (read-your-writes across instances); a missing
   * stream is empty. Link events are never written by the ledger, so every entry has `event`.
   */
  private async read(
    streamName: string,
    options: { direction: typeof FORWARDS | typeof BACKWARDS; fromRevision: ReadRevision; maxCount?: number },
  ): Promise<KurrentRecord[]> {
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const records: KurrentRecord[] = [];
    try {
      const events: AsyncIterable<ResolvedEvent> = this.client.readStream(streamName, { ...options, requiresLeader: true });
      for await (const resolved of events) if (resolved.event) records.push(resolved.event);
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw toPortError(error);
    }
    return records;
  }

  // -------------------------------------------------------------------------------------------
  // Subscription

  /**
   * Catch-up from `fromPosition` then live, with the shared polling loop: reads `ledger-log` by
   * revision (the ledger position), so a durable checkpoint is just a number. Wake-ups come from
   * this instance's appends, a live subscription to `ledger-log` (other instances' appends) and a
   * slow timer that covers the moments that subscription is reconnecting. Transient read errors
   * are retried for `subscriptionRetryMs` before the subscription reports `onError`.
   */
  /** Wakes on this instance's appends, on the log's tail (other instances), and every poll interval. */
  onAppended(listener: () => void): () => void {
    const pollMs = this.options.subscriptionPollMs ?? 1000;
    this.appended.on('appended', listener);
    const timer = setInterval(listener, pollMs);
    timer.unref();
    this.listeners++;
    this.startTail();
    return () => {
      clearInterval(timer);
      this.appended.off('appended', listener);
      if (--this.listeners === 0) void this.stopTail();
    };
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return subscribeByPolling({
      ...options,
      read: (from, max) => this.withTransientRetry(() => this.readAll({ fromPosition: from, maxCount: max })),
      onAppended: (listener) => this.onAppended(listener),
    });
  }

  private async withTransientRetry<T>(operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.subscriptionRetryMs ?? 60_000);
    let delay = 100;
    for (;;) {
      try {
        return await operation();
      } catch (error) {
        if (this.closed || !isTransientError(error) || Date.now() + delay > deadline) throw error;
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /** One live subscription to the log's end per instance, shared by every subscriber as a wake-up. */
  private startTail(): void {
    if (this.tail || this.tailRestart || this.closed) return;
    const tail = this.client.subscribeToStream(LOG_STREAM, { fromRevision: END, requiresLeader: true });
    this.tail = tail;
    tail.on('data', () => this.appended.emit('appended'));
    tail.on('error', () => {
      if (this.tail !== tail) return;
      this.tail = null;
      if (this.closed || this.listeners === 0) return;
      this.tailRestart = setTimeout(() => {
        this.tailRestart = null;
        if (this.listeners > 0) this.startTail();
      }, 1000);
      this.tailRestart.unref();
    });
  }

  private async stopTail(): Promise<void> {
    if (this.tailRestart) clearTimeout(this.tailRestart);
    this.tailRestart = null;
    const tail = this.tail;
    this.tail = null;
    await tail?.unsubscribe().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    await this.stopTail();
    await this.client.dispose();
  }
}

/** Rejects, before any I/O, what can never be written: reserved streams, non-UUID or repeated eventIds. */
function validate(requests: readonly AppendRequest[]): void {
  const seen = new Set<string>();
  for (const r of requests) {
    assertLedgerStreamId(r.streamId);
    for (const e of r.events) {
      const id = eventIdStream(e.eventId);
      if (seen.has(id)) throw new Error(`eventId ${e.eventId} appears twice in one append`);
      seen.add(id);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
