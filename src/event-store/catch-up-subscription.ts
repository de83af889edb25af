import type { StoredEvent, SubscribeOptions, Subscription } from './event-store.port.js';

export interface PollingSource {
  /** Reads up to `max` events from global position `from` (inclusive), in order. */
  read(from: number, max: number): Promise<readonly StoredEvent[]>;
  /** Registers a wake-up for new appends; returns the unregister function. */
  onAppended(listener: () => void): () => void;
}

/**
 * A catch-up subscription over any log that can be read by position and signals appends:
 * reads in batches until caught up, then sleeps until the next append.
 * Each event is delivered once, in global order; a batch is awaited before the next read,
 * so a slow consumer applies back-pressure instead of buffering the log in memory.
 */
export function subscribeByPolling(options: SubscribeOptions & PollingSource): Subscription {
  const batchSize = options.batchSize ?? 1000;
  let position = options.fromPosition;
  let stopped = false;
  let appendedSinceRead = false;
  let wake: (() => void) | null = null;

  const unregister = options.onAppended(() => {
    appendedSinceRead = true;
    wake?.();
  });

  const loop = (async () => {
    while (!stopped) {
      appendedSinceRead = false;
      const events = await options.read(position, batchSize);
      if (stopped) break;
      if (events.length > 0) {
        await options.onEvents(events);
        const last = events[events.length - 1];
        if (last) position = last.globalPosition + 1;
        continue;
      }
      if (appendedSinceRead) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  })().catch((error: unknown) => {
    stopped = true;
    if (options.onError) options.onError(error);
  });

  return {
    async stop() {
      stopped = true;
      unregister();
      wake?.();
      await loop;
    },
  };
}
