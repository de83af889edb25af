import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { SUBJECT_KEYRING, type SubjectKeyring } from '../../src/crypto/subject-keyring.js';
import { EVENT_STORE, type EventStore } from '../../src/event-store/event-store.port.js';
import { subjectStream } from '../../src/ledger/domain/streams.js';
import type { PersonalValuesEntry } from '../../src/ledger/queries/subject-data/subject-data.queries.js';
import { exampleEvent, exampleIds } from '../support/example-events.js';
import { ledgerCli } from '../support/cli.js';
import { startLedger, type TestLedger } from '../support/ledger-app.js';
import { filesUnder } from '../support/ledger-http.js';
import { advance, collectedBody, expectStatus, freshSubject, receive, record, roleKey, subjectRead, timelineOf } from '../support/rights-http.js';

/*
 * The residue test (issue 4): after a subject's key is shredded, no file under the data dir —
 * log, WAL, projections, key store, their journals — holds the plaintext of that subject's
 * personal values, its data key, or its wrapped key; and `ledger verify` still passes.
 * Run on a real data dir, once through the API (erasure request fulfilled) and once through
 * `ledger shred` on a closed service. Before shredding, the test checks that it can see what
 * it looks for (ciphertext in the log, wrapped key in keys.db), so it fails for the right reason.
 */

const CANARY = { email: 'residue-canary-7f3a@example.org', name: 'Canary "Residue" Zoë' };
const CONTROL = { email: 'control-canary-91bd@example.org', name: 'Control Keepme' };
/** 8 random bytes match by chance in a few MB of files with probability ~1e-12. */
const WINDOW = 8;

/** Every way a value could sit in a file: UTF-8 / UTF-16 (filesContaining), JSON-escaped, \u-escaped. */
function textForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const ascii = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [...new Set([value, json, ascii])];
}

function needles(values: Record<string, string>): Buffer[] {
  const texts = Object.values(values).flatMap(textForms);
  texts.push(values['email']!.split('@')[0]!);
  return [...new Set(texts)].flatMap((t) => [Buffer.from(t, 'utf8'), Buffer.from(t, 'utf16le')]);
}

function keyForms(key: Buffer): Buffer[] {
  return [key, Buffer.from(key.toString('hex')), Buffer.from(key.toString('base64')), Buffer.from(key.toString('base64url'))];
}

/** Files under `dir` (relative names) holding any of the byte patterns. */
function filesHolding(dir: string, patterns: readonly Buffer[]): string[] {
  return filesUnder(dir)
    .filter((file) => {
      const bytes = readFileSync(file);
      return patterns.some((p) => bytes.includes(p));
    })
    .map((file) => relative(dir, file));
}

function wrappedKeyOf(dataDir: string, subjectId: string): Buffer | null {
  const db = new Database(join(dataDir, 'keys.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT wrapped_key FROM subject_keys WHERE subject_id = ?').get(subjectId) as { wrapped_key: Buffer | null } | undefined;
    return row?.wrapped_key ? Buffer.from(row.wrapped_key) : null;
  } finally {
    db.close();
  }
}

interface Evidence {
  readonly wrapped: Buffer;
  readonly raw: Buffer;
  readonly ciphertexts: string[];
}

/** Records personal values for the subject and collects what must disappear. */
async function seed(ledger: TestLedger, emitter: string, subjectId: string, values: Record<string, string>): Promise<Evidence> {
  await record(ledger, emitter, collectedBody(subjectId, { pii: values }));
  await record(ledger, emitter, { ...exampleEvent('PersonalDataAccessed', { ids: { ...exampleIds('residue'), subjectId } }), pii: { email: values['email']! } });
  const keyring = ledger.app.get<SubjectKeyring>(SUBJECT_KEYRING);
  const key = await keyring.dataKey(subjectId, { create: false });
  if (!key) throw new Error(`no data key for ${subjectId}`);
  // A copy: shredding zero-fills the keyring's own buffer.
  const raw = Buffer.from(key);
  const wrapped = wrappedKeyOf(ledger.dataDir, subjectId);
  if (!wrapped) throw new Error(`no wrapped key row for ${subjectId}`);
  const stored = await ledger.app.get<EventStore>(EVENT_STORE).readStream(subjectStream(subjectId));
  const ciphertexts = stored.flatMap((e) => (e.pii === undefined ? [] : [e.pii]));
  return { wrapped, raw, ciphertexts };
}

/** Every `size`-byte window of `bytes`: a freed page keeps fragments of a row, not always the whole value. */
function windows(bytes: Buffer, size = WINDOW): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + size <= bytes.length; i++) out.push(bytes.subarray(i, i + size));
  return out;
}

/**
 * The raw key in every encoding, and every 8-byte fragment of the raw and the wrapped key
 * (nonce | encrypted key | tag). Without secure_delete a shredded row leaves a 16-byte run of
 * the wrapped key in keys.db; with it, nothing longer than a chance match of 2-3 bytes.
 */
function keyPatterns(evidence: Evidence): Buffer[] {
  return [...keyForms(evidence.raw), ...windows(evidence.raw), ...windows(evidence.wrapped)];
}

function expectSeenBeforeShredding(dataDir: string, evidence: Evidence, values: Record<string, string>): void {
  expect(evidence.ciphertexts).toHaveLength(2);
  for (const c of evidence.ciphertexts) {
    expect(c).toMatch(/^v1\./);
    expect(filesHolding(dataDir, [Buffer.from(c, 'utf8')]).filter((f) => basename(f).startsWith('events.db')).length).toBeGreaterThan(0);
  }
  expect(filesHolding(dataDir, needles(values))).toEqual([]);
  expect(filesHolding(dataDir, [evidence.wrapped])).toEqual(['keys.db']);
  expect(filesHolding(dataDir, keyForms(evidence.raw))).toEqual([]);
}

function expectNoResidue(dataDir: string, evidence: Evidence, values: Record<string, string>): void {
  const files = filesUnder(dataDir).map((f) => relative(dataDir, f));
  expect(files).toEqual(expect.arrayContaining(['events.db', 'keys.db', 'projections.db']));
  expect({ plaintext: filesHolding(dataDir, needles(values)), key: filesHolding(dataDir, keyPatterns(evidence)) }).toEqual({ plaintext: [], key: [] });
  // The ciphertext stays in the log: the chain covers it, and nobody can read it any more.
  expect(filesHolding(dataDir, evidence.ciphertexts.map((c) => Buffer.from(c, 'utf8'))).some((f) => basename(f).startsWith('events.db'))).toBe(true);
}

function expectVerifyIntact(dataDir: string): void {
  const run = ledgerCli(['verify', '--data-dir', dataDir]);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  expect(run.stdout).toMatch(/^intact: \d+ events in \d+ streams/);
}

describe('erasure leaves no residue in the data dir', () => {
  describe('through the API: an erasure request fulfilled on the running service', () => {
    let ledger: TestLedger;
    let dataDir: string;
    let emitter: string;
    let dpo: string;
    // Short ids, as customer ids are: the shorter the id, the more of a freed row's key bytes
    // survive in place when secure_delete is off — the test must see them.
    const subjectId = 'cust-7f3a';
    const controlId = freshSubject('control');
    let evidence: Evidence;
    let control: Evidence;

    beforeAll(async () => {
      ledger = await startLedger();
      dataDir = ledger.dataDir;
      [emitter, dpo] = await Promise.all([roleKey(ledger, 'emitter'), roleKey(ledger, 'dpo')]);
      evidence = await seed(ledger, emitter, subjectId, CANARY);
      control = await seed(ledger, emitter, controlId, CONTROL);
    });
    afterAll(async () => ledger.destroy());

    it('before shredding: the log holds the ciphertext, keys.db the wrapped key, and no file the plaintext or the raw key', async () => {
      // A decrypting read must not leave the values anywhere either.
      const values = expectStatus(await subjectRead(ledger, dpo, subjectId, 'personal-values'), 200).body as { entries: PersonalValuesEntry[] };
      expect(values.entries.map((e) => e.values)).toEqual([CANARY, { email: CANARY.email }]);
      expectSeenBeforeShredding(dataDir, evidence, CANARY);
    });

    it('after the erasure request is fulfilled and the service closed: no plaintext, no key, no wrapped key in any file; verify passes', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'erasure', channel: 'email' });
      await advance(ledger, dpo, requestId, 'verify', { method: 'document_check' });
      await advance(ledger, dpo, requestId, 'fulfil');
      await ledger.close();

      expect(existsSync(join(dataDir, 'keys.db-journal'))).toBe(false);
      expectNoResidue(dataDir, evidence, CANARY);
      // Only this subject's key went: the other subject's wrapped key is still there.
      expect(filesHolding(dataDir, [control.wrapped])).toEqual(['keys.db']);
      expectVerifyIntact(dataDir);
    }, 60_000);

    it('after a restart on the same data dir: the subject stays erased, the other subject stays readable', async () => {
      ledger = await startLedger({ dataDir });
      dpo = await roleKey(ledger, 'dpo');
      const erased = expectStatus(await subjectRead(ledger, dpo, subjectId, 'personal-values'), 200).body as { entries: PersonalValuesEntry[] };
      expect(erased.entries.map((e) => [e.status, e.values])).toEqual([
        ['erased', null],
        ['erased', null],
      ]);
      const kept = expectStatus(await subjectRead(ledger, dpo, controlId, 'personal-values'), 200).body as { entries: PersonalValuesEntry[] };
      expect(kept.entries.map((e) => e.values)).toEqual([CONTROL, { email: CONTROL.email }]);
      const timeline = await timelineOf(ledger, dpo, subjectId);
      expect(timeline.filter((e) => e.personalValues !== 'none').map((e) => e.personalValues)).toEqual(['erased', 'erased']);
    }, 60_000);
  });

  describe('through the CLI: `ledger shred SUBJECT` on a closed service', () => {
    let ledger: TestLedger;
    let dataDir: string;
    const subjectId = 'cust-7f3b';
    let evidence: Evidence;
    let control: Evidence;

    beforeAll(async () => {
      ledger = await startLedger();
      dataDir = ledger.dataDir;
      const emitter = await roleKey(ledger, 'emitter');
      control = await seed(ledger, emitter, freshSubject('control-before'), CONTROL);
      evidence = await seed(ledger, emitter, subjectId, CANARY);
      await seed(ledger, emitter, freshSubject('control-after'), CONTROL);
      expectSeenBeforeShredding(dataDir, evidence, CANARY);
      await ledger.close();
    });
    afterAll(async () => ledger.destroy());

    it('shreds, then no file holds the plaintext, the key or the wrapped key; verify passes', () => {
      const run = ledgerCli(['shred', subjectId, '--data-dir', dataDir]);
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.stdout).toContain(`shredded the key of ${subjectId}`);
      expect(existsSync(join(dataDir, 'keys.db-journal'))).toBe(false);
      expectNoResidue(dataDir, evidence, CANARY);
      expect(filesHolding(dataDir, [control.wrapped])).toEqual(['keys.db']);
      expectVerifyIntact(dataDir);
    }, 60_000);
  });
});
