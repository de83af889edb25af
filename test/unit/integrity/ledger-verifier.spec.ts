/**
 * The paged verifier against the one it replaced: on intact and tampered logs, `verifyLedger`
 * (entries) and `verifyLedgerFile` (an events table read in pages; here on the calling thread,
 * small pages so a log spans many) give exactly the report the previous one-event-at-a-time
 * verifier gives (referenceVerify). The worker threads are exercised by
 * ledger-verify-workers.e2e-spec.ts on the compiled build.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { canonicalRecordBytes } from '../../../src/integrity/chain.js';
import type { SignedCheckpoint } from '../../../src/integrity/checkpoint-signer.js';
import { verifyLedger, verifyLedgerFile, type VerifyReport } from '../../../src/integrity/ledger-verifier.js';
import { emptyFields, parseLedgerRecord, readRecordFields } from '../../../src/integrity/record-fields.js';
import { StreamHeads } from '../../../src/integrity/stream-heads.js';
import { hashKey } from '../../../src/integrity/log-page.js';
import {
  chainLink,
  chainedLog,
  checkpointsOver,
  copyLog,
  rechainFrom,
  recordFor,
  referenceVerify,
  signingKeys,
  streamName,
  type MutableEntry,
} from './raw-log-fixtures.js';

const { privateKey, publicKey } = signingKeys();
const EVENTS = 3000;
const pristine = chainedLog(EVENTS, 140);
const SIZES = [0, 1, 63, 64, 65, 100, 128, 1000, 2048, 2999, 3000];
const checkpoints = checkpointsOver(pristine, SIZES, privateKey, publicKey);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ledger-verifier-spec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** An events table holding `entries` (records as TEXT, as the store keeps them). */
function writeLog(entries: readonly MutableEntry[], edit?: (db: Database.Database) => void): string {
  const file = join(dir, `events-${files++}.db`);
  const db = new Database(file);
  db.exec('CREATE TABLE events (position INTEGER PRIMARY KEY, record TEXT, prev_hash BLOB, hash BLOB)');
  const insert = db.prepare('INSERT INTO events (position, record, prev_hash, hash) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (const e of entries) insert.run(e.position, e.record.toString('utf8'), e.prevHash, e.hash);
    edit?.(db);
  })();
  db.close();
  return file;
}

function readLog(file: string): MutableEntry[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT position, CAST(record AS BLOB), CAST(prev_hash AS BLOB), CAST(hash AS BLOB) FROM events ORDER BY position').raw().all() as Array<[number, Buffer, Buffer, Buffer]>).map(
      ([position, record, prevHash, hash]) => ({ position, record, prevHash, hash }),
    );
  } finally {
    db.close();
  }
}

/** The three verifiers on the same log; returns the reference report after checking the others agree. */
async function agree(entries: readonly MutableEntry[], signed: readonly SignedCheckpoint[] = checkpoints, pageEvents = 64): Promise<VerifyReport> {
  const expected = referenceVerify(entries, signed, publicKey);
  expect(verifyLedger(entries, signed, publicKey)).toEqual(expected);
  const file = writeLog(entries);
  expect(await verifyLedgerFile(file, signed, publicKey, { pageEvents, workers: 0 })).toEqual(expected);
  rmSync(file);
  return expected;
}

const setRecord = (entry: MutableEntry, record: Record<string, unknown>): void => {
  entry.record = canonicalRecordBytes(record as never);
};
const parsed = (entry: MutableEntry): Record<string, unknown> => JSON.parse(entry.record.toString('utf8')) as Record<string, unknown>;

type Tamper = (log: MutableEntry[], at: number, other: number) => MutableEntry[];
/** Ways an insider with file access changes the log. */
const TAMPERS: Record<string, Tamper> = {
  editData: (log, at) => {
    const text = log[at]!.record.toString('utf8').replace(/SUP-(\d)/, (_m, d: string) => `SUP-${(Number(d) + 1) % 10}`);
    log[at]!.record = Buffer.from(text);
    return log;
  },
  editAndRechain: (log, at) => {
    TAMPERS['editData']!(log, at, at);
    rechainFrom(log, at);
    return log;
  },
  deleteRow: (log, at) => log.filter((_, i) => i !== at),
  swapRows: (log, at, other) => {
    const [a, b] = [log[at]!, log[other]!];
    [a.record, b.record] = [b.record, a.record];
    [a.prevHash, b.prevHash] = [b.prevHash, a.prevHash];
    [a.hash, b.hash] = [b.hash, a.hash];
    return log;
  },
  skipRevision: (log, at) => {
    const r = parsed(log[at]!);
    setRecord(log[at]!, { ...r, streamRevision: (r['streamRevision'] as number) + 1 });
    log[at]!.hash = chainLink(log[at]!.prevHash, log[at]!.record);
    return log;
  },
  skipRevisionNoRehash: (log, at) => {
    const r = parsed(log[at]!);
    setRecord(log[at]!, { ...r, streamRevision: (r['streamRevision'] as number) + 1 });
    return log;
  },
  relink: (log, at) => {
    log[at]!.prevHash = randomBytes(32);
    log[at]!.hash = chainLink(log[at]!.prevHash, log[at]!.record);
    return log;
  },
  notJson: (log, at) => {
    log[at]!.record = Buffer.from('this is not a ledger record');
    return log;
  },
  otherPosition: (log, at) => {
    setRecord(log[at]!, { ...parsed(log[at]!), globalPosition: at + 7 });
    log[at]!.hash = chainLink(log[at]!.prevHash, log[at]!.record);
    return log;
  },
  shortHash: (log, at) => {
    log[at]!.hash = log[at]!.hash.subarray(0, 31);
    return log;
  },
  truncate: (log, at) => log.slice(0, at),
};

describe('verifyLedger and verifyLedgerFile give the reference verifier’s report', () => {
  it('on the intact log, with checkpoints at 0, at page boundaries and at the head', async () => {
    const report = await agree(pristine);
    expect(report).toMatchObject({ intact: true, events: EVENTS, checkpointsVerified: SIZES.length, rootHash: checkpoints.at(-1)!.rootHash });
    expect(report.streams).toBe(140);
  });

  it('on an empty log, and with no checkpoints', async () => {
    expect(await agree([], [])).toMatchObject({ intact: true, events: 0 });
    expect(await agree([], checkpoints.slice(0, 1))).toMatchObject({ intact: true, checkpointsVerified: 1 });
    expect((await agree([], checkpoints.slice(0, 2))).firstBreak).toMatchObject({ kind: 'truncated', position: 0 });
    expect(await agree(pristine, [])).toMatchObject({ intact: true, events: EVENTS });
  });

  it.each(Object.keys(TAMPERS))('%s, at the first event, inside a page and at page edges', async (name) => {
    for (const at of [0, 5, 63, 64, 1500, EVENTS - 1]) {
      const report = await agree(TAMPERS[name]!(copyLog(pristine), at, (at + 901) % EVENTS));
      expect(report.intact).toBe(false);
    }
  });

  it('any one or two tamperings anywhere: the same first break (kind, position, detail) and the same report', async () => {
    const tamper = fc.record({ name: fc.constantFrom(...Object.keys(TAMPERS)), at: fc.nat(EVENTS - 1), other: fc.nat(EVENTS - 1) });
    await fc.assert(
      fc.asyncProperty(fc.array(tamper, { minLength: 1, maxLength: 2 }), fc.constantFrom(2, 16, 64, 256), async (tampers, pageEvents) => {
        let log = copyLog(pristine);
        for (const { name, at, other } of tampers) if (log.length > 0) log = TAMPERS[name]!(log, at % log.length, other % log.length);
        await agree(log, checkpoints, pageEvents);
      }),
      { numRuns: 40 },
    );
  });

  it('checkpoints: a bad signature, another key, a wrong root, one beyond the log', async () => {
    const flipped = checkpoints.map((c, i) => (i === 4 ? { ...c, signature: Buffer.from(Buffer.from(c.signature, 'base64').map((b, k) => (k === 3 ? b ^ 1 : b))).toString('base64') } : c));
    expect((await agree(pristine, flipped)).firstBreak).toMatchObject({ kind: 'checkpoint-signature-invalid', position: SIZES[4]! - 1 });
    const other = signingKeys();
    const foreign = checkpointsOver(pristine, [2048], other.privateKey, other.publicKey);
    expect((await agree(pristine, [...checkpoints.slice(0, 3), ...foreign])).firstBreak).toMatchObject({ kind: 'checkpoint-key-mismatch', position: 2047 });
    const wrongRoot = checkpointsOver(pristine.slice(1), [1000], privateKey, publicKey);
    expect((await agree(pristine, wrongRoot)).firstBreak).toMatchObject({ kind: 'checkpoint-root-mismatch', position: 999 });
    const longer = chainedLog(EVENTS + 10, 140);
    const beyond = checkpointsOver(longer, [EVENTS + 5], privateKey, publicKey);
    expect((await agree(pristine, [...checkpoints, ...beyond])).firstBreak).toMatchObject({ kind: 'truncated', position: EVENTS });
  });

  it('a break in an earlier page wins over one in a later page, whichever stage finds it', async () => {
    // Hash mismatch (event checks) at 70, stream-order (the sequential pass) at 200.
    const log = TAMPERS['skipRevision']!(TAMPERS['editData']!(copyLog(pristine), 70, 0), 200, 0);
    expect((await agree(log)).firstBreak).toMatchObject({ kind: 'hash-mismatch', position: 70 });
    // Stream-order at 70, hash mismatch at 200.
    const reversed = TAMPERS['editData']!(TAMPERS['skipRevision']!(copyLog(pristine), 70, 0), 200, 0);
    expect((await agree(reversed)).firstBreak).toMatchObject({ kind: 'stream-order', position: 70 });
    // At one event, an edited record whose revision also changed is a hash mismatch first.
    expect((await agree(TAMPERS['skipRevisionNoRehash']!(copyLog(pristine), 300, 0))).firstBreak).toMatchObject({ kind: 'hash-mismatch', position: 300 });
  });
});

describe('verifyLedgerFile on damaged tables', () => {
  const verifyFile = (file: string, pageEvents = 64): Promise<VerifyReport> => verifyLedgerFile(file, checkpoints, publicKey, { pageEvents, workers: 0 });

  it('a NULL record, an empty prev_hash, a hash stored as text: the break at that event, as the reference reads the bytes', async () => {
    const nullRecord = writeLog(pristine, (db) => db.prepare('UPDATE events SET record = NULL WHERE position = 90').run());
    expect((await verifyFile(nullRecord)).firstBreak).toMatchObject({ kind: 'unparseable-record', position: 90 });
    const emptyPrev = writeLog(pristine, (db) => db.prepare("UPDATE events SET prev_hash = X'' WHERE position = 91").run());
    expect(await verifyFile(emptyPrev)).toEqual(referenceVerify(readLog(emptyPrev), checkpoints, publicKey));
    const textHash = writeLog(pristine, (db) => db.prepare('UPDATE events SET hash = CAST(hash AS TEXT) WHERE position = 92').run());
    expect(await verifyFile(textHash)).toEqual(referenceVerify(readLog(textHash), checkpoints, publicKey));
  });

  it('rows at a negative position, far beyond the end, or a page with no rows: position-gap where the reference says', async () => {
    for (const edit of [
      'INSERT INTO events (position, record, prev_hash, hash) SELECT -3, record, prev_hash, hash FROM events WHERE position = 5',
      'INSERT INTO events (position, record, prev_hash, hash) SELECT 1000000000000, record, prev_hash, hash FROM events WHERE position = 5',
      'DELETE FROM events WHERE position >= 128 AND position < 1000',
      'DELETE FROM events WHERE position = 0',
    ]) {
      const file = writeLog(pristine, (db) => db.exec(edit));
      const expected = referenceVerify(readLog(file), checkpoints, publicKey);
      expect(expected.intact).toBe(false);
      expect(await verifyFile(file)).toEqual(expected);
    }
  });

  it('rejects a page size that is not a power of two', async () => {
    await expect(verifyLedgerFile(writeLog(pristine.slice(0, 3)), [], publicKey, { pageEvents: 100 })).rejects.toThrow(RangeError);
  });
});

describe('a non-JSON record whose hash was recomputed (the whole chain forged)', () => {
  it('is caught by the Merkle root at the first checkpoint covering it; the reference named it unparseable', async () => {
    const log = copyLog(pristine);
    // The tail a writer produces is intact; the part before globalPosition is not JSON.
    log[700]!.record = Buffer.from(log[700]!.record.toString('utf8').replace('"categories":[', '"categories":[[[,'));
    rechainFrom(log, 700);
    expect(referenceVerify(log, checkpoints, publicKey).firstBreak).toMatchObject({ kind: 'unparseable-record', position: 700 });
    expect(verifyLedger(log, checkpoints, publicKey).firstBreak).toMatchObject({ kind: 'checkpoint-root-mismatch', position: 999 });
  });
});

describe('readRecordFields', () => {
  const read = (text: string): { ok: boolean; key: string; revision: number; position: unknown } => {
    const bytes = Buffer.from(`xx${text}yy`);
    const fields = emptyFields();
    const ok = readRecordFields(bytes, 2, bytes.length - 2, fields);
    return { ok, key: Buffer.from(fields.keyBytes.subarray(fields.keyStart, fields.keyEnd)).toString('latin1'), revision: fields.streamRevision, position: fields.globalPosition };
  };
  const keyOf = (streamId: string): string => (/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(streamId) ? streamId : `\xff${Buffer.from(streamId, 'utf16le').toString('latin1')}`);

  it('reads what JSON.parse reads from every record the writer forms, traps included', () => {
    for (const entry of pristine.slice(0, 400)) {
      const text = entry.record.toString('utf8');
      const json = parseLedgerRecord(entry.record)!;
      expect(read(text)).toEqual({ ok: true, key: keyOf(json.streamId), revision: json.streamRevision, position: json.globalPosition });
    }
  });

  it('agrees with JSON.parse on records in other forms: whitespace, member order, duplicates, escapes, number forms', () => {
    const canonical = pristine[1]!.record.toString('utf8');
    const variants = [
      JSON.stringify(JSON.parse(canonical), null, 2),
      canonical.replace('{', '{"streamId":"subject-earlier","globalPosition":5,'),
      canonical.replace('"streamRevision":', '"streamRevision":1,"streamRevision":'),
      canonical.replace(/"globalPosition":(\d+)/, '"globalPosition":$1.0'),
      canonical.replace(/"globalPosition":(\d+)/, '"globalPosition":1e0'),
      canonical.replace(/"streamId":"([^"]*)"/, '"streamId":"\\u0073$1"'),
      canonical.replace(/"streamRevision":(\d+)/, '"streamRevision":-1'),
      canonical.replace(/"streamRevision":(\d+)/, '"streamRevision":"0"'),
      canonical.replace(/,"globalPosition":\d+/, ''),
      `${canonical} `,
      canonical.slice(0, -1),
      '[1,2]',
      'null',
      '',
    ];
    for (const text of variants) {
      const json = parseLedgerRecord(Buffer.from(text));
      const got = read(text);
      if (!json) expect(got.ok).toBe(false);
      else expect(got).toEqual({ ok: true, key: keyOf(json.streamId), revision: json.streamRevision, position: json.globalPosition });
    }
  });

  it('gives distinct keys to distinct stream ids, the same key to the same id however escaped', () => {
    const ids = [streamName(3), streamName(7), streamName(11), 'a', '\u00ff', 'ÿa', '\u{1f600}', 'x"y', 'x\\y'];
    const keys = ids.map((id) => read(canonicalRecordBytes(recordFor(id, 0, 1)).toString('utf8')).key);
    expect(new Set(keys).size).toBe(ids.length);
    const escaped = canonicalRecordBytes(recordFor('plain-id', 0, 1)).toString('utf8').replace('"plain-id"', '"plain\\u002did"');
    expect(read(escaped).key).toBe('plain-id');
  });
});

describe('StreamHeads', () => {
  it('finds every stream it was given through growth, and none it was not', () => {
    const heads = new StreamHeads(4);
    // Keys of 8 to 28 bytes: held inline in the head record and in the side arena.
    const key = (i: number): Buffer => Buffer.from(`stream-${i}`.padEnd(8 + (i % 21), '-'));
    for (let i = 0; i < 5000; i++) {
      const k = key(i);
      expect(heads.find(k, 0, k.length, hashKey(k, 0, k.length))).toBe(-1);
      const index = heads.add(k, 0, k.length, hashKey(k, 0, k.length), i * 2);
      heads.advance(index, i, new Int32Array(8).fill(i), 0);
    }
    for (let i = 0; i < 5000; i++) {
      const k = key(i);
      const index = heads.find(k, 0, k.length, hashKey(k, 0, k.length));
      expect(index).toBe(i);
      expect(heads.revision(index)).toBe(i);
      expect(heads.headEquals(index, new Int32Array(8).fill(i), 0)).toBe(true);
      expect(heads.headEquals(index, new Int32Array(8).fill(i + 1), 0)).toBe(false);
    }
    expect(heads.streamsBefore(0)).toBe(0);
    expect(heads.streamsBefore(11)).toBe(6);
    expect(heads.streamsBefore(1e9)).toBe(5000);
  });
});
