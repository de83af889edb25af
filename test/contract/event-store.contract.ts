import { randomUUID } from 'node:crypto';
import { canonicalDigest, verifyStreamChain } from '../../src/integrity/chain.js';
import {
  EventIdConflictError,
  GENESIS_HASH,
  WrongExpectedRevisionError,
  type EventStore,
  type NewEvent,
  type StoredEvent,
} from '../../src/event-store/event-store.port.js';

/**
 * The EventStore contract, written once and run against every adapter.
 * A harness opens a fresh store, and reopens the same backing storage (a restart).
 * Stream names are unique per test so the suite can run against a shared server.
 */
export interface EventStoreHarness {
  open(): Promise<EventStore>;
  /** Closes `store` and opens the same backing storage again. */
  reopen(store: EventStore): Promise<EventStore>;
  cleanup(): Promise<void>;
}

export function accessEvent(subjectId: string, overrides: Partial<NewEvent> = {}): NewEvent {
  const body = {
    type: 'PersonalDataAccessed',
    occurredAt: '2026-11-01T10:00:00.000Z',
    subjectId,
    actor: { id: 'agent-17', kind: 'employee', system: 'support-console' },
    data: {
      categories: ['user.contact.email'],
      purpose: 'essential.service.operations.support',
      reasonCode: 'customer_initiated_support',
      ticketRef: 'SUP-1042',
    },
    metadata: { correlationId: randomUUID() },
  };
  const merged = { eventId: randomUUID(), ...body, ...overrides };
  const { eventId: _e, contentDigest: _d, ...content } = merged as NewEvent;
  return { ...merged, contentDigest: overrides.contentDigest ?? canonicalDigest(content) };
}

export function runEventStoreContract(adapterName: string, makeHarness: () => EventStoreHarness): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let harness: EventStoreHarness;
    let store: EventStore;

    beforeEach(async () => {
      harness = makeHarness();
      store = await harness.open();
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    const stream = () => `subject-contract-${randomUUID().slice(0, 8)}`;

    it('appends to a new stream and reads it back with chained hashes', async () => {
      const s = stream();
      const subject = s.slice('subject-'.length);
      const events = [accessEvent(subject), accessEvent(subject), accessEvent(subject)];
      const receipts = await store.append([{ streamId: s, expectedRevision: 'no_stream', events }]);

      expect(receipts.map((r) => r.streamRevision)).toEqual([0, 1, 2]);
      expect(receipts.every((r) => !r.duplicate)).toBe(true);
      const read = await store.readStream(s);
      expect(read.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
      expect(read[0]?.prevHash).toBe(GENESIS_HASH);
      expect(read[1]?.prevHash).toBe(read[0]?.hash);
      expect(read.map((e) => e.hash)).toEqual(receipts.map((r) => r.hash));
      expect(verifyStreamChain(read)).toBeNull();
      expect(read[0]?.data).toEqual(events[0]?.data);
      expect(read[0]?.actor).toEqual(events[0]?.actor);
    });

    it('rejects a wrong expected revision with a typed conflict and writes nothing', async () => {
      const s = stream();
      await store.append([{ streamId: s, expectedRevision: 'no_stream', events: [accessEvent('a')] }]);
      const late = accessEvent('a');

      await expect(store.append([{ streamId: s, expectedRevision: 'no_stream', events: [late] }])).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      const stale = store.append([{ streamId: s, expectedRevision: 5, events: [late] }]);
      await expect(stale).rejects.toMatchObject({ streamId: s, expected: 5, actual: 0 });
      await expect(store.append([{ streamId: stream(), expectedRevision: 'exists', events: [late] }])).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      expect(await store.findByEventId(late.eventId)).toBeNull();
      expect((await store.readStream(s)).length).toBe(1);

      const ok = await store.append([{ streamId: s, expectedRevision: 0, events: [late] }]);
      expect(ok[0]?.streamRevision).toBe(1);
    });

    it('returns the first receipt for a repeated eventId with the same content, and refuses a different body', async () => {
      const s = stream();
      const event = accessEvent('b');
      const [first] = await store.append([{ streamId: s, expectedRevision: 'no_stream', events: [event] }]);
      // A retry carries the same expected revision as the original call: it must still succeed.
      const [again] = await store.append([{ streamId: s, expectedRevision: 'no_stream', events: [event] }]);
      expect(again).toEqual({ ...first, duplicate: true });

      const tampered = { ...event, data: { ...event.data, purpose: 'marketing.advertising' } };
      const conflicting = accessEvent('b', { eventId: event.eventId, data: tampered.data });
      await expect(store.append([{ streamId: s, expectedRevision: 'any', events: [conflicting] }])).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      expect((await store.readStream(s)).length).toBe(1);
    });

    it('keeps idempotency across a restart', async () => {
      const s = stream();
      const event = accessEvent('c');
      const [first] = await store.append([{ streamId: s, expectedRevision: 'any', events: [event] }]);
      store = await harness.reopen(store);

      const [again] = await store.append([{ streamId: s, expectedRevision: 'any', events: [event] }]);
      expect(again).toEqual({ ...first, duplicate: true });
      const conflicting = accessEvent('c', { eventId: event.eventId, occurredAt: '2026-11-02T00:00:00.000Z' });
      await expect(store.append([{ streamId: s, expectedRevision: 'any', events: [conflicting] }])).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      expect((await store.readStream(s)).map((e) => e.eventId)).toEqual([event.eventId]);
    });

    it('appends a multi-stream batch atomically: one bad request stores none of it', async () => {
      const s1 = stream();
      const s2 = stream();
      await store.append([{ streamId: s2, expectedRevision: 'no_stream', events: [accessEvent('d')] }]);
      const e1 = accessEvent('d');
      const e2 = accessEvent('d');
      await expect(
        store.append([
          { streamId: s1, expectedRevision: 'no_stream', events: [e1] },
          { streamId: s2, expectedRevision: 'no_stream', events: [e2] },
        ]),
      ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(s1)).toEqual([]);
      expect(await store.findByEventId(e1.eventId)).toBeNull();
      expect(await store.findByEventId(e2.eventId)).toBeNull();

      const receipts = await store.append([
        { streamId: s1, expectedRevision: 'no_stream', events: [e1] },
        { streamId: s2, expectedRevision: 0, events: [e2] },
      ]);
      expect(receipts.map((r) => [r.streamId, r.streamRevision])).toEqual([
        [s1, 0],
        [s2, 1],
      ]);
    });

    it('does not let a failed concurrent append disturb its neighbours', async () => {
      const s = stream();
      const good = Array.from({ length: 20 }, () => accessEvent('e'));
      const results = await Promise.allSettled([
        ...good.map((e) => store.append([{ streamId: s, expectedRevision: 'any', events: [e] }])),
        store.append([{ streamId: s, expectedRevision: 999, events: [accessEvent('e')] }]),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
      const read = await store.readStream(s);
      expect(read.map((e) => e.streamRevision)).toEqual([...Array(20).keys()]);
      expect(verifyStreamChain(read)).toBeNull();
    });

    it('reads the global log in one strictly increasing order that matches the receipts', async () => {
      const s1 = stream();
      const s2 = stream();
      const receipts = [];
      for (let i = 0; i < 6; i++) {
        const [r] = await store.append([{ streamId: i % 2 ? s1 : s2, expectedRevision: 'any', events: [accessEvent('f')] }]);
        receipts.push(r);
      }
      const from = receipts[0]?.globalPosition ?? 0;
      const all = (await store.readAll({ fromPosition: from })).filter((e) => e.streamId === s1 || e.streamId === s2);
      expect(all.map((e) => e.eventId)).toEqual(receipts.map((r) => r?.eventId));
      expect(all.map((e) => e.globalPosition)).toEqual(receipts.map((r) => r?.globalPosition));
      for (let i = 1; i < all.length; i++) expect(all[i]!.globalPosition).toBeGreaterThan(all[i - 1]!.globalPosition);
      expect(await store.headPosition()).toBeGreaterThan(receipts[5]!.globalPosition);
      const limited = await store.readAll({ fromPosition: from, maxCount: 2 });
      expect(limited).toHaveLength(2);
    });

    it('reads a stream backwards and from a revision', async () => {
      const s = stream();
      const events = Array.from({ length: 5 }, () => accessEvent('g'));
      await store.append([{ streamId: s, expectedRevision: 'no_stream', events }]);
      const back = await store.readStream(s, { direction: 'backwards', maxCount: 2 });
      expect(back.map((e) => e.streamRevision)).toEqual([4, 3]);
      const mid = await store.readStream(s, { fromRevision: 2, maxCount: 2 });
      expect(mid.map((e) => e.streamRevision)).toEqual([2, 3]);
      expect(await store.streamHead(s)).toEqual({ streamId: s, revision: 4, hash: back[0]?.hash });
      expect(await store.readStream(stream())).toEqual([]);
      expect(await store.streamHead(stream())).toBeNull();
    });

    it('delivers every event once and in order to a catch-up subscription, across a restart', async () => {
      const s = stream();
      const [first] = await store.append([
        { streamId: s, expectedRevision: 'any', events: Array.from({ length: 5 }, () => accessEvent('h')) },
      ]);
      const start = first!.globalPosition;
      const seen: StoredEvent[] = [];
      const received = (n: number) => waitUntil(() => seen.filter((e) => e.streamId === s).length >= n);

      let sub = store.subscribeToAll({ fromPosition: start, batchSize: 2, onEvents: (events) => void seen.push(...events) });
      await received(5);
      await store.append([{ streamId: s, expectedRevision: 'any', events: [accessEvent('h'), accessEvent('h')] }]);
      await received(7);
      await sub.stop();
      const checkpoint = seen[seen.length - 1]!.globalPosition + 1;

      store = await harness.reopen(store);
      await store.append([{ streamId: s, expectedRevision: 'any', events: [accessEvent('h')] }]);
      sub = store.subscribeToAll({ fromPosition: checkpoint, onEvents: (events) => void seen.push(...events) });
      await received(8);
      await sub.stop();

      const ours = seen.filter((e) => e.streamId === s);
      expect(ours.map((e) => e.streamRevision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const positions = seen.map((e) => e.globalPosition);
      expect(new Set(positions).size).toBe(positions.length);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    });
  });
}

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
