import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import type { NewEvent } from '../../../src/event-store/event-store.port.js';
import { ConsumerStoppedError, LogFeed, type LogBatch, type LogConsumer } from '../../../src/event-store/log-feed.js';
import { canonicalRecordBytes } from '../../../src/integrity/chain.js';

function accessEvent(subjectId: string, note = 'ok'): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'PersonalDataAccessed',
    occurredAt: '2026-11-01T10:00:00.000Z',
    subjectId,
    actor: { id: 'agent-7', kind: 'employee', system: 'support-console' },
    data: { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', justification: note },
    metadata: {},
    contentDigest: randomUUID().replace(/-/g, '').padEnd(64, '0'),
  };
}

/**
 * A follower whose checkpoint lives in its own SQLite file, committed with what it applied
 * (like the real read models): what it saw survives a restart of the feed.
 */
class DurableConsumer implements LogConsumer {
  readonly db: Database.Database;
  readonly batches: LogBatch[] = [];
  failOn: (eventNote: string) => Error | null = () => null;

  constructor(
    readonly name: string,
    file: string,
  ) {
    this.db = new Database(file);
    this.db.exec('CREATE TABLE IF NOT EXISTS seen (position INTEGER PRIMARY KEY); CREATE TABLE IF NOT EXISTS cp (id INTEGER PRIMARY KEY, next INTEGER)');
  }

  position(): number {
    return (this.db.prepare('SELECT next FROM cp WHERE id = 1').get() as { next: number } | undefined)?.next ?? 0;
  }

  apply(batch: LogBatch): void {
    this.batches.push(batch);
    const from = this.position();
    this.db.transaction(() => {
      for (const e of batch.events) {
        if (e.globalPosition < from) continue;
        const error = this.failOn(String(e.data['justification']));
        if (error) throw error;
        this.db.prepare('INSERT INTO seen (position) VALUES (?)').run(e.globalPosition);
      }
      this.db.prepare('INSERT OR REPLACE INTO cp (id, next) VALUES (1, ?)').run(batch.next);
    })();
  }

  seen(): number[] {
    return (this.db.prepare('SELECT position FROM seen ORDER BY position').all() as Array<{ position: number }>).map((r) => r.position);
  }
}

function storageError(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

describe(LogFeed.name, () => {
  let dir: string;
  let store: SqliteEventStore;
  const feeds: LogFeed[] = [];
  const consumers: DurableConsumer[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-feed-'));
    store = new SqliteEventStore({ file: join(dir, 'events.db') });
  });

  afterEach(async () => {
    for (const f of feeds.splice(0)) await f.stop();
    for (const c of consumers.splice(0)) c.db.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function consumer(name: string): DurableConsumer {
    const c = new DurableConsumer(name, join(dir, `${name}.db`));
    consumers.push(c);
    return c;
  }

  function feed(list: LogConsumer[], extra: Partial<ConstructorParameters<typeof LogFeed>[0]> = {}): LogFeed {
    const f = new LogFeed({ store, consumers: list, retryMs: 20, ...extra });
    feeds.push(f);
    f.start();
    return f;
  }

  async function appendMany(notes: string[], subjectId = 'cust-1'): Promise<number> {
    await store.append([{ streamId: `subject-${subjectId}`, expectedRevision: 'any', events: notes.map((n) => accessEvent(subjectId, n)) }]);
    return store.headPosition();
  }

  it('reads each batch once and hands the same decoded objects, with the stored canonical records, to every consumer', async () => {
    const reads = jest.spyOn(store, 'readLogBatch');
    const a = consumer('a');
    const b = consumer('b');
    const f = feed([a, b]);
    const head = await appendMany(['one', 'two', 'three']);
    await f.caughtUp(head);

    expect(a.seen()).toEqual([0, 1, 2]);
    expect(b.seen()).toEqual([0, 1, 2]);
    expect(reads).toHaveBeenCalledTimes(a.batches.length);
    a.batches.forEach((batch, i) => expect(b.batches[i]).toBe(batch));
    const batch = a.batches[0]!;
    batch.events.forEach((e, i) => expect(batch.records[i]).toBe(canonicalRecordBytes(e).toString('utf8')));
  });

  it('quarantines the one event a consumer cannot apply; that consumer goes on and every other consumer gets it', async () => {
    const picky = consumer('picky');
    const other = consumer('other');
    picky.failOn = (note) => (note === 'poison' ? new RangeError('Invalid time value') : null);
    const quarantined: string[] = [];
    const f = feed([picky, other], { onQuarantined: (q) => quarantined.push(`${q.consumer}@${q.globalPosition}`) });
    const head = await appendMany(['before', 'poison', 'after']);
    await f.caughtUp(head);

    expect(picky.seen()).toEqual([0, 2]);
    expect(other.seen()).toEqual([0, 1, 2]);
    expect(quarantined).toEqual(['picky@1']);
    expect(f.quarantined()).toEqual([expect.objectContaining({ consumer: 'picky', globalPosition: 1, type: 'PersonalDataAccessed', error: 'Invalid time value' })]);
    expect(f.status().find((s) => s.name === 'picky')).toEqual(expect.objectContaining({ state: 'following', position: 3, quarantined: 1 }));

    // Later events still reach it.
    const next = await appendMany(['later']);
    await f.caughtUp(next);
    expect(picky.seen()).toEqual([0, 2, 3]);
  });

  it('a storage failure stops only that consumer; reads that need it fail fast; it resumes from its own checkpoint', async () => {
    const failing = consumer('failing');
    const healthy = consumer('healthy');
    let full = false;
    failing.failOn = () => (full ? storageError() : null);
    const stopped: string[] = [];
    const f = feed([failing, healthy], { onConsumerStopped: (name) => stopped.push(name) });
    await f.caughtUp(await appendMany(['a']));

    full = true;
    const head = await appendMany(['b', 'c']);
    await f.caughtUp(head, ['healthy']);
    expect(healthy.seen()).toEqual([0, 1, 2]);
    expect(stopped).toEqual(['failing']);
    expect(f.status().find((s) => s.name === 'failing')).toEqual(expect.objectContaining({ state: 'stopped', position: 1, error: 'database or disk is full' }));
    await expect(f.caughtUp(head, ['failing'])).rejects.toBeInstanceOf(ConsumerStoppedError);
    // Nothing was quarantined: the disk, not the event, was at fault.
    expect(f.quarantined()).toEqual([]);

    full = false;
    await waitFor(() => failing.position() === head);
    expect(failing.seen()).toEqual([0, 1, 2]);
  });

  it('after a restart each consumer resumes from its own checkpoint, and one rebuilt from zero catches up alone', async () => {
    const a = consumer('a');
    const b = consumer('b');
    const first = feed([a, b]);
    await first.caughtUp(await appendMany(['1', '2', '3']));
    await first.stop();

    // b is rebuilt from zero while the feed is down; a keeps its checkpoint.
    b.db.exec('DELETE FROM seen; DELETE FROM cp');
    const head = await appendMany(['4']);
    a.batches.length = 0;
    const second = feed([a, b]);
    await second.caughtUp(head);
    expect(a.seen()).toEqual([0, 1, 2, 3]);
    expect(b.seen()).toEqual([0, 1, 2, 3]);
    // a was handed events it already had and skipped them; none was applied twice (primary key).
    expect(a.batches[0]!.first).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
