import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AppendRequest, NewEvent } from '../../../src/event-store/event-store.port.js';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import type { LogBatch } from '../../../src/event-store/log-feed.types.js';
import { sealPersonalValues } from '../../../src/crypto/personal-values-cipher.js';
import { canonicalRecordBytes } from '../../../src/integrity/chain.js';
import { ProjectionRunner } from '../../../src/read-models/projection-runner.js';
import { LEDGER_PROJECTIONS } from '../../../projections/index.js';
import type { Projection } from '../../../projections/projection.js';
import { exampleCatalogue, exampleIds, type EventBody } from '../../support/example-events.js';

/** Every read-model table, rows in primary-key order, and the checkpoints: what "the same read models" means. */
function dumpReadModels(db: Database.Database): Record<string, unknown[]> {
  const dump: Record<string, unknown[]> = {};
  for (const p of LEDGER_PROJECTIONS) for (const table of p.tables) dump[table] = db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all();
  dump['projection_checkpoints'] = db.prepare('SELECT * FROM projection_checkpoints ORDER BY name').all();
  return dump;
}

function dumpFile(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    return dumpReadModels(db);
  } finally {
    db.close();
  }
}

const KEY = Buffer.alloc(32, 9);

function streamOf(body: EventBody): string {
  const data = body.data as { breachId?: string; version?: string };
  if (body.type.startsWith('Breach')) return `breach-${data.breachId}`;
  if (body.type === 'ProcessingActivityRegistered') return 'register-processing';
  if (body.type === 'PrivacyNoticePublished') return `notice-${data.version}`;
  return `subject-${body.subjectId}`;
}

/** The store-level form of an example event; personal values sealed like the recording path does. */
function toNewEvent(body: EventBody, personalValues: Record<string, string> | null): NewEvent {
  const subjectId = body.subjectId ?? null;
  return {
    eventId: body.eventId,
    type: body.type,
    occurredAt: body.occurredAt,
    subjectId,
    actor: body.actor,
    data: body.data,
    ...(personalValues && subjectId ? { pii: sealPersonalValues(KEY, body.eventId, subjectId, personalValues) } : {}),
    metadata: { correlationId: `corr-${body.eventId.slice(0, 8)}`, emitter: body.actor.system },
    contentDigest: createHash('sha256').update(body.eventId).digest('hex'),
  };
}

/** People in the test log: 28 events each, so the log spans three rebuild pages (two workers). */
const SUBJECTS = 90;

/**
 * A realistic log: every event type of the catalogue for each of `subjects` people (their own
 * requests, breaches and notices), interleaved person by person so streams mix in the log;
 * personal values on collections and requests, a non-ASCII justification, every person's key
 * shredded at the end of their story.
 */
function realisticLog(subjects: number): AppendRequest[][] {
  const stories = Array.from({ length: subjects }, (_, i) => exampleCatalogue(exampleIds(`rb-${i}`)));
  const appends: AppendRequest[][] = [];
  for (let step = 0; step < (stories[0]?.length ?? 0); step++) {
    const requests: AppendRequest[] = [];
    stories.forEach((story, i) => {
      const body = story[step]!;
      if (body.type === 'ProcessingActivityRegistered') body.data = { ...body.data, activityId: `act-${i % 3}` };
      if (body.type === 'PersonalDataAccessed' && i % 2 === 0) body.data = { ...body.data, justification: 'Kundin bat um Prüfung — 📷 offline' };
      const pii = body.type === 'PersonalDataCollected' || body.type === 'SubjectRequestReceived' ? { email: `person${i}@example.invalid`, name: 'Zoë Ødegaard' } : null;
      requests.push({ streamId: streamOf(body), expectedRevision: 'any', events: [toNewEvent(body, pii)] });
    });
    appends.push(requests);
  }
  return appends;
}

/** Every projection's checkpoint must be at `head`. */
function expectCheckpointsAt(runner: ProjectionRunner, head: number): void {
  for (const p of LEDGER_PROJECTIONS) expect(runner.checkpoints().get(p.name)).toBe(head);
}

describe(ProjectionRunner.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-read-models-'));
  const logFile = join(dir, 'events.db');
  let store: SqliteEventStore;
  let head = 0;
  /** The read models as live following built them, batch after batch. */
  let followed: Record<string, unknown[]>;

  beforeAll(async () => {
    store = new SqliteEventStore({ file: logFile });
    const log = realisticLog(SUBJECTS);
    const live = new ProjectionRunner({ file: join(dir, 'followed.db'), store, projections: LEDGER_PROJECTIONS, batchSize: 37 });
    live.start();
    // Half the log before following starts, half while it follows.
    for (const [i, requests] of log.entries()) {
      await store.append(requests);
      if (i === Math.floor(log.length / 2)) await live.waitForPosition(await store.headPosition());
    }
    head = await store.headPosition();
    await live.waitForPosition(head);
    expectCheckpointsAt(live, head);
    followed = dumpReadModels(live.db);
    await live.close();
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows a realistic log into every read model', () => {
    expect(head).toBe(SUBJECTS * 28);
    expect(followed['subject_timeline']!.length).toBe(SUBJECTS * 21);
    expect(followed['shredded_subjects']).toHaveLength(SUBJECTS);
    expect(followed['subject_request_events']).toHaveLength(SUBJECTS * 6);
    expect(followed['breach_events']).toHaveLength(SUBJECTS * 6);
    expect(followed['processing_activities']).toHaveLength(3);
    const timeline = followed['subject_timeline'] as Array<{ has_pii: number; justification: string | null }>;
    expect(timeline.some((row) => row.has_pii === 1)).toBe(true);
    expect(timeline.some((row) => row.justification?.includes('📷'))).toBe(true);
  });

  it('rebuilds from the log file exactly the rows live following wrote', async () => {
    const file = join(dir, 'from-file.db');
    const runner = new ProjectionRunner({ file, store, projections: LEDGER_PROJECTIONS, logFile });
    // Under the TypeScript test runner there is no compiled worker script: decoded in this thread.
    expect(await runner.rebuild()).toMatchObject({ events: head, reader: 'log-file', workers: 0 });
    expectCheckpointsAt(runner, head);
    expect(dumpReadModels(runner.db)).toEqual(followed);
    await runner.close();
    expect(existsSync(`${file}.rebuilding`)).toBe(false);
  });

  it('rebuilds through store.readAll exactly the rows live following wrote', async () => {
    const runner = new ProjectionRunner({ file: join(dir, 'via-store.db'), store, projections: LEDGER_PROJECTIONS });
    expect(await runner.rebuild()).toMatchObject({ events: head, reader: 'store', workers: 0 });
    expect(dumpReadModels(runner.db)).toEqual(followed);
    await runner.close();
  });

  it('rebuilds an in-memory read model in place', async () => {
    const runner = new ProjectionRunner({ file: ':memory:', store, projections: LEDGER_PROJECTIONS, logFile });
    runner.apply({ events: await store.readAll({ maxCount: 25 }), records: [], first: 0, next: 25 });
    await runner.rebuild();
    expect(dumpReadModels(runner.db)).toEqual(followed);
    await runner.close();
  });

  it('rebuilds over damaged read models, and queries see the new ones on the same runner', async () => {
    const runner = new ProjectionRunner({ file: join(dir, 'damaged.db'), store, projections: LEDGER_PROJECTIONS, logFile });
    await runner.rebuild();
    runner.db.prepare('DELETE FROM subject_timeline WHERE position % 3 = 0').run();
    runner.db.prepare("UPDATE breach_events SET data = '{}'").run();
    expect(dumpReadModels(runner.db)).not.toEqual(followed);
    await runner.rebuild();
    expect(dumpReadModels(runner.db)).toEqual(followed);
    await runner.close();
  });

  it('a rebuild that fails part way leaves the old read models and their checkpoints', async () => {
    const file = join(dir, 'failing.db');
    const good = new ProjectionRunner({ file, store, projections: LEDGER_PROJECTIONS, logFile });
    await good.rebuild();
    await good.close();
    const failing: Projection = {
      ...LEDGER_PROJECTIONS[0]!,
      fold: (event) => {
        if (event.globalPosition === head - 5) throw new Error('cannot fold this one');
        return LEDGER_PROJECTIONS[0]!.fold(event);
      },
    };
    const runner = new ProjectionRunner({ file, store, projections: [failing, ...LEDGER_PROJECTIONS.slice(1)], logFile });
    await expect(runner.rebuild()).rejects.toThrow('cannot fold this one');
    expect(existsSync(`${file}.rebuilding`)).toBe(false);
    expect(dumpReadModels(runner.db)).toEqual(followed);
    expectCheckpointsAt(runner, head);
    await runner.close();
  });

  it('a rebuild file left by a crash is discarded at the next start, the old read models kept', async () => {
    const file = join(dir, 'crashed.db');
    const first = new ProjectionRunner({ file, store, projections: LEDGER_PROJECTIONS, logFile });
    await first.rebuild();
    await first.close();
    // What a crash in the middle of a rebuild leaves: a partial file beside the read models.
    writeFileSync(`${file}.rebuilding`, 'half a database');
    const next = new ProjectionRunner({ file, store, projections: LEDGER_PROJECTIONS, logFile });
    expect(existsSync(`${file}.rebuilding`)).toBe(false);
    expect(dumpReadModels(next.db)).toEqual(followed);
    await next.close();
  });

  describe('as a log feed consumer', () => {
    async function batchOf(first: number, next: number): Promise<LogBatch> {
      const events = await store.readAll({ fromPosition: first, maxCount: next - first });
      return { events, records: events.map((e) => canonicalRecordBytes(e).toString('utf8')), first, next };
    }

    it('is named projections and starts at its lowest checkpoint', async () => {
      const runner = new ProjectionRunner({ file: join(dir, 'consumer-start.db'), store, projections: LEDGER_PROJECTIONS });
      expect(runner.name).toBe('projections');
      expect(runner.position()).toBe(0);
      await runner.close();
    });

    it('applies overlapping batches once, to exactly the rows live following wrote', async () => {
      const runner = new ProjectionRunner({ file: join(dir, 'consumer.db'), store, projections: LEDGER_PROJECTIONS });
      // Overlaps and repeats, as a feed resuming from the slowest consumer delivers them.
      let reached = 0;
      for (const [first, next] of [[0, 50], [20, 120], [0, 120], [120, 121], [100, 300], [300, head]] as const) {
        runner.apply(await batchOf(first, next));
        reached = Math.max(reached, next);
        expect(runner.position()).toBe(reached);
      }
      expectCheckpointsAt(runner, head);
      expect(dumpReadModels(runner.db)).toEqual(followed);
      await runner.close();
    });

    it('an empty batch past the checkpoint only moves it (a quarantined event)', async () => {
      const runner = new ProjectionRunner({ file: join(dir, 'quarantine.db'), store, projections: LEDGER_PROJECTIONS });
      runner.apply(await batchOf(0, 10));
      const rowsBefore = dumpReadModels(runner.db)['subject_timeline'];
      runner.apply({ events: [], records: [], first: 11, next: 11 });
      expect(runner.position()).toBe(11);
      expect(dumpReadModels(runner.db)['subject_timeline']).toEqual(rowsBefore);
      const stored = new Database(join(dir, 'quarantine.db'), { readonly: true });
      expect(stored.prepare('SELECT DISTINCT position FROM projection_checkpoints').pluck().all()).toEqual([11]);
      stored.close();
      await runner.close();
    });

    it('refuses a batch that starts after its checkpoint (it would skip events)', async () => {
      const runner = new ProjectionRunner({ file: join(dir, 'gap.db'), store, projections: LEDGER_PROJECTIONS });
      runner.apply(await batchOf(0, 10));
      const batch = await batchOf(12, 20);
      expect(() => runner.apply(batch)).toThrow('after');
      expect(runner.position()).toBe(10);
      await runner.close();
    });

    it('a fold that throws commits nothing of the batch: no rows, no checkpoint', async () => {
      const file = join(dir, 'atomic.db');
      const throwing: Projection = {
        ...LEDGER_PROJECTIONS[3]!,
        fold: (event) => {
          if (event.globalPosition === 40) throw new Error('unreadable');
          return LEDGER_PROJECTIONS[3]!.fold(event);
        },
      };
      const runner = new ProjectionRunner({ file, store, projections: [...LEDGER_PROJECTIONS.slice(0, 3), throwing] });
      runner.apply(await batchOf(0, 30));
      const before = dumpReadModels(runner.db);
      const batch = await batchOf(30, 60);
      expect(() => runner.apply(batch)).toThrow('unreadable');
      expect(dumpReadModels(runner.db)).toEqual(before);
      expect(runner.position()).toBe(30);
      await runner.close();
    });
  });

  it('rebuilds in worker threads (the compiled runner) exactly the rows live following wrote', async () => {
    const script = join(process.cwd(), 'test/unit/read-models/rebuild-in-workers.mjs');
    const compiled = join(process.cwd(), 'dist/src/read-models/rebuild-worker.js');
    if (!existsSync(compiled)) throw new Error(`${compiled} is missing — run \`npm run build\` first (npm test does)`);
    // The child opens the store itself: one process writes a log at a time.
    await store.close();
    const file = join(dir, 'workers.db');
    try {
      const env = { ...process.env };
      delete env['NODE_OPTIONS'];
      const child = spawnSync(process.execPath, [script, logFile, file], { encoding: 'utf8', env });
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      expect(JSON.parse(child.stdout)).toMatchObject({ events: head, reader: 'workers', workers: 2 });
      expect(dumpFile(file)).toEqual(followed);
    } finally {
      store = new SqliteEventStore({ file: logFile });
    }
  });
});
