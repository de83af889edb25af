import type { ConsumerStatus, QuarantinedEvent } from '../event-store/log-feed.js';
import type { SignedCheckpoint } from '../integrity/checkpoint-signer.js';

/**
 * The followers of the log as the rest of the service sees them (read-your-writes waits,
 * health, the two writes that belong to followers), wherever they run: in this thread
 * (InlineFollowers) or in a worker thread of their own (ThreadFollowers), so that recording
 * and following the log use both cores. Also the Nest injection token.
 */
export abstract class Followers {
  /** Where the followers run: 'thread' (a worker thread of their own) or 'inline'. */
  abstract readonly mode: 'thread' | 'inline';
  abstract start(): void;
  abstract stop(): Promise<void>;
  /**
   * Resolves once every named follower (all by default) holds every event before `position`;
   * rejects with ConsumerStoppedError when one of them is stopped short of it.
   */
  abstract caughtUp(position: number, names?: readonly string[] | null, timeoutMs?: number): Promise<void>;
  /** caughtUp at the log head seen now; returns that head (a query's snapshot). */
  abstract caughtUpToHead(names?: readonly string[] | null, timeoutMs?: number): Promise<number>;
  abstract status(): ConsumerStatus[];
  abstract quarantined(): QuarantinedEvent[];
  /** Signs a checkpoint of everything the Merkle log has integrated (null while the log is empty). */
  abstract checkpoint(): Promise<SignedCheckpoint | null>;
  /** Re-judges the compliance scopes whose deadline passed; resolves with how many. */
  abstract sweep(): Promise<number>;
}
