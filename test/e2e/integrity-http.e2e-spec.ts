/**
 * Tamper evidence over HTTP, checked the way an outsider would: signed checkpoints verified
 * with nothing but the public key the ledger publishes, RFC 6962 proofs verified with the
 * pure verifiers, leaf hashes recomputed from the stored records.
 */
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto';
import { rmSync } from 'node:fs';
import { EVENT_STORE, type EventStore, type StoredEvent } from '../../src/event-store/event-store.port.js';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import { checkpointSigningBytes, type SignedCheckpoint } from '../../src/integrity/checkpoint-signer.js';
import { leafHashOf, MerkleLog } from '../../src/integrity/merkle-log.js';
import { rfc6962Hasher, rootFromLeafHashes, toBase64, verifyConsistency, verifyInclusion } from '../../src/integrity/merkle/index.js';
import { verifyDataDir } from '../support/integrity-cli.js';
import { accessedBody, startLedger, type TestLedger } from '../support/ledger-app.js';

interface InclusionDoc {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[];
}
interface ConsistencyDoc {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
}
interface Receipt {
  eventId: string;
  globalPosition: number;
}

const b64 = (text: string): Buffer => Buffer.from(text, 'base64');

function inclusionVerifies(doc: InclusionDoc, root: string): boolean {
  return verifyInclusion(rfc6962Hasher, doc.leafIdx, doc.treeSize, b64(doc.leafHash), doc.proof.map(b64), b64(root)).ok;
}

function consistencyVerifies(doc: ConsistencyDoc, root1: string, root2: string): boolean {
  return verifyConsistency(rfc6962Hasher, doc.size1, doc.size2, doc.proof.map(b64), b64(root1), b64(root2)).ok;
}

/** Checks a checkpoint's Ed25519 signature with a PEM public key, as an outsider would (node:crypto). */
function signatureVerifies(checkpoint: SignedCheckpoint, publicKeyPem: string): boolean {
  return verify(null, checkpointSigningBytes(checkpoint), createPublicKey(publicKeyPem), b64(checkpoint.signature));
}

/** Small HTTP helpers around one ledger. */
function client(ledger: TestLedger) {
  return {
    get: (url: string, key: string | null) => {
      const req = ledger.http().get(url);
      return key === null ? req : req.set('authorization', `Bearer ${key}`);
    },
    batch: async (key: string, events: unknown[]): Promise<Receipt[]> => {
      const res = await ledger.http().post('/v1/events/batch').set('authorization', `Bearer ${key}`).send({ events });
      if (res.status !== 201) throw new Error(`batch refused: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { receipts: Receipt[] }).receipts;
    },
    one: async (key: string, event: object): Promise<Receipt> => {
      const res = await ledger.http().post('/v1/events').set('authorization', `Bearer ${key}`).send(event);
      if (res.status !== 201) throw new Error(`event refused: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as Receipt;
    },
    checkpointNow: async (): Promise<SignedCheckpoint> => {
      const res = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
      if (res.status !== 201) throw new Error(`checkpoint refused: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as SignedCheckpoint;
    },
  };
}

const subjects = (prefix: string, n: number, count = 3) =>
  Array.from({ length: n }, (_, i) => accessedBody(`${prefix}-${i % count}`, i % 4 === 0 ? { pii: { email: `${prefix}-${i}@example.com` } } : {}));

const fieldsOf = (body: unknown): string[] => ((body as { errors?: Array<{ field: string }> }).errors ?? []).map((e) => e.field);

describe('integrity over HTTP', () => {
  let ledger: TestLedger;
  let http: ReturnType<typeof client>;
  let emitter: string;
  let auditor: string;
  let store: EventStore;

  beforeAll(async () => {
    ledger = await startLedger({ env: { LEDGER_CHECKPOINT_EVERY: '10', LEDGER_CHECKPOINT_SECONDS: '0' } });
    http = client(ledger);
    emitter = await ledger.key('emitter');
    auditor = await ledger.key('auditor');
    store = ledger.app.get<EventStore>(EVENT_STORE);
    await http.batch(emitter, subjects('http', 8));
    for (const e of subjects('http', 5)) await http.one(emitter, e);
    await http.batch(emitter, subjects('http', 14));
    await http.checkpointNow();
  }, 30_000);
  afterAll(async () => ledger?.destroy());

  it('GET /v1/integrity/checkpoint: {treeSize, rootHash, timestamp, keyId, signature}, signed by the key /v1/integrity/public-key publishes', async () => {
    const res = await http.get('/v1/integrity/checkpoint', auditor);
    expect(res.status).toBe(200);
    const checkpoint = res.body as SignedCheckpoint;
    expect(Object.keys(checkpoint).sort()).toEqual(['keyId', 'rootHash', 'signature', 'timestamp', 'treeSize']);
    expect(checkpoint.treeSize).toBeGreaterThanOrEqual(27);
    expect(b64(checkpoint.rootHash)).toHaveLength(32);
    expect(toBase64(b64(checkpoint.rootHash))).toBe(checkpoint.rootHash);
    expect(new Date(checkpoint.timestamp).toISOString()).toBe(checkpoint.timestamp);
    expect(b64(checkpoint.signature)).toHaveLength(64);

    const key = await http.get('/v1/integrity/public-key', null);
    expect(key.status).toBe(200);
    expect(key.body).toEqual({ algorithm: 'Ed25519', keyId: checkpoint.keyId, publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY') });
    const publicKey = createPublicKey(key.body.publicKeyPem as string);
    expect(publicKey.asymmetricKeyType).toBe('ed25519');
    expect(createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)).toBe(checkpoint.keyId);

    expect(signatureVerifies(checkpoint, key.body.publicKeyPem as string)).toBe(true);
    // ...and the signature covers every field.
    expect(signatureVerifies({ ...checkpoint, treeSize: checkpoint.treeSize + 1 }, key.body.publicKeyPem as string)).toBe(false);
    expect(signatureVerifies({ ...checkpoint, timestamp: '2020-01-01T00:00:00.000Z' }, key.body.publicKeyPem as string)).toBe(false);
  });

  it('an inclusion proof for an event just appended verifies against the checkpoint root (read-your-writes, no sleep)', async () => {
    const receipt = await http.one(emitter, accessedBody('http-fresh', { pii: { email: 'fresh@example.com' } }));
    const res = await http.get(`/v1/integrity/proofs/inclusion?eventId=${receipt.eventId}`, auditor);
    expect(res.status).toBe(200);
    const proof = res.body as InclusionDoc;
    expect(Object.keys(proof).sort()).toEqual(['leafHash', 'leafIdx', 'proof', 'root', 'treeSize']);
    expect(proof.leafIdx).toBe(receipt.globalPosition);
    expect(proof.treeSize).toBeGreaterThan(receipt.globalPosition);

    const checkpoint = (await http.get('/v1/integrity/checkpoint', auditor)).body as SignedCheckpoint;
    const publicKeyPem = (await http.get('/v1/integrity/public-key', null)).body.publicKeyPem as string;
    expect(signatureVerifies(checkpoint, publicKeyPem)).toBe(true);
    expect({ treeSize: proof.treeSize, root: proof.root }).toEqual({ treeSize: checkpoint.treeSize, root: checkpoint.rootHash });
    expect(inclusionVerifies(proof, checkpoint.rootHash)).toBe(true);

    const stored = (await store.findByEventId(receipt.eventId))!;
    expect(proof.leafHash).toBe(toBase64(leafHashOf(stored)));
  });

  it('right after a batch is acknowledged, proofs up to the new head are served (read-your-writes, no sleep)', async () => {
    const before = await http.checkpointNow();
    const receipts = await http.batch(emitter, subjects('http-ryw', 40));
    const headSize = receipts.at(-1)!.globalPosition + 1;
    const [consistency, inclusion] = await Promise.all([
      http.get(`/v1/integrity/proofs/consistency?from=${before.treeSize}&to=${headSize}`, auditor),
      http.get(`/v1/integrity/proofs/inclusion?eventId=${receipts[0]!.eventId}&treeSize=${headSize}`, auditor),
    ]);
    expect({ consistency: consistency.status, inclusion: inclusion.status }).toEqual({ consistency: 200, inclusion: 200 });
    const doc = consistency.body as ConsistencyDoc;
    expect(doc.root1).toBe(before.rootHash);
    expect(consistencyVerifies(doc, before.rootHash, doc.root2)).toBe(true);
    expect(inclusionVerifies(inclusion.body as InclusionDoc, doc.root2)).toBe(true);
  });

  it('an inclusion proof for EVERY event at the latest checkpoint size verifies, with the leaf hash of the stored record', async () => {
    const checkpoint = await http.checkpointNow();
    const events = await store.readAll({ fromPosition: 0, maxCount: checkpoint.treeSize });
    expect(events).toHaveLength(checkpoint.treeSize);
    const leaves = events.map(leafHashOf);
    expect(toBase64(rootFromLeafHashes(leaves))).toBe(checkpoint.rootHash);

    const failures: string[] = [];
    for (const event of events) {
      const res = await http.get(`/v1/integrity/proofs/inclusion?eventId=${event.eventId}&treeSize=${checkpoint.treeSize}`, emitter);
      const proof = res.body as InclusionDoc;
      const ok =
        res.status === 200 &&
        proof.leafIdx === event.globalPosition &&
        proof.treeSize === checkpoint.treeSize &&
        proof.root === checkpoint.rootHash &&
        proof.leafHash === toBase64(leaves[event.globalPosition]!) &&
        inclusionVerifies(proof, checkpoint.rootHash);
      if (!ok) failures.push(`position ${event.globalPosition}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(failures).toEqual([]);
  });

  it('consistency proofs between successive stored checkpoints verify against their signed roots', async () => {
    await http.batch(emitter, subjects('http-cons', 23));
    await http.checkpointNow();
    const checkpoints = ledger.app.get(MerkleLog).checkpoints();
    expect(checkpoints.length).toBeGreaterThanOrEqual(4);
    const failures: string[] = [];
    for (let i = 1; i < checkpoints.length; i++) {
      const [a, b] = [checkpoints[i - 1]!, checkpoints[i]!];
      const res = await http.get(`/v1/integrity/proofs/consistency?from=${a.treeSize}&to=${b.treeSize}`, auditor);
      const doc = res.body as ConsistencyDoc;
      const ok =
        res.status === 200 &&
        doc.size1 === a.treeSize &&
        doc.size2 === b.treeSize &&
        doc.root1 === a.rootHash &&
        doc.root2 === b.rootHash &&
        consistencyVerifies(doc, a.rootHash, b.rootHash);
      if (!ok) failures.push(`${a.treeSize} -> ${b.treeSize}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(failures).toEqual([]);
    // The first checkpoint extends the empty tree, and a checkpoint is consistent with itself.
    const last = checkpoints.at(-1)!;
    const fromEmpty = await http.get(`/v1/integrity/proofs/consistency?from=0&to=${last.treeSize}`, auditor);
    expect(fromEmpty.status).toBe(200);
    expect(consistencyVerifies(fromEmpty.body as ConsistencyDoc, toBase64(rfc6962Hasher.emptyRoot()), last.rootHash)).toBe(true);
    const same = await http.get(`/v1/integrity/proofs/consistency?from=${last.treeSize}&to=${last.treeSize}`, auditor);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ root1: last.rootHash, root2: last.rootHash, proof: [] });
  });

  it('ledger verify runs beside the live service (read-only) and finds its log intact', async () => {
    const checkpoint = await http.checkpointNow();
    const { status, report } = verifyDataDir(ledger.dataDir);
    expect(status).toBe(0);
    expect(report.intact).toBe(true);
    expect(report.events).toBeGreaterThanOrEqual(checkpoint.treeSize);
    expect(report.checkpointsVerified).toBe(ledger.app.get(MerkleLog).checkpoints().length);
    // The service is still writing.
    expect((await http.one(emitter, accessedBody('http-after-verify'))).globalPosition).toBe(await store.headPosition() - 1);
  });

  describe('refused queries name the field', () => {
    let receipt: Receipt;
    beforeAll(async () => {
      receipt = await http.one(emitter, accessedBody('http-errors'));
    });

    it('treeSize larger than the log → 400 naming treeSize', async () => {
      const res = await http.get(`/v1/integrity/proofs/inclusion?eventId=${receipt.eventId}&treeSize=1000000`, auditor);
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toEqual(['treeSize']);
    });

    it('treeSize that does not include the event, or is not a number → 400 naming treeSize', async () => {
      const notIncluded = await http.get(`/v1/integrity/proofs/inclusion?eventId=${receipt.eventId}&treeSize=${receipt.globalPosition}`, auditor);
      const notANumber = await http.get(`/v1/integrity/proofs/inclusion?eventId=${receipt.eventId}&treeSize=ten`, auditor);
      expect([notIncluded.status, notANumber.status]).toEqual([400, 400]);
      expect([fieldsOf(notIncluded.body), fieldsOf(notANumber.body)]).toEqual([['treeSize'], ['treeSize']]);
    });

    it('consistency from > to → 400 naming from; to beyond the log → 400 naming to; missing from → 400', async () => {
      const reversed = await http.get('/v1/integrity/proofs/consistency?from=9&to=5', auditor);
      const beyond = await http.get('/v1/integrity/proofs/consistency?from=1&to=1000000', auditor);
      const missing = await http.get('/v1/integrity/proofs/consistency?to=5', auditor);
      expect([reversed.status, beyond.status, missing.status]).toEqual([400, 400, 400]);
      expect([fieldsOf(reversed.body), fieldsOf(beyond.body), fieldsOf(missing.body)]).toEqual([['from'], ['to'], ['from']]);
    });

    it('an unknown eventId → 404; a malformed or missing one → 400 naming eventId', async () => {
      const unknown = await http.get(`/v1/integrity/proofs/inclusion?eventId=${randomUUID()}`, auditor);
      const malformed = await http.get('/v1/integrity/proofs/inclusion?eventId=not-a-uuid', auditor);
      const missing = await http.get('/v1/integrity/proofs/inclusion', auditor);
      expect([unknown.status, malformed.status, missing.status]).toEqual([404, 400, 400]);
      expect([fieldsOf(malformed.body), fieldsOf(missing.body)]).toEqual([['eventId'], ['eventId']]);
    });
  });

  describe('roles', () => {
    it('without a key (or with a wrong one) checkpoint and proofs are 401; the public key is public', async () => {
      const urls = ['/v1/integrity/checkpoint', '/v1/integrity/proofs/consistency?from=1&to=2', `/v1/integrity/proofs/inclusion?eventId=${randomUUID()}`];
      const statuses = [];
      for (const url of urls) {
        statuses.push((await http.get(url, null)).status, (await http.get(url, 'not-a-key')).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
      expect((await ledger.http().post('/v1/integrity/checkpoints')).status).toBe(401);
      expect((await http.get('/v1/integrity/public-key', null)).status).toBe(200);
    });

    it('an emitter and an auditor may read the checkpoint and proofs', async () => {
      const statuses = [];
      for (const key of [emitter, auditor]) {
        statuses.push(
          (await http.get('/v1/integrity/checkpoint', key)).status,
          (await http.get('/v1/integrity/proofs/consistency?from=1&to=2', key)).status,
        );
      }
      expect(statuses).toEqual([200, 200, 200, 200]);
    });

    it('POST /v1/integrity/checkpoints needs admin: 403 for an auditor or an emitter, 201 for admin', async () => {
      const asAuditor = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${auditor}`);
      const asEmitter = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${emitter}`);
      const asAdmin = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
      expect([asAuditor.status, asEmitter.status, asAdmin.status]).toEqual([403, 403, 201]);
    });
  });
});

describe('Merkle log across a restart', () => {
  it('after a restart on the same data dir, new checkpoints are consistent with the old ones and ledger verify is intact', async () => {
    const first = await startLedger({ env: { LEDGER_CHECKPOINT_EVERY: '10', LEDGER_CHECKPOINT_SECONDS: '0' } });
    const dataDir = first.dataDir;
    let second: TestLedger | null = null;
    try {
      const emitter = await first.key('emitter');
      const early = await client(first).batch(emitter, subjects('restart', 25));
      const old = await client(first).checkpointNow();
      expect(old.treeSize).toBe(25);
      // Appended and closed at once: the Merkle log may still lag behind and must catch up on start.
      await client(first).batch(emitter, subjects('restart', 6));
      await first.close();

      second = await startLedger({ dataDir, env: { LEDGER_CHECKPOINT_EVERY: '10', LEDGER_CHECKPOINT_SECONDS: '0' } });
      const http = client(second);
      await http.batch(emitter, subjects('restart', 13)); // the old emitter key still works
      for (const e of subjects('restart-one', 4)) await http.one(emitter, e);
      const latest = await http.checkpointNow();
      expect(latest.treeSize).toBe(25 + 6 + 13 + 4);

      const auditor = await second.key('auditor');
      const consistency = await http.get(`/v1/integrity/proofs/consistency?from=${old.treeSize}&to=${latest.treeSize}`, auditor);
      expect(consistency.status).toBe(200);
      expect(consistency.body).toMatchObject({ root1: old.rootHash, root2: latest.rootHash });
      expect(consistencyVerifies(consistency.body as ConsistencyDoc, old.rootHash, latest.rootHash)).toBe(true);

      // Every stored checkpoint, before and after the restart, chains consistently.
      const checkpoints = second.app.get(MerkleLog).checkpoints();
      expect(checkpoints.map((c) => c.treeSize)).toContain(old.treeSize);
      for (let i = 1; i < checkpoints.length; i++) {
        const [a, b] = [checkpoints[i - 1]!, checkpoints[i]!];
        const res = await http.get(`/v1/integrity/proofs/consistency?from=${a.treeSize}&to=${b.treeSize}`, auditor);
        expect({ sizes: [a.treeSize, b.treeSize], ok: consistencyVerifies(res.body as ConsistencyDoc, a.rootHash, b.rootHash) }).toEqual({
          sizes: [a.treeSize, b.treeSize],
          ok: true,
        });
      }

      // An event from before the restart is proven in the new tree.
      const inclusion = await http.get(`/v1/integrity/proofs/inclusion?eventId=${early[3]!.eventId}&treeSize=${latest.treeSize}`, auditor);
      expect(inclusion.status).toBe(200);
      expect(inclusionVerifies(inclusion.body as InclusionDoc, latest.rootHash)).toBe(true);

      await second.close();
      const { status, report } = verifyDataDir(dataDir);
      expect(status).toBe(0);
      expect(report).toMatchObject({ intact: true, events: latest.treeSize, rootHash: latest.rootHash, checkpointsVerified: checkpoints.length });
    } finally {
      await first.close();
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('MerkleLog.nodeAt across the stored-level boundary (subtrees of 256 leaves and up are stored)', () => {
  let ledger: TestLedger;
  let receipts: Receipt[] = [];
  let leaves: Uint8Array[] = [];
  let auditor: string;

  beforeAll(async () => {
    ledger = await startLedger({ env: { LEDGER_CHECKPOINT_SECONDS: '0' } });
    const http = client(ledger);
    const emitter = await ledger.key('emitter');
    auditor = await ledger.key('auditor');
    for (let b = 0; b < 4; b++) receipts.push(...(await http.batch(emitter, subjects(`boundary-${b}`, 200, 7))));
    receipts = receipts.sort((a, b) => a.globalPosition - b.globalPosition);
    const store = ledger.app.get<EventStore>(EVENT_STORE);
    expect(store).toBeInstanceOf(SqliteEventStore);
    const events: StoredEvent[] = await store.readAll();
    expect(events.map((e) => e.globalPosition)).toEqual(Array.from({ length: 800 }, (_, i) => i));
    leaves = events.map(leafHashOf);
    // Make sure the Merkle log has integrated everything (a checkpoint waits for the head).
    await http.checkpointNow();
  }, 60_000);
  afterAll(async () => ledger?.destroy());

  it.each([0, 255, 256, 511, 599])('leaf %i: the inclusion proof at size 600 verifies against the root of the first 600 leaf hashes', async (leaf) => {
    const root600 = toBase64(rootFromLeafHashes(leaves.slice(0, 600)));
    const res = await client(ledger).get(`/v1/integrity/proofs/inclusion?eventId=${receipts[leaf]!.eventId}&treeSize=600`, auditor);
    expect(res.status).toBe(200);
    const proof = res.body as InclusionDoc;
    expect({ leafIdx: proof.leafIdx, treeSize: proof.treeSize, root: proof.root, leafHash: proof.leafHash }).toEqual({
      leafIdx: leaf,
      treeSize: 600,
      root: root600,
      leafHash: toBase64(leaves[leaf]!),
    });
    expect(inclusionVerifies(proof, root600)).toBe(true);
  });

  it('roots at sizes around the boundary (255, 256, 257, 300, 512, 600, 800) equal the roots of the leaf hashes', async () => {
    const http = client(ledger);
    const sizes = [255, 256, 257, 300, 512, 600];
    const got: Record<number, string> = {};
    const want: Record<number, string> = {};
    for (const size of sizes) {
      const res = await http.get(`/v1/integrity/proofs/consistency?from=${size}&to=800`, auditor);
      expect(res.status).toBe(200);
      const doc = res.body as ConsistencyDoc;
      got[size] = doc.root1;
      want[size] = toBase64(rootFromLeafHashes(leaves.slice(0, size)));
      expect(doc.root2).toBe(toBase64(rootFromLeafHashes(leaves)));
      expect(consistencyVerifies(doc, want[size]!, doc.root2)).toBe(true);
    }
    expect(got).toEqual(want);
  });

  it('the stored nodes match the leaves: level 8 and level 9 nodes equal the roots of their 256 / 512 leaves', async () => {
    const log = ledger.app.get(MerkleLog);
    const expectNode = async (level: number, index: number) => {
      const width = 2 ** level;
      expect(toBase64(await log.nodeAt(level, index))).toBe(toBase64(rootFromLeafHashes(leaves.slice(index * width, (index + 1) * width))));
    };
    await expectNode(8, 0);
    await expectNode(8, 1);
    await expectNode(8, 2);
    await expectNode(9, 0);
    await expectNode(7, 3); // recomputed from leaves, below the stored level
    await expect(log.nodeAt(8, 3)).rejects.toThrow(/not stored/); // leaves 768..1023: not all there yet
  });
});
