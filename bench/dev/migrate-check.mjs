// Dev check: a schema-1 events file (the layout before this store: random-UUID unique index,
// per-stream index, heads updated in place) opens under the new store, reads back, dedups by
// eventId, and continues every chain. Builds the v1 file by hand with the real chain hashing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { canonicalRecordBytes, chainHash, verifyStreamChain } from '../../dist/src/integrity/chain.js';

const dir = mkdtempSync(join(tmpdir(), 'ledger-migrate-'));
const file = join(dir, 'events.db');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.exec(`
CREATE TABLE streams (stream_key INTEGER PRIMARY KEY, stream_id TEXT NOT NULL UNIQUE, revision INTEGER NOT NULL, head_hash BLOB NOT NULL);
CREATE TABLE events (position INTEGER PRIMARY KEY, stream_key INTEGER NOT NULL, revision INTEGER NOT NULL, event_id BLOB NOT NULL, record TEXT NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL, digest BLOB NOT NULL);
CREATE UNIQUE INDEX events_by_event_id ON events(event_id);
CREATE UNIQUE INDEX events_by_stream ON events(stream_key, revision);`);
const heads = new Map();
const ids = [];
for (let p = 0; p < 500; p++) {
  const streamId = `subject-s${p % 7}`;
  const head = heads.get(streamId) ?? { key: heads.size + 1, revision: -1, hash: '0'.repeat(64) };
  const eventId = randomUUID();
  const record = { eventId, type: 'PersonalDataAccessed', streamId, streamRevision: head.revision + 1, globalPosition: p, occurredAt: '2026-11-01T10:00:00.000Z', recordedAt: '2026-11-01T10:00:01.000Z', subjectId: `s${p % 7}`, actor: { id: 'a', kind: 'employee', system: 'x' }, data: { n: p }, metadata: {} };
  const bytes = canonicalRecordBytes(record);
  const hash = chainHash(head.hash, bytes);
  const digest = createHash('sha256').update(eventId).digest('hex');
  db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(p, head.key, record.streamRevision, Buffer.from(eventId.replaceAll('-', ''), 'hex'), bytes.toString('utf8'), Buffer.from(head.hash, 'hex'), Buffer.from(hash, 'hex'), Buffer.from(digest, 'hex'));
  db.prepare('INSERT INTO streams VALUES (?, ?, ?, ?) ON CONFLICT(stream_key) DO UPDATE SET revision = excluded.revision, head_hash = excluded.head_hash').run(head.key, streamId, record.streamRevision, Buffer.from(hash, 'hex'));
  heads.set(streamId, { key: head.key, revision: record.streamRevision, hash });
  ids.push({ eventId, digest, streamId, position: p, hash });
}
db.close();

const check = (ok, what) => {
  if (!ok) throw new Error(`migration check failed: ${what}`);
};
let store = new SqliteEventStore({ file });
for (const [streamId, head] of heads) {
  const read = await store.readStream(streamId);
  check(read.length === head.revision + 1 && verifyStreamChain(read) === null, `${streamId} reads back and chains`);
  check((await store.streamHead(streamId)).hash === head.hash, `${streamId} head`);
  check((await store.readStream(streamId, { fromRevision: 3, maxCount: 2 })).map((e) => e.streamRevision).join() === '3,4', 'read from a revision');
}
const sample = ids[123];
const found = await store.findByEventId(sample.eventId);
check(found?.globalPosition === 123 && found.hash === sample.hash, 'findByEventId after migration');
const [again] = await store.append([{ streamId: sample.streamId, expectedRevision: 'any', events: [{ eventId: sample.eventId, type: 'PersonalDataAccessed', occurredAt: 'x', subjectId: 'x', actor: { id: 'a', kind: 'employee', system: 'x' }, data: {}, metadata: {}, contentDigest: sample.digest }] }]);
check(again.duplicate && again.globalPosition === 123, 'a migrated id is answered with its first receipt');
const [next] = await store.append([{ streamId: 'subject-s0', expectedRevision: heads.get('subject-s0').revision, events: [{ eventId: randomUUID(), type: 'PersonalDataAccessed', occurredAt: 'x', subjectId: 's0', actor: { id: 'a', kind: 'employee', system: 'x' }, data: {}, metadata: {}, contentDigest: 'ab' }] }]);
check(next.globalPosition === 500 && next.streamRevision === heads.get('subject-s0').revision + 1, 'appends continue the chain');
await store.close();
store = new SqliteEventStore({ file });
check(verifyStreamChain(await store.readStream('subject-s0')) === null, 'chain intact after reopening');
check((await store.headPosition()) === 501, 'head after reopening');
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log('schema 1 → 3 migration: reads, idempotency, appends and reopen all check out');
