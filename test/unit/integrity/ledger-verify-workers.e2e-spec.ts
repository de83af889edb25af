/**
 * `verifyLedgerFile` with its worker threads, on a log written by the real SqliteEventStore:
 * the compiled build (dist), since worker threads run JavaScript. Whichever thread finds a
 * break, and whatever order pages come back in, the break reported is the first in the log,
 * as the previous one-event-at-a-time verifier (referenceVerify) reports it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { readRawLog, SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import type { AppendRequest } from '../../../src/event-store/event-store.port.js';
import type * as Verifier from '../../../src/integrity/ledger-verifier.js';
import { cliPath, verifyDataDir } from '../../support/integrity-cli.js';
import { checkpointsOver, referenceVerify, signingKeys } from './raw-log-fixtures.js';

const EVENTS = 5000;
const STREAMS = 300;
const PAGE = 64;
const { privateKey, publicKey } = signingKeys();

let dir: string;
let pristine: string;
let compiled: typeof Verifier;

beforeAll(async () => {
  cliPath(); // fail fast with a clear message when the project is not built
  const built = join(process.cwd(), 'dist/src/integrity/ledger-verifier.js');
  if (!existsSync(join(process.cwd(), 'dist/src/integrity/log-hash-worker.js'))) throw new Error('the verifier worker is not built: run `npm run build` first');
  compiled = (await import(pathToFileURL(built).href)) as typeof Verifier;
  dir = mkdtempSync(join(tmpdir(), 'ledger-verify-workers-'));
  pristine = join(dir, 'events.db');
  const store = new SqliteEventStore({ file: pristine, synchronous: 'normal' });
  for (let done = 0; done < EVENTS; done += 500) {
    const requests: AppendRequest[] = Array.from({ length: 500 }, (_, i) => {
      const n = done + i;
      const subjectId = `cust-${(n * 7919) % STREAMS}`;
      return {
        streamId: `subject-${subjectId}`,
        expectedRevision: 'any',
        events: [
          {
            eventId: randomUUID(),
            type: 'PersonalDataAccessed',
            occurredAt: '2026-11-01T10:00:00.000Z',
            subjectId,
            actor: { id: `agent-${n % 11}`, kind: 'employee', system: 'support-console' },
            data: { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', legalBasis: 'contract', ticketRef: `SUP-${n}` },
            metadata: { emitter: 'support-console' },
            contentDigest: createHash('sha256').update(String(n)).digest('hex'),
          },
        ],
      };
    });
    await store.append(requests);
  }
  await store.close();
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let copies = 0;
/** A copy of the log with `edit` applied in one transaction. */
function tampered(edit: (db: Database.Database) => void): string {
  const file = join(dir, `copy-${copies++}.db`);
  copyFileSync(pristine, file);
  const db = new Database(file);
  db.transaction(() => edit(db))();
  db.close();
  return file;
}

const editRecord = (position: number, change: (record: string) => string, rehash: boolean) => (db: Database.Database) => {
  const row = db.prepare('SELECT record, prev_hash FROM events WHERE position = ?').get(position) as { record: string; prev_hash: Buffer };
  const record = change(row.record);
  expect(record).not.toBe(row.record);
  if (rehash) db.prepare('UPDATE events SET record = ?, hash = ? WHERE position = ?').run(record, createHash('sha256').update(row.prev_hash).update(record).digest(), position);
  else db.prepare('UPDATE events SET record = ? WHERE position = ?').run(record, position);
};
const otherTicket = (record: string): string => record.replace(/"ticketRef":"SUP-(\d+)"/, '"ticketRef":"SUP-x$1"');
const nextRevision = (record: string): string => record.replace(/"streamRevision":(\d+)/, (_m, r: string) => `"streamRevision":${Number(r) + 1}`);

const checkpoints = () => checkpointsOver([...readRawLog(pristine)], [PAGE, 1000, 3 * PAGE + 5, EVENTS], privateKey, publicKey);

async function verifyWithWorkers(file: string): Promise<Verifier.VerifyReport> {
  return compiled.verifyLedgerFile(file, checkpoints(), publicKey, { workers: 2, pageEvents: PAGE });
}

describe('verifyLedgerFile with worker threads', () => {
  it('an intact log: the reference report, every checkpoint verified', async () => {
    const report = await verifyWithWorkers(pristine);
    expect(report).toEqual(referenceVerify(readRawLog(pristine), checkpoints(), publicKey));
    expect(report).toMatchObject({ intact: true, events: EVENTS, streams: STREAMS, checkpointsVerified: 4 });
  });

  it('two records edited in different pages: the earlier one is reported, in every run', async () => {
    // Pages of 64: position 150 is in page 2, position 4000 in page 62 (another worker's).
    const file = tampered((db) => {
      editRecord(4000, otherTicket, false)(db);
      editRecord(150, otherTicket, false)(db);
    });
    for (let run = 0; run < 5; run++) expect((await verifyWithWorkers(file)).firstBreak).toMatchObject({ kind: 'hash-mismatch', position: 150 });
    expect(await verifyWithWorkers(file)).toEqual(referenceVerify(readRawLog(file), checkpoints(), publicKey));
  });

  it('a break found by a worker in an earlier page wins over one the main thread finds later, and the other way round', async () => {
    const workerFirst = tampered((db) => {
      editRecord(130, otherTicket, false)(db); // hash mismatch: a worker's event check
      editRecord(2000, nextRevision, true)(db); // stream order: the main thread's sequential pass
    });
    expect((await verifyWithWorkers(workerFirst)).firstBreak).toMatchObject({ kind: 'hash-mismatch', position: 130 });
    const mainFirst = tampered((db) => {
      editRecord(130, nextRevision, true)(db);
      editRecord(2000, otherTicket, false)(db);
    });
    expect((await verifyWithWorkers(mainFirst)).firstBreak).toMatchObject({ kind: 'stream-order', position: 130 });
    for (const file of [workerFirst, mainFirst]) expect(await verifyWithWorkers(file)).toEqual(referenceVerify(readRawLog(file), checkpoints(), publicKey));
  });

  it('a deleted row and a checkpoint the forged chain no longer matches: each where the reference puts it', async () => {
    const gap = tampered((db) => db.prepare('DELETE FROM events WHERE position = ?').run(777));
    expect((await verifyWithWorkers(gap)).firstBreak).toMatchObject({ kind: 'position-gap', position: 777 });
    const forged = tampered(editRecord(500, otherTicket, true));
    // Its own hash verifies; the next event of its stream no longer links to it.
    for (const file of [gap, forged]) expect(await verifyWithWorkers(file)).toEqual(referenceVerify(readRawLog(file), checkpoints(), publicKey));
  });

  it("the store's stream_key column is not trusted: re-pointing it changes nothing", async () => {
    const file = tampered((db) => db.prepare('UPDATE events SET stream_key = 1 WHERE position % 3 = 0').run());
    expect(await verifyWithWorkers(file)).toMatchObject({ intact: true, events: EVENTS, streams: STREAMS });
  });

  it('`ledger verify` (default pages, workers) on a data dir: intact, then the first of two breaks', () => {
    const dataDir = mkdtempSync(join(dir, 'data-'));
    copyFileSync(pristine, join(dataDir, 'events.db'));
    writeFileSync(join(dataDir, 'checkpoint-public-key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    expect(verifyDataDir(dataDir).report).toMatchObject({ intact: true, events: EVENTS, streams: STREAMS });
    const db = new Database(join(dataDir, 'events.db'));
    editRecord(4500, otherTicket, false)(db);
    editRecord(2100, otherTicket, false)(db);
    db.close();
    const { status, report } = verifyDataDir(dataDir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'hash-mismatch', position: 2100 });
  });
});
