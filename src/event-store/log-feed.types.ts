import type { StoredEvent } from './event-store.port.js';

/**
 * One batch of the global log, read and decoded once by the log feed and handed, as the
 * same objects, to every consumer (DESIGN principle 9). Consumers must treat it as read-only.
 */
export interface LogBatch {
  /** Events in global order, contiguous: events[i].globalPosition === first + i. */
  readonly events: readonly StoredEvent[];
  /**
   * The canonical record text (RFC 8785) of each event, in the same order: exactly the bytes
   * the stream chain and the Merkle leaf cover. Read from the log, never re-canonicalised.
   */
  readonly records: readonly string[];
  /** Global position of events[0] (equals next when events is empty). */
  readonly first: number;
  /** One past the last event's position: the checkpoint a consumer stores after this batch. */
  readonly next: number;
}

/**
 * A follower of the log fed by the log feed. Each keeps its own durable checkpoint, so one
 * can be rebuilt or resumed alone; the feed reads from the slowest consumer's checkpoint and
 * each consumer skips what it already has.
 */
export interface LogConsumer {
  /** Stable name, used in logs, /health/ready and metrics. */
  readonly name: string;
  /** The next global position this consumer needs: its durable checkpoint. */
  position(): number;
  /**
   * Applies a batch. It may begin before position() (skip those events) and ends at
   * batch.next, which becomes the new checkpoint. Resolves once the changes and the new
   * checkpoint are committed together; a throw means nothing of the batch was committed.
   * `events` may be empty with `next` past the consumer's position: the feed quarantined an
   * event this consumer could not apply, and only the checkpoint moves.
   */
  apply(batch: LogBatch): Promise<void> | void;
}
