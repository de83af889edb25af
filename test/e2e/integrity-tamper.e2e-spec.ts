/**
 * Tamper evidence on a REAL ledger: the service builds the log through the HTTP API (batches
 * and single posts, several subjects, personal values, a checkpoint every 10 events), is
 * closed, and each test tampers with its own copy of the data dir the way an insider with
 * file access would — then `ledger verify` (the compiled CLI) must say where and how.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkpointSigningBytes, type SignedCheckpoint } from '../../src/integrity/checkpoint-signer.js';
import { rfc6962Hasher, rootFromLeafHashes } from '../../src/integrity/merkle/index.js';
import { cliPath, copyDataDir, runCli, verifyDataDir } from '../support/integrity-cli.js';
import { accessedBody, startLedger } from '../support/ledger-app.js';

interface Receipt {
  eventId: string;
  streamId: string;
  streamRevision: number;
  globalPosition: number;
}

interface EventRow {
  position: number;
  stream_key: number;
  revision: number;
  event_id: Buffer;
  record: string;
  prev_hash: Buffer;
  hash: Buffer;
  digest: Buffer;
}

const SUBJECTS = ['tamper-ana', 'tamper-ben', 'tamper-chloe', 'tamper-dev'];

/** Opens a copy's SQLite file, runs `work` in a transaction, closes it. */
function withDb<T>(file: string, work: (db: Database.Database) => T): T {
  const db = new Database(file, { fileMustExist: true });
  try {
    return db.transaction(() => work(db))();
  } finally {
    db.close();
  }
}

function readCheckpointRows(dataDir: string): SignedCheckpoint[] {
  const db = new Database(join(dataDir, 'integrity.db'), { readonly: true, fileMustExist: true });
  try {
    return (
      db.prepare('SELECT tree_size, root_hash, timestamp, key_id, signature FROM checkpoints ORDER BY tree_size').all() as Array<{
        tree_size: number;
        root_hash: string;
        timestamp: string;
        key_id: string;
        signature: string;
      }>
    ).map((r) => ({ treeSize: r.tree_size, rootHash: r.root_hash, timestamp: r.timestamp, keyId: r.key_id, signature: r.signature }));
  } finally {
    db.close();
  }
}

/** Rewrites every stored checkpoint: `change` may alter the body; each is then signed with `privateKey`. */
function resignCheckpoints(
  dataDir: string,
  privateKey: KeyObject,
  keyId: string,
  change: (checkpoint: SignedCheckpoint) => Partial<SignedCheckpoint> = () => ({}),
): void {
  const checkpoints = readCheckpointRows(dataDir);
  withDb(join(dataDir, 'integrity.db'), (db) => {
    const update = db.prepare('UPDATE checkpoints SET root_hash = ?, key_id = ?, signature = ? WHERE tree_size = ?');
    for (const original of checkpoints) {
      const body = { treeSize: original.treeSize, rootHash: original.rootHash, timestamp: original.timestamp, keyId, ...change(original) };
      const signature = sign(null, checkpointSigningBytes(body), privateKey).toString('base64');
      update.run(body.rootHash, body.keyId, signature, original.treeSize);
    }
  });
}

/** The key id an outsider computes: first 16 hex digits of SHA-256 over the SPKI DER. */
function keyIdFor(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/**
 * A careful forger: edits one record and recomputes its stream's chain from there (hash,
 * the next links' prevHash, the stream head), so every per-stream check passes.
 * Returns the leaf hashes of the rewritten log, in position order.
 */
function rewriteRecordWithChain(dataDir: string, position: number, edit: (record: string) => string): Uint8Array[] {
  return withDb(join(dataDir, 'events.db'), (db) => {
    const target = db.prepare('SELECT * FROM events WHERE position = ?').get(position) as EventRow;
    const later = db
      .prepare('SELECT * FROM events WHERE stream_key = ? AND revision >= ? ORDER BY revision')
      .all(target.stream_key, target.revision) as EventRow[];
    const update = db.prepare('UPDATE events SET record = ?, prev_hash = ?, hash = ? WHERE position = ?');
    let prev = target.prev_hash;
    for (const row of later) {
      const record = row.position === position ? edit(row.record) : row.record;
      const hash = createHash('sha256').update(prev).update(record, 'utf8').digest();
      update.run(record, prev, hash, row.position);
      prev = hash;
    }
    // A store layout that keeps the head hash in `streams` must be rewritten too; one that keeps
    // heads in memory rebuilds them from the (rewritten) events.
    const columns = db.prepare('PRAGMA table_info(streams)').all() as Array<{ name: string }>;
    if (columns.some((c) => c.name === 'head_hash')) db.prepare('UPDATE streams SET head_hash = ? WHERE stream_key = ?').run(prev, target.stream_key);
    return (db.prepare('SELECT record FROM events ORDER BY position').all() as Array<{ record: string }>).map((r) =>
      rfc6962Hasher.hashLeaf(Buffer.from(r.record, 'utf8')),
    );
  });
}

const changePurpose = (record: string): string => {
  const edited = record.replace('"purpose":"essential.service.operations.support"', '"purpose":"essential.service.operations.suppprt"');
  if (edited === record) throw new Error('the record has no support purpose to change');
  JSON.parse(edited); // still valid JSON
  return edited;
};

describe('ledger verify detects tampering with a real ledger built through the API', () => {
  let pristine: string;
  /** The auditor's copy of the public key, taken before anyone tampers. */
  let auditorKeyDir: string;
  let auditorKey: string;
  let receipts: Receipt[] = [];
  let checkpoints: SignedCheckpoint[] = [];
  let head = 0;
  const copies: string[] = [];

  /** A fresh copy of the untouched data dir for one test. */
  const copy = (): string => {
    const dir = copyDataDir(pristine);
    copies.push(dir);
    return dir;
  };

  beforeAll(async () => {
    cliPath(); // fail fast with a clear message when the CLI is not built
    const ledger = await startLedger({ env: { LEDGER_CHECKPOINT_EVERY: '10', LEDGER_CHECKPOINT_SECONDS: '0' } });
    pristine = ledger.dataDir;
    try {
      const emitter = await ledger.key('emitter');
      let n = 0;
      const body = () => {
        const subject = SUBJECTS[n % SUBJECTS.length]!;
        const withPii = n % 3 === 0 ? { pii: { email: `${subject}@example.com`, phone: `+49 30 ${1000 + n}` } } : {};
        n++;
        return accessedBody(subject, { ...withPii, data: { ...(accessedBody(subject).data as object), ticketRef: `SUP-${2000 + n}` } });
      };
      const batch = async (size: number) => {
        const res = await ledger
          .http()
          .post('/v1/events/batch')
          .set('authorization', `Bearer ${emitter}`)
          .send({ events: Array.from({ length: size }, body) });
        expect(res.status).toBe(201);
        receipts.push(...(res.body as { receipts: Receipt[] }).receipts);
      };
      const singles = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const res = await ledger.http().post('/v1/events').set('authorization', `Bearer ${emitter}`).send(body());
          expect(res.status).toBe(201);
          receipts.push(res.body as Receipt);
        }
      };
      await batch(20);
      await singles(12);
      await batch(15);
      await singles(8);
      await batch(6);
      const made = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
      expect(made.status).toBe(201);
      head = receipts.length;
      expect(made.body.treeSize).toBe(head);
    } finally {
      await ledger.close();
    }
    receipts = receipts.sort((a, b) => a.globalPosition - b.globalPosition);
    expect(receipts.map((r) => r.globalPosition)).toEqual(Array.from({ length: head }, (_, i) => i));
    checkpoints = readCheckpointRows(pristine);
    auditorKeyDir = mkdtempSync(join(tmpdir(), 'ledger-auditor-'));
    auditorKey = join(auditorKeyDir, 'ledger-public-key.pem');
    copyFileSync(join(pristine, 'checkpoint-public-key.pem'), auditorKey);
  }, 60_000);

  afterAll(() => {
    for (const dir of [...copies, pristine, auditorKeyDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('built a ledger of 61 events in 4 streams with several checkpoints, the last one at the head', () => {
    expect(head).toBe(61);
    expect(new Set(receipts.map((r) => r.streamId)).size).toBe(SUBJECTS.length);
    expect(checkpoints.length).toBeGreaterThanOrEqual(4);
    expect(checkpoints.at(-1)!.treeSize).toBe(head);
  });

  it('an untouched ledger verifies: exit 0, intact, every checkpoint verified, events = the log head', () => {
    const { status, report } = verifyDataDir(copy());
    expect(status).toBe(0);
    expect(report).toMatchObject({
      intact: true,
      events: head,
      streams: SUBJECTS.length,
      firstBreak: null,
      checkpointsVerified: checkpoints.length,
      rootHash: checkpoints.at(-1)!.rootHash,
    });
    expect(report.checkpointsVerified).toBeGreaterThanOrEqual(1);
    // ...also with the auditor's own key, and in the human-readable form.
    expect(verifyDataDir(copy(), ['--public-key', auditorKey]).report.intact).toBe(true);
    const human = runCli(['verify', '--data-dir', copy()]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^intact: ${head} events in ${SUBJECTS.length} streams`));
  });

  it("flipping one letter inside an event's data: hash-mismatch at that event's position", () => {
    const dir = copy();
    const position = 23;
    withDb(join(dir, 'events.db'), (db) => {
      const { record } = db.prepare('SELECT record FROM events WHERE position = ?').get(position) as { record: string };
      expect(db.prepare('UPDATE events SET record = ? WHERE position = ?').run(changePurpose(record), position).changes).toBe(1);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.intact).toBe(false);
    expect(report.firstBreak).toMatchObject({ kind: 'hash-mismatch', position });
    const human = runCli(['verify', '--data-dir', dir]);
    expect(human.status).toBe(1);
    expect(human.stdout).toContain(`TAMPERED at position ${position}: hash-mismatch`);
  });

  it('flipping one byte of a personal value ciphertext: hash-mismatch at that position', () => {
    const dir = copy();
    const position = 12; // n % 3 === 0: carries encrypted personal values
    withDb(join(dir, 'events.db'), (db) => {
      const { record } = db.prepare('SELECT record FROM events WHERE position = ?').get(position) as { record: string };
      const parsed = JSON.parse(record) as { pii?: string };
      expect(typeof parsed.pii).toBe('string');
      const pii = parsed.pii!;
      const i = Math.floor(pii.length / 2);
      const flipped = pii.slice(0, i) + (pii[i] === 'A' ? 'B' : 'A') + pii.slice(i + 1);
      db.prepare('UPDATE events SET record = ? WHERE position = ?').run(record.replace(pii, flipped), position);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'hash-mismatch', position });
  });

  it('changing one byte of events.db on disk (not through SQL) inside a record: hash-mismatch at that position', () => {
    const dir = copy();
    const position = 30;
    const file = join(dir, 'events.db');
    const bytes = readFileSync(file);
    const needle = Buffer.from(`"ticketRef":"SUP-${2001 + position}"`, 'utf8');
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    expect(bytes.indexOf(needle, at + 1)).toBe(-1); // exactly one copy on disk: this event's record
    bytes[at + needle.length - 3] = bytes[at + needle.length - 3]! ^ 0x01; // ...SUP-2031" -> ...SUP-2021"
    writeFileSync(file, bytes);
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'hash-mismatch', position });
  });

  it('deleting a row: position-gap at that position', () => {
    const dir = copy();
    const position = 31;
    withDb(join(dir, 'events.db'), (db) => {
      expect(db.prepare('DELETE FROM events WHERE position = ?').run(position).changes).toBe(1);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'position-gap', position });
    expect(report.events).toBe(position);
  });

  it('swapping two events between positions: position-mismatch at the lower position', () => {
    const dir = copy();
    const [low, high] = [17, 40];
    withDb(join(dir, 'events.db'), (db) => {
      const a = db.prepare('SELECT * FROM events WHERE position = ?').get(low) as EventRow;
      const b = db.prepare('SELECT * FROM events WHERE position = ?').get(high) as EventRow;
      db.prepare('DELETE FROM events WHERE position IN (?, ?)').run(low, high);
      const insert = db.prepare(
        'INSERT INTO events (position, stream_key, revision, event_id, record, prev_hash, hash, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run(low, b.stream_key, b.revision, b.event_id, b.record, b.prev_hash, b.hash, b.digest);
      insert.run(high, a.stream_key, a.revision, a.event_id, a.record, a.prev_hash, a.hash, a.digest);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'position-mismatch', position: low });
  });

  it('truncating the tail after a checkpoint: truncated at the new end position', () => {
    const dir = copy();
    const latest = checkpoints.at(-1)!;
    const end = latest.treeSize - 4;
    withDb(join(dir, 'events.db'), (db) => {
      expect(db.prepare('DELETE FROM events WHERE position >= ?').run(end).changes).toBe(head - end);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'truncated', position: end });
    expect(report.events).toBe(end);
    expect(report.checkpointsVerified).toBe(checkpoints.filter((c) => c.treeSize <= end).length);
  });

  it('editing a record and recomputing its whole stream chain: checkpoint-root-mismatch at the first checkpoint covering it', () => {
    const dir = copy();
    const position = 23;
    rewriteRecordWithChain(dir, position, changePurpose);
    const covering = checkpoints.find((c) => c.treeSize > position)!;
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'checkpoint-root-mismatch', position: covering.treeSize - 1 });
  });

  it('one byte of a stored checkpoint signature changed: checkpoint-signature-invalid at that checkpoint', () => {
    const dir = copy();
    const forged = checkpoints[1]!;
    withDb(join(dir, 'integrity.db'), (db) => {
      const signature = Buffer.from(forged.signature, 'base64');
      signature[10] = signature[10]! ^ 0x04;
      db.prepare('UPDATE checkpoints SET signature = ? WHERE tree_size = ?').run(signature.toString('base64'), forged.treeSize);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'checkpoint-signature-invalid', position: forged.treeSize - 1 });
    expect(report.checkpointsVerified).toBe(1);
  });

  it("a checkpoint's root replaced (signature left as it was): checkpoint-signature-invalid", () => {
    const dir = copy();
    const forged = checkpoints[2]!;
    withDb(join(dir, 'integrity.db'), (db) => {
      db.prepare('UPDATE checkpoints SET root_hash = ? WHERE tree_size = ?').run(checkpoints[1]!.rootHash, forged.treeSize);
    });
    const { status, report } = verifyDataDir(dir);
    expect(status).toBe(1);
    expect(report.firstBreak).toMatchObject({ kind: 'checkpoint-signature-invalid', position: forged.treeSize - 1 });
  });

  describe('an attacker with their own Ed25519 key', () => {
    const attacker = generateKeyPairSync('ed25519');
    const attackerPem = attacker.publicKey.export({ type: 'spki', format: 'pem' }).toString();

    it("forged root re-signed with the attacker's key and the data dir's public key replaced: root-mismatch with the dir's key, key-mismatch with the auditor's", () => {
      const dir = copy();
      const forged = checkpoints[2]!;
      const otherRoot = createHash('sha256').update('not the log').digest('base64');
      resignCheckpoints(dir, attacker.privateKey, keyIdFor(attacker.publicKey), (c) => (c.treeSize === forged.treeSize ? { rootHash: otherRoot } : {}));
      writeFileSync(join(dir, 'checkpoint-public-key.pem'), attackerPem);

      const withDirKey = verifyDataDir(dir);
      expect(withDirKey.status).toBe(1);
      expect(withDirKey.report.firstBreak).toMatchObject({ kind: 'checkpoint-root-mismatch', position: forged.treeSize - 1 });

      const withAuditorKey = verifyDataDir(dir, ['--public-key', auditorKey]);
      expect(withAuditorKey.status).toBe(1);
      expect(withAuditorKey.report.firstBreak).toMatchObject({ kind: 'checkpoint-key-mismatch', position: checkpoints[0]!.treeSize - 1 });
      expect(withAuditorKey.report.checkpointsVerified).toBe(0);
    });

    it("a complete rewrite (record, chain, every root re-signed): only the auditor's own key catches it", () => {
      const dir = copy();
      const leaves = rewriteRecordWithChain(dir, 23, changePurpose);
      resignCheckpoints(dir, attacker.privateKey, keyIdFor(attacker.publicKey), (c) => ({
        rootHash: Buffer.from(rootFromLeafHashes(leaves.slice(0, c.treeSize))).toString('base64'),
      }));
      writeFileSync(join(dir, 'checkpoint-public-key.pem'), attackerPem);

      // The forgery is internally consistent: the key shipped in the data dir proves nothing.
      const withDirKey = verifyDataDir(dir);
      expect(withDirKey.report).toMatchObject({ intact: true, events: head });
      expect(withDirKey.report.rootHash).not.toBe(checkpoints.at(-1)!.rootHash);

      const withAuditorKey = verifyDataDir(dir, ['--public-key', auditorKey]);
      expect(withAuditorKey.status).toBe(1);
      expect(withAuditorKey.report.firstBreak).toMatchObject({ kind: 'checkpoint-key-mismatch', position: checkpoints[0]!.treeSize - 1 });
    });

    it("checkpoints signed by the attacker but claiming the ledger's keyId: checkpoint-signature-invalid with the ledger's key", () => {
      const dir = copy();
      resignCheckpoints(dir, attacker.privateKey, checkpoints[0]!.keyId);
      const { status, report } = verifyDataDir(dir, ['--public-key', auditorKey]);
      expect(status).toBe(1);
      expect(report.firstBreak).toMatchObject({ kind: 'checkpoint-signature-invalid', position: checkpoints[0]!.treeSize - 1 });
    });

    it("the data dir's public key replaced, nothing re-signed: checkpoint-key-mismatch with the dir's key; the auditor's key still finds the log intact", () => {
      const dir = copy();
      writeFileSync(join(dir, 'checkpoint-public-key.pem'), attackerPem);
      expect(readFileSync(join(dir, 'checkpoint-public-key.pem'), 'utf8')).not.toBe(readFileSync(auditorKey, 'utf8'));

      const withDirKey = verifyDataDir(dir);
      expect(withDirKey.status).toBe(1);
      expect(withDirKey.report.firstBreak).toMatchObject({ kind: 'checkpoint-key-mismatch', position: checkpoints[0]!.treeSize - 1 });

      const withAuditorKey = verifyDataDir(dir, ['--public-key', auditorKey]);
      expect(withAuditorKey.status).toBe(0);
      expect(withAuditorKey.report.intact).toBe(true);
    });
  });
});
