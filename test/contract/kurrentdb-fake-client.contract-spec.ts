/**
 * The KurrentDB adapter's own logic (positions from `ledger-log`, eventId claims, retries,
 * several competing instances) run through the shared contract suite over an in-memory
 * stand-in for the KurrentDB *client* — the third-party boundary, not our store. It cannot
 * show how a real server behaves; kurrentdb-event-store.contract-spec.ts does that wherever
 * KURRENTDB_CONNECTION_STRING points at one.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  KurrentDBClient,
  NO_STREAM,
  ANY,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  type AppendStreamRequest,
} from '@kurrent/kurrentdb-client';
import { KurrentDbEventStore } from '../../src/event-store/kurrentdb/kurrentdb-event-store.js';
import type { EventStore, StoredEvent } from '../../src/event-store/event-store.port.js';
import { verifyStreamChain } from '../../src/integrity/chain.js';
import { accessEvent, runEventStoreContract } from './event-store.contract.js';

interface Rec { streamId: string; id: string; revision: bigint; type: string; isJson: boolean; data: unknown; metadata: unknown; created: Date }

class FakeServer {
  streams = new Map<string, Rec[]>();
  tails = new Map<string, Set<EventEmitter>>();
  appends = 0;
  /** when set, the next append is applied but the client sees this error (ambiguous outcome) */
  loseAckOnce: Error | null = null;
  failOnce: Error | null = null;
  failReads = 0;
}

class FakeClient {
  constructor(private readonly server: FakeServer) {}
  readStream(name: string, o: { direction?: string; fromRevision?: unknown; maxCount?: number | bigint }) {
    const server = this.server;
    return (async function* () {
      await new Promise((r) => setImmediate(r));
      if (server.failReads > 0) { server.failReads--; throw new UnavailableError(); }
      const recs = server.streams.get(name);
      if (!recs) throw new StreamNotFoundError(undefined, name);
      const max = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
      if (o.direction === 'backwards') {
        let i = o.fromRevision === 'end' || o.fromRevision === undefined ? recs.length - 1 : Number(o.fromRevision as bigint);
        i = Math.min(i, recs.length - 1);
        for (let n = 0; i >= 0 && n < max; i--, n++) yield { event: recs[i] };
      } else {
        const start = o.fromRevision === 'start' || o.fromRevision === undefined ? 0 : Number(o.fromRevision as bigint);
        for (const r of recs.slice(start, start + Math.min(max, recs.length))) yield { event: r };
      }
    })();
  }
  async multiStreamAppend(requests: AppendStreamRequest[]) {
    for (const r of requests) for (const e of r.events) {
      const m = e.metadata as Record<string, unknown> | undefined;
      if (m && Object.values(m).some((v) => typeof v !== 'string')) throw new Error('metadata must be string map');
    }
    await new Promise((r) => setImmediate(r));
    if (requests.length === 0) throw Object.assign(new Error('3 INVALID_ARGUMENT: no requests'), { code: 3 });
    if (this.server.failOnce) { const e = this.server.failOnce; this.server.failOnce = null; throw e; }
    const names = new Set<string>();
    for (const r of requests) {
      const k = r.streamName.toLowerCase();
      if (names.has(k)) throw new Error(`StreamAlreadyInAppendSession ${r.streamName}`);
      names.add(k);
    }
    for (const r of process.env.REVERSE ? [...requests].reverse() : requests) {
      const cur = this.server.streams.get(r.streamName);
      const current = cur && cur.length > 0 ? BigInt(cur.length - 1) : NO_STREAM;
      const exp = r.expectedState;
      const ok = exp === ANY || (exp === NO_STREAM && current === NO_STREAM) || (exp === STREAM_EXISTS && current !== NO_STREAM) || (typeof exp === 'bigint' && current === exp);
      if (!ok) throw new WrongExpectedVersionError(undefined, { streamName: r.streamName, expected: exp, current });
    }
    this.server.appends++;
    const responses = [];
    for (const r of requests) {
      const recs = this.server.streams.get(r.streamName) ?? [];
      this.server.streams.set(r.streamName, recs);
      for (const e of r.events) {
        const rec: Rec = { streamId: r.streamName, id: e.id, revision: BigInt(recs.length), type: e.type, isJson: true, data: JSON.parse(JSON.stringify(e.data)), metadata: e.metadata, created: new Date() };
        recs.push(rec);
        for (const t of this.server.tails.get(r.streamName) ?? []) t.emit('data', { event: rec });
      }
      responses.push({ streamName: r.streamName, revision: BigInt(recs.length - 1) });
    }
    if (this.server.loseAckOnce) { const e = this.server.loseAckOnce; this.server.loseAckOnce = null; throw e; }
    return { position: 0n, responses };
  }
  subscribeToStream(name: string) {
    const em = new EventEmitter() as EventEmitter & { unsubscribe(): Promise<void> };
    const set = this.server.tails.get(name) ?? new Set();
    this.server.tails.set(name, set);
    set.add(em);
    em.unsubscribe = async () => { set.delete(em); };
    return em;
  }
  async dispose() {}
}

const server = new FakeServer();
(KurrentDBClient as unknown as { connectionString: unknown }).connectionString = () => new FakeClient(server);
const connect = () => KurrentDbEventStore.connect({ connectionString: 'kurrentdb://fake:2113?tls=false', subscriptionPollMs: 50 });

runEventStoreContract('kurrentdb over an in-memory fake client', () => ({
  open: connect,
  reopen: async (store: EventStore) => { await store.close(); return connect(); },
  cleanup: async () => undefined,
}));

describe('fake: several instances', () => {
  it('keeps positions contiguous and chains linear with 3 instances writing the same streams', async () => {
    const stores = await Promise.all([connect(), connect(), connect()]);
    const head0 = await stores[0]!.headPosition();
    const s = `subject-multi-${randomUUID().slice(0, 8)}`;
    const s2 = `subject-multi-${randomUUID().slice(0, 8)}`;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => stores[i % 3]!.append([{ streamId: i % 2 ? s : s2, expectedRevision: 'any', events: [accessEvent('m'), accessEvent('m')] }])),
    );
    const positions = results.flat().map((r) => r.globalPosition).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 120 }, (_, i) => head0 + i));
    const all = await stores[1]!.readAll({ fromPosition: head0 });
    expect(all.map((e) => e.globalPosition)).toEqual(positions);
    expect(verifyStreamChain(await stores[2]!.readStream(s))).toBeNull();
    expect(verifyStreamChain(await stores[2]!.readStream(s2))).toBeNull();
    expect((await stores[0]!.readStream(s)).length).toBe(60);
    // a subscriber on instance 2 sees instance 0's writes
    const seen: StoredEvent[] = [];
    const sub = stores[2]!.subscribeToAll({ fromPosition: head0 + 120, onEvents: (e) => void seen.push(...e) });
    await stores[0]!.append([{ streamId: s, expectedRevision: 'any', events: [accessEvent('m')] }]);
    const t = Date.now();
    while (seen.length < 1 && Date.now() - t < 2000) await new Promise((r) => setTimeout(r, 5));
    await sub.stop();
    expect(seen.map((e) => e.globalPosition)).toEqual([head0 + 120]);
    for (const st of stores) await st.close();
  });

  it('answers a retry after a lost acknowledgement with the first receipts', async () => {
    const store = await connect();
    const s = `subject-lost-${randomUUID().slice(0, 8)}`;
    const events = [accessEvent('l'), accessEvent('l')];
    server.loseAckOnce = new UnavailableError();
    const first = await store.append([{ streamId: s, expectedRevision: 'no_stream', events }]);
    expect(first.map((r) => [r.streamRevision, r.duplicate])).toEqual([[0, false], [1, false]]);
    server.failOnce = new UnavailableError();
    const third = await store.append([{ streamId: s, expectedRevision: 1, events: [accessEvent('l')] }]);
    expect(third.map((r) => [r.streamRevision, r.duplicate])).toEqual([[2, false]]);
    server.failOnce = new Error('hard');
    await expect(store.append([{ streamId: s, expectedRevision: 2, events: [accessEvent('l')] }])).rejects.toThrow('hard');
    const again = await store.append([{ streamId: s, expectedRevision: 'no_stream', events }]);
    expect(again.every((r) => r.duplicate)).toBe(true);
    expect(again.map((r) => r.streamRevision)).toEqual([0, 1]);
    expect((await store.readStream(s)).length).toBe(3);
    const found = await store.findByEventId(events[1]!.eventId.toUpperCase());
    expect(found?.streamRevision).toBe(1);
    expect(await store.findByEventId('nope')).toBeNull();
    await store.close();
  });

  it('mixes duplicates and fresh events in one request, in event order', async () => {
    const store = await connect();
    const s = `subject-mix-${randomUUID().slice(0, 8)}`;
    const a = accessEvent('x'), b = accessEvent('x');
    const [ra] = await store.append([{ streamId: s, expectedRevision: 'no_stream', events: [a] }]);
    const r = await store.append([{ streamId: s, expectedRevision: 0, events: [a, b] }]);
    expect(r.map((x) => [x.eventId, x.duplicate, x.streamRevision])).toEqual([[a.eventId, true, 0], [b.eventId, false, 1]]);
    expect(r[0]).toEqual({ ...ra, duplicate: true });
    // same eventId on another stream is a conflict
    await expect(store.append([{ streamId: s + 'x', expectedRevision: 'any', events: [a] }])).rejects.toMatchObject({ name: 'EventIdConflictError' });
    // two requests on the same stream in one append are merged into one physical request
    const c = accessEvent('x'), d = accessEvent('x');
    const r2 = await store.append([{ streamId: s, expectedRevision: 1, events: [c] }, { streamId: s, expectedRevision: 2, events: [d] }]);
    expect(r2.map((x) => x.streamRevision)).toEqual([2, 3]);
    expect(verifyStreamChain(await store.readStream(s))).toBeNull();
    await expect(store.append([{ streamId: 'ledger-log', expectedRevision: 'any', events: [accessEvent('x')] }])).rejects.toThrow(/reserved/);
    await store.close();
  });

  it('a store with a stale cache (another instance wrote) still honours exact expectations', async () => {
    const [one, two] = await Promise.all([connect(), connect()]);
    const s = `subject-stale-${randomUUID().slice(0, 8)}`;
    await one.append([{ streamId: s, expectedRevision: 'no_stream', events: [accessEvent('s')] }]);
    await two.append([{ streamId: s, expectedRevision: 0, events: [accessEvent('s')] }]);
    // one's cache says revision 0; the truth is 1
    const ok = await one.append([{ streamId: s, expectedRevision: 1, events: [accessEvent('s')] }]);
    expect(ok[0]!.streamRevision).toBe(2);
    await expect(two.append([{ streamId: s, expectedRevision: 1, events: [accessEvent('s')] }])).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', expected: 1, actual: 2 });
    expect(verifyStreamChain(await two.readStream(s))).toBeNull();
    await one.close(); await two.close();
  });
});

