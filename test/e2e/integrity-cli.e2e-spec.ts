/**
 * `ledger verify-proof` and `ledger verify` as an auditor runs them: the compiled CLI in its
 * own process. The RFC 6962 conformance vectors are read IN PLACE from
 * `<repo root>/../shared/vectors/rfc6962` (never copied into the project); when they are
 * absent, one warning line says where we looked and only the vector part is not run.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, runCliPool } from '../support/integrity-cli.js';
import { accessedBody, startLedger, type TestLedger } from '../support/ledger-app.js';

const VECTORS_DIR = path.resolve(process.cwd(), '../shared/vectors/rfc6962');

/** Directories (relative to `root`) that directly hold *.json files, with those files. */
function vectorGroups(root: string): Array<{ dir: string; files: string[] }> {
  const groups: Array<{ dir: string; files: string[] }> = [];
  const walk = (rel: string): void => {
    const names = readdirSync(path.join(root, rel)).sort();
    const files = names.filter((n) => n.endsWith('.json') && statSync(path.join(root, rel, n)).isFile());
    if (files.length > 0) groups.push({ dir: rel, files: files.map((f) => path.join(rel, f)) });
    for (const n of names) if (statSync(path.join(root, rel, n)).isDirectory()) walk(path.join(rel, n));
  };
  walk('');
  return groups;
}

const vectorsPresent = existsSync(VECTORS_DIR) && statSync(VECTORS_DIR).isDirectory();

if (vectorsPresent) {
  const groups = vectorGroups(VECTORS_DIR);
  // Each CLI start costs ~0.8 s (it loads the whole Nest app module); run a few at once.
  const concurrency = Math.max(2, Math.min(availableParallelism(), 8));

  describe(`ledger verify-proof over every RFC 6962 conformance vector (${VECTORS_DIR})`, () => {
    it('finds inclusion and consistency vectors, both accepted and rejected ones', () => {
      const all = groups.flatMap((g) => g.files);
      const kinds = new Set(all.map((f) => f.split(path.sep)[0]));
      const wantErr = new Set(all.map((f) => (JSON.parse(readFileSync(path.join(VECTORS_DIR, f), 'utf8')) as { wantErr?: unknown }).wantErr));
      expect([...kinds].sort()).toEqual(['consistency', 'inclusion']);
      expect([...wantErr].sort()).toEqual([false, true]);
      expect(all.length).toBeGreaterThan(10);
    });

    it.each(groups.map((g) => [g.dir, g.files] as const))(
      '%s: exit 0 exactly when wantErr is false, else 1',
      async (_dir, files) => {
        const expected: Record<string, number> = {};
        const withoutWantErr: string[] = [];
        for (const file of files) {
          const { wantErr } = JSON.parse(readFileSync(path.join(VECTORS_DIR, file), 'utf8')) as { wantErr?: unknown };
          if (typeof wantErr !== 'boolean') withoutWantErr.push(file);
          expected[file] = wantErr === true ? 1 : 0;
        }
        expect(withoutWantErr).toEqual([]);
        const results = await runCliPool(
          files.map((f) => ['verify-proof', path.join(VECTORS_DIR, f)]),
          concurrency,
        );
        // Per file: the exit status and the verdict line the auditor reads (stderr if there is none).
        const verdict = (status: number | null, kind: string) => (status === 0 ? `accepted (${kind})` : `rejected (${kind})`);
        const want: Record<string, string> = {};
        const got: Record<string, string> = {};
        files.forEach((f, i) => {
          const kind = f.split(path.sep)[0]!;
          const r = results[i]!;
          want[f] = `${expected[f]} ${verdict(expected[f]!, kind)}`;
          const line = r.stdout.split('\n').find((l) => l.startsWith('accepted') || l.startsWith('rejected'));
          got[f] = `${r.status} ${line?.slice(0, verdict(r.status, kind).length) ?? `(no verdict; stderr: ${r.stderr.trim()})`}`;
        });
        expect(got).toEqual(want);
      },
      120_000,
    );
  });
} else {
  console.warn(`RFC 6962 conformance vectors absent: looked in ${VECTORS_DIR}; ledger verify-proof vector tests not run.`);
}

describe('ledger CLI usage errors exit 2', () => {
  let dir: string;
  let proofFile: string;
  const keyPem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ledger-cli-usage-'));
    proofFile = path.join(dir, 'proof.json');
    // A well-formed, valid proof (a one-leaf tree: leaf hash = root, empty proof).
    const leaf = 'bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=';
    writeFileSync(proofFile, JSON.stringify({ leafIdx: 0, treeSize: 1, root: leaf, leafHash: leaf, proof: [] }));
    writeFileSync(path.join(dir, 'not-json.json'), '{"leafIdx": 0, "treeSize": 1,');
    writeFileSync(path.join(dir, 'key.pem'), keyPem);
    writeFileSync(path.join(dir, 'checkpoint.json'), '{}');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the valid proof used below is accepted (exit 0), so the exit 2s are about usage', () => {
    const r = runCli(['verify-proof', proofFile]);
    expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({ status: 0, stdout: 'accepted (inclusion)' });
  });

  it('verify-proof on a file that does not exist', () => {
    const r = runCli(['verify-proof', path.join(dir, 'missing.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing.json');
  });

  it('verify-proof on a file that is not JSON', () => {
    const r = runCli(['verify-proof', path.join(dir, 'not-json.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not JSON/);
  });

  it('verify-proof without a file argument', () => {
    expect(runCli(['verify-proof']).status).toBe(2);
  });

  it('verify-proof --checkpoint without --public-key, and --public-key without --checkpoint', () => {
    const a = runCli(['verify-proof', proofFile, '--checkpoint', path.join(dir, 'checkpoint.json')]);
    const b = runCli(['verify-proof', proofFile, '--public-key', path.join(dir, 'key.pem')]);
    expect([a.status, b.status]).toEqual([2, 2]);
    expect(a.stderr).toMatch(/--checkpoint and --public-key/);
  });

  it('verify-proof --checkpoint FILE that does not exist, or --public-key FILE that is not a key', () => {
    const notAKey = path.join(dir, 'not-a-key.pem');
    writeFileSync(notAKey, 'hello\n');
    const a = runCli(['verify-proof', proofFile, '--checkpoint', path.join(dir, 'nope.json'), '--public-key', path.join(dir, 'key.pem')]);
    const b = runCli(['verify-proof', proofFile, '--checkpoint', path.join(dir, 'checkpoint.json'), '--public-key', notAKey]);
    expect([a.status, b.status]).toEqual([2, 2]);
  });

  it('verify on a directory without a ledger, and on one that does not exist', () => {
    const empty = path.join(dir, 'empty-data-dir');
    mkdirSync(empty);
    const a = runCli(['verify', '--data-dir', empty]);
    const b = runCli(['verify', '--data-dir', path.join(dir, 'does-not-exist'), '--json']);
    expect([a.status, b.status]).toEqual([2, 2]);
    expect(a.stderr).toMatch(/no ledger/);
  });

  it('an unknown command', () => {
    expect(runCli(['verify-everything']).status).toBe(2);
  });

  it('public-key on a directory without a signing key', () => {
    const r = runCli(['public-key', '--data-dir', path.join(dir, 'no-key-here')]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });
});

describe('ledger verify-proof --checkpoint --public-key on proofs served by a real ledger', () => {
  let ledger: TestLedger;
  let dir: string;
  let auditor: string;
  const files = {
    inclusion: '',
    consistency: '',
    oldInclusion: '',
    checkpoint: '',
    forgedCheckpoint: '',
    publicKey: '',
    otherKey: '',
  };

  beforeAll(async () => {
    ledger = await startLedger({ env: { LEDGER_CHECKPOINT_EVERY: '1000', LEDGER_CHECKPOINT_SECONDS: '0' } });
    dir = mkdtempSync(path.join(tmpdir(), 'ledger-cli-proofs-'));
    const emitter = await ledger.key('emitter');
    auditor = await ledger.key('auditor');
    const post = (events: unknown[]) =>
      ledger.http().post('/v1/events/batch').set('authorization', `Bearer ${emitter}`).send({ events });
    const first = await post(Array.from({ length: 7 }, (_, i) => accessedBody(`cli-${i % 3}`)));
    expect(first.status).toBe(201);
    const old = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
    expect(old.status).toBe(201);
    const second = await post(Array.from({ length: 9 }, (_, i) => accessedBody(`cli-${i % 4}`)));
    expect(second.status).toBe(201);
    const latest = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
    expect(latest.status).toBe(201);
    expect(latest.body.treeSize).toBe(16);

    const get = async (url: string) => {
      const res = await ledger.http().get(url).set('authorization', `Bearer ${auditor}`);
      expect(res.status).toBe(200);
      return res.body as Record<string, unknown>;
    };
    const eventId = (first.body as { receipts: Array<{ eventId: string }> }).receipts[3]!.eventId;
    const write = (name: string, value: unknown) => {
      const file = path.join(dir, name);
      writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
      return file;
    };
    files.inclusion = write('inclusion.json', await get(`/v1/integrity/proofs/inclusion?eventId=${eventId}&treeSize=16`));
    files.oldInclusion = write('old-inclusion.json', await get(`/v1/integrity/proofs/inclusion?eventId=${eventId}&treeSize=7`));
    files.consistency = write('consistency.json', await get('/v1/integrity/proofs/consistency?from=7&to=16'));
    files.checkpoint = write('checkpoint.json', latest.body);
    const signature = Buffer.from(latest.body.signature as string, 'base64');
    signature[5] = signature[5]! ^ 0x01;
    files.forgedCheckpoint = write('forged-checkpoint.json', { ...latest.body, signature: signature.toString('base64') });
    const publicKey = await ledger.http().get('/v1/integrity/public-key');
    files.publicKey = write('ledger.pem', publicKey.body.publicKeyPem);
    files.otherKey = write('other.pem', generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
  }, 30_000);

  afterAll(async () => {
    await ledger?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const withCheckpoint = (proof: string, checkpoint = files.checkpoint, key = files.publicKey) =>
    runCli(['verify-proof', proof, '--checkpoint', checkpoint, '--public-key', key]);

  it('accepts an inclusion and a consistency proof whose root is the signed checkpoint root', () => {
    const a = withCheckpoint(files.inclusion);
    const b = withCheckpoint(files.consistency);
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(a.stdout).toMatch(/accepted \(inclusion\).*checkpoint at tree size 16/);
    expect(b.stdout).toMatch(/accepted \(consistency\).*checkpoint at tree size 16/);
  });

  it('rejects a valid proof for another tree size than the checkpoint', () => {
    expect(runCli(['verify-proof', files.oldInclusion]).status).toBe(0);
    const r = withCheckpoint(files.oldInclusion);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/rejected/);
  });

  it('rejects a checkpoint whose signature was altered', () => {
    const r = withCheckpoint(files.inclusion, files.forgedCheckpoint);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/rejected: checkpoint signature-invalid/);
  });

  it('rejects the checkpoint with a public key that is not the ledger key', () => {
    const r = withCheckpoint(files.inclusion, files.checkpoint, files.otherKey);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/rejected: checkpoint key-id-mismatch/);
  });

  it('rejects a served proof with one flipped bit, with or without the checkpoint', () => {
    const doc = JSON.parse(readFileSync(files.inclusion, 'utf8')) as { proof: string[] };
    expect(doc.proof.length).toBeGreaterThan(0);
    const bytes = Buffer.from(doc.proof[0]!, 'base64');
    bytes[0] = bytes[0]! ^ 0x80;
    const flipped = path.join(dir, `flipped-${randomUUID()}.json`);
    writeFileSync(flipped, JSON.stringify({ ...doc, proof: [bytes.toString('base64'), ...doc.proof.slice(1)] }));
    expect(runCli(['verify-proof', flipped]).status).toBe(1);
    expect(withCheckpoint(flipped).status).toBe(1);
  });

  it('a --checkpoint file that is JSON but not a checkpoint (null) is rejected with a message, not a crash', () => {
    const notACheckpoint = path.join(dir, 'null-checkpoint.json');
    writeFileSync(notACheckpoint, 'null');
    const r = withCheckpoint(files.inclusion, notACheckpoint);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: '' });
    expect(r.stdout).toMatch(/^rejected: checkpoint/m);
  });

  it('ledger public-key prints the key GET /v1/integrity/public-key serves', () => {
    const r = runCli(['public-key', '--data-dir', ledger.dataDir]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(files.publicKey, 'utf8'));
  });
});
