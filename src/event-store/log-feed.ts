import { canonicalRecordBytes } from '../integrity/chain.js';
import type { EventStore, StoredEvent } from './event-store.port.js';
import type { LogBatch, LogConsumer } from './log-feed.types.js';

export type { LogBatch, LogConsumer } from './log-feed.types.js';

/** An event a consumer could not apply: kept out of that consumer, reported, never deleted. */
export interface QuarantinedEvent {
  readonly consumer: string;
  readonly globalPosition: number;
  readonly eventId: string;
  readonly type: string;
  /** The error's message only: no stack, no event content. */
  readonly error: string;
  readonly at: string;
}

export interface ConsumerStatus {
  readonly name: string;
  /** Next position the consumer needs (its checkpoint). */
  readonly position: number;
  readonly state: 'following' | 'stopped';
  /** Why it stopped (message only), while stopped. */
  readonly error: string | null;
  readonly quarantined: number;
}

export interface LogFeedOptions {
  readonly store: EventStore;
  readonly consumers: readonly LogConsumer[];
  /** Events read per batch. */
  readonly batchSize?: number;
  /**
   * Whether a consumer may have a single event it cannot apply set aside (quarantined) and go
   * on. A consumer whose every event is needed (the Merkle log: a missing leaf changes every
   * later root) is stopped instead.
   */
  readonly quarantines?: (consumer: LogConsumer) => boolean;
  /** First retry of a stopped consumer, doubling up to a minute. */
  readonly retryMs?: number;
  readonly onQuarantined?: (entry: QuarantinedEvent, error: unknown) => void;
  readonly onConsumerStopped?: (consumer: string, error: unknown) => void;
  readonly onConsumerResumed?: (consumer: string) => void;
  /** After every batch delivered, and whenever a follower stops or resumes: where each one is. */
  readonly onProgress?: (status: ConsumerStatus[]) => void;
  /** The log could not be read; the feed retries with backoff. */
  readonly onReadError?: (error: unknown) => void;
  readonly now?: () => Date;
}

interface ConsumerSlot {
  readonly consumer: LogConsumer;
  failure: unknown;
  retryAt: number;
  retryDelay: number;
  readonly quarantined: QuarantinedEvent[];
}

/** Errors of the storage underneath (disk full, I/O, locks): never the event's fault. */
function isStorageFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(IOERR|FULL|BUSY|LOCKED|CANTOPEN|READONLY|CORRUPT|NOMEM|PROTOCOL|NOTADB)/.test(code);
}

const MAX_RETRY_MS = 60_000;


/**
 * The one follower of the log (DESIGN principle 9). It reads each batch once, decodes each event
 * once, and hands the same batch to every consumer in turn; each consumer commits its own
 * checkpoint with its changes, so it can be rebuilt or resumed alone. The feed reads from the
 * lowest checkpoint among the consumers that are following, and each skips what it has.
 *
 * No single event stops the ledger: when a consumer throws on a batch, the batch is retried one
 * event at a time; the event that still throws is quarantined for that consumer (its position,
 * id, type and the error are kept and reported) and the consumer's checkpoint moves past it,
 * while every other consumer still gets it. A storage failure, or a consumer that must not skip
 * events, stops only that consumer — loudly — and it is retried from its checkpoint with backoff.
 */
export class LogFeed {
  private readonly slots: ConsumerSlot[];
  private readonly batchSize: number;
  private readonly now: () => Date;
  private stopped = true;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private appendedSinceRead = false;
  private readFailures = 0;
  private unregister: (() => void) | null = null;
  private waiters: Array<{ position: number; names: readonly string[] | null; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(private readonly options: LogFeedOptions) {
    this.slots = options.consumers.map((consumer) => ({ consumer, failure: null, retryAt: 0, retryDelay: options.retryMs ?? 1000, quarantined: [] }));
    this.batchSize = options.batchSize ?? 1000;
    this.now = options.now ?? (() => new Date());
  }

  /** Starts following the log; appends wake the feed. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unregister = this.onAppended();
    this.loop = this.run().catch((error: unknown) => {
      // Unreachable by design (reads are retried, consumer errors caught): stop loudly.
      for (const slot of this.slots) this.fail(slot, error);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unregister?.();
    this.unregister = null;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /** Wakes the feed when the store signals an append (polling fallback: every 50 ms). */
  private onAppended(): () => void {
    const store = this.options.store;
    const notify = () => {
      this.appendedSinceRead = true;
      this.wake?.();
    };
    if (typeof store.onAppended === 'function') return store.onAppended(notify);
    const timer = setInterval(notify, 50);
    timer.unref();
    return () => clearInterval(timer);
  }

  private following(): ConsumerSlot[] {
    const now = Date.now();
    const active: ConsumerSlot[] = [];
    for (const slot of this.slots) {
      if (slot.failure !== null && now >= slot.retryAt) {
        // Retry a stopped consumer from its own checkpoint.
        slot.failure = null;
        this.options.onConsumerResumed?.(slot.consumer.name);
      }
      if (slot.failure === null) active.push(slot);
    }
    return active;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.appendedSinceRead = false;
      const active = this.following();
      let head: number;
      try {
        head = await this.options.store.headPosition();
      } catch (error) {
        this.options.onReadError?.(error);
        await this.pause(Math.min(MAX_RETRY_MS, (this.options.retryMs ?? 1000) * 2 ** this.readFailures++));
        continue;
      }
      const from = active.length === 0 ? head : Math.min(...active.map((s) => s.consumer.position()));
      if (from < head) {
        let batch: LogBatch;
        try {
          batch = await this.read(from, Math.min(this.batchSize, head - from));
          this.readFailures = 0;
        } catch (error) {
          // The log did not answer (a cluster electing a leader, a locked file): nothing was
          // delivered, so every consumer is where it was; try again with backoff.
          this.options.onReadError?.(error);
          await this.pause(Math.min(MAX_RETRY_MS, (this.options.retryMs ?? 1000) * 2 ** this.readFailures++));
          continue;
        }
        if (this.stopped) break;
        if (batch.events.length > 0) {
          for (const slot of active) await this.deliver(slot, batch);
          this.settleWaiters();
          continue;
        }
      }
      this.settleWaiters();
      if (this.appendedSinceRead) continue;
      // A stopped consumer is retried even when no append arrives.
      const retry = this.nextRetry();
      await this.pause(retry === null ? null : Math.max(0, retry - Date.now()));
    }
  }

  /** Waits for an append, stop(), or `ms` (null: no timeout). */
  private async pause(ms: number | null): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      if (ms !== null) setTimeout(resolve, ms).unref();
    });
    this.wake = null;
  }

  private nextRetry(): number | null {
    let next: number | null = null;
    for (const slot of this.slots) if (slot.failure !== null && (next === null || slot.retryAt < next)) next = slot.retryAt;
    return next;
  }

  private async read(from: number, max: number): Promise<LogBatch> {
    const store = this.options.store;
    let events: readonly StoredEvent[];
    let records: readonly string[];
    if (store.readLogBatch) ({ events, records } = await store.readLogBatch(from, max));
    else {
      events = await store.readAll({ fromPosition: from, maxCount: max });
      records = events.map((e) => canonicalRecordBytes(e).toString('utf8'));
    }
    const last = events[events.length - 1];
    return { events, records, first: from, next: last ? last.globalPosition + 1 : from };
  }

  private async deliver(slot: ConsumerSlot, batch: LogBatch): Promise<void> {
    const { consumer } = slot;
    if (consumer.position() >= batch.next) return;
    try {
      await consumer.apply(batch);
      return;
    } catch (error) {
      if (isStorageFailure(error) || !(this.options.quarantines?.(consumer) ?? true)) {
        this.fail(slot, error);
        return;
      }
    }
    // Find the event that cannot be applied: one at a time, from the consumer's checkpoint.
    for (let i = 0; i < batch.events.length; i++) {
      const event = batch.events[i]!;
      if (event.globalPosition < consumer.position()) continue;
      const single: LogBatch = { events: [event], records: [batch.records[i]!], first: event.globalPosition, next: event.globalPosition + 1 };
      try {
        await consumer.apply(single);
      } catch (error) {
        if (isStorageFailure(error)) {
          this.fail(slot, error);
          return;
        }
        try {
          await consumer.apply({ events: [], records: [], first: single.next, next: single.next });
        } catch (skipError) {
          this.fail(slot, skipError);
          return;
        }
        const entry: QuarantinedEvent = {
          consumer: consumer.name,
          globalPosition: event.globalPosition,
          eventId: event.eventId,
          type: event.type,
          error: error instanceof Error ? error.message : String(error),
          at: this.now().toISOString(),
        };
        slot.quarantined.push(entry);
        this.options.onQuarantined?.(entry, error);
      }
    }
  }

  private fail(slot: ConsumerSlot, error: unknown): void {
    const first = slot.failure === null;
    slot.failure = error ?? new Error('consumer failed');
    slot.retryAt = Date.now() + slot.retryDelay;
    slot.retryDelay = Math.min(MAX_RETRY_MS, slot.retryDelay * 2);
    if (first) this.options.onConsumerStopped?.(slot.consumer.name, error);
    this.settleWaiters();
  }

  private settleWaiters(): void {
    this.options.onProgress?.(this.status());
    if (this.waiters.length === 0) return;
    const pending: typeof this.waiters = [];
    for (const w of this.waiters) {
      const slots = w.names === null ? this.slots : this.slots.filter((s) => w.names!.includes(s.consumer.name));
      const stopped = slots.find((s) => s.failure !== null && s.consumer.position() < w.position);
      if (stopped) w.reject(new ConsumerStoppedError(stopped.consumer.name));
      else if (slots.every((s) => s.consumer.position() >= w.position)) w.resolve();
      else pending.push(w);
    }
    this.waiters = pending;
  }

  /**
   * Read-your-writes: resolves once every named consumer (all by default) has applied every
   * event before `position`. Rejects at once with ConsumerStoppedError if one of them is stopped
   * short of it, and with a timeout error after `timeoutMs`.
   */
  caughtUp(position: number, names: readonly string[] | null = null, timeoutMs = 10_000): Promise<void> {
    const slots = names === null ? this.slots : this.slots.filter((s) => names.includes(s.consumer.name));
    if (slots.every((s) => s.consumer.position() >= position)) return Promise.resolve();
    const stopped = slots.find((s) => s.failure !== null);
    if (stopped) return Promise.reject(new ConsumerStoppedError(stopped.consumer.name));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${slots.map((s) => s.consumer.name).join(', ')} did not reach position ${position} in ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        position,
        names,
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.push(waiter);
      // A consumer may have got there between the check above and now.
      this.settleWaiters();
    });
  }

  /**
   * Read-your-writes for a query: waits until the named consumers hold everything acknowledged
   * when the query started, and returns that log head (the query's snapshot).
   */
  async caughtUpToHead(names: readonly string[] | null = null, timeoutMs?: number): Promise<number> {
    const head = await this.options.store.headPosition();
    await this.caughtUp(head, names, timeoutMs);
    return head;
  }

  status(): ConsumerStatus[] {
    return this.slots.map((s) => ({
      name: s.consumer.name,
      position: s.consumer.position(),
      state: s.failure === null ? 'following' : 'stopped',
      error: s.failure === null ? null : s.failure instanceof Error ? s.failure.message : String(s.failure),
      quarantined: s.quarantined.length,
    }));
  }

  quarantined(): QuarantinedEvent[] {
    return this.slots.flatMap((s) => s.quarantined);
  }
}

/** A read that needs a consumer that is stopped (it is retried; the read is answered 503). */
export class ConsumerStoppedError extends Error {
  override readonly name = 'ConsumerStoppedError';
  constructor(readonly consumer: string) {
    super(`the ${consumer} follower is stopped after an error`);
  }
}
