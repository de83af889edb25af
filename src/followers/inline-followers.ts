import type { ConsumerStatus, LogFeed, QuarantinedEvent } from '../event-store/log-feed.js';
import type { SignedCheckpoint } from '../integrity/checkpoint-signer.js';
import { startTimers, type FollowerSet } from './follower-set.js';
import { Followers } from './followers.js';

/** Every follower in this thread, driven by one log feed (tools, tests with a driven clock). */
export class InlineFollowers extends Followers {
  readonly mode = 'inline';
  constructor(
    readonly feed: LogFeed,
    private readonly set: FollowerSet,
    private readonly runMonitors: boolean,
  ) {
    super();
  }

  start(): void {
    this.feed.start();
    startTimers(this.set, this.runMonitors);
  }

  stop(): Promise<void> {
    return this.feed.stop();
  }

  caughtUp(position: number, names: readonly string[] | null = null, timeoutMs?: number): Promise<void> {
    return this.feed.caughtUp(position, names, timeoutMs);
  }

  caughtUpToHead(names: readonly string[] | null = null, timeoutMs?: number): Promise<number> {
    return this.feed.caughtUpToHead(names, timeoutMs);
  }

  status(): ConsumerStatus[] {
    return this.feed.status();
  }

  quarantined(): QuarantinedEvent[] {
    return this.feed.quarantined();
  }

  checkpoint(): Promise<SignedCheckpoint | null> {
    return this.set.merkleLog.checkpoint();
  }

  sweep(): Promise<number> {
    return this.set.monitor.sweep();
  }
}
