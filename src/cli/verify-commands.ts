import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { embeddedLogFile } from '../event-store/sqlite/log-file.js';
import { countEvents } from '../event-store/sqlite/sqlite-event-store.js';
import { CheckpointSigner, publicKeyFromPem, verifyCheckpointSignature, type SignedCheckpoint } from '../integrity/checkpoint-signer.js';
import { verifyLedgerFile } from '../integrity/ledger-verifier.js';
import { readCheckpoints } from '../integrity/merkle-log.js';
import { parseProofDocument, verifyProofDocument } from '../integrity/merkle/index.js';
import { EXIT } from './cli-config.js';


function fail(message: string): number {
  process.stderr.write(`ledger: ${message}\n`);
  return EXIT.usage;
}

function readJson(file: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (!existsSync(file)) return { ok: false, message: `${file}: no such file` };
  try {
    return { ok: true, value: JSON.parse(readFileSync(file, 'utf8')) as unknown };
  } catch {
    return { ok: false, message: `${file}: not JSON` };
  }
}

function isCheckpoint(value: unknown): value is SignedCheckpoint {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(c['treeSize']) &&
    (c['treeSize'] as number) >= 0 &&
    typeof c['rootHash'] === 'string' &&
    typeof c['timestamp'] === 'string' &&
    typeof c['keyId'] === 'string' &&
    typeof c['signature'] === 'string'
  );
}

/** `ledger verify`: the whole embedded log, offline, read-only. */
export async function verifyCommand(dataDir: string, opts: { publicKey?: string; json?: boolean; checkpoint?: string[] }): Promise<number> {
  const log = embeddedLogFile(dataDir);
  if (!existsSync(log)) return fail(`no ledger in ${dataDir} (events.db is missing)`);
  const keyFile = opts.publicKey ?? join(dataDir, 'checkpoint-public-key.pem');
  if (!existsSync(keyFile)) return fail(`public key ${keyFile} not found (pass --public-key FILE)`);
  let publicKey;
  try {
    publicKey = publicKeyFromPem(readFileSync(keyFile, 'utf8'));
  } catch (error) {
    return fail(`${keyFile}: ${error instanceof Error ? error.message : 'not a public key'}`);
  }
  const integrity = join(dataDir, 'integrity.db');
  const checkpoints = existsSync(integrity) ? readCheckpoints(integrity) : [];
  // Checkpoints the auditor kept: the log must still match them even if the data dir's own
  // checkpoint store was deleted or rewritten along with the log.
  for (const file of opts.checkpoint ?? []) {
    const kept = readJson(file);
    if (!kept.ok) return fail(kept.message);
    if (!isCheckpoint(kept.value)) return fail(`${file}: not a signed checkpoint {treeSize, rootHash, timestamp, keyId, signature}`);
    checkpoints.push(kept.value);
  }

  const total = countEvents(log);
  const bar = process.stderr.isTTY && total > 100_000 && !opts.json ? new cliProgress.SingleBar({ etaBuffer: 50 }, cliProgress.Presets.shades_classic) : null;
  bar?.start(total, 0);
  const started = performance.now();
  const report = await verifyLedgerFile(log, checkpoints, publicKey, { onProgress: (n) => bar?.update(n) });
  bar?.stop();
  const seconds = (performance.now() - started) / 1000;

  if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, seconds })}\n`);
  else if (report.intact) {
    process.stdout.write(
      `intact: ${report.events} events in ${report.streams} streams, root ${report.rootHash}, ` +
        `${report.checkpointsVerified} signed checkpoints verified (${seconds.toFixed(2)} s, ${Math.round(report.events / Math.max(seconds, 1e-6))} events/s)\n`,
    );
    if (checkpoints.length === 0) process.stdout.write('note: no signed checkpoint yet; only the chains and the root were recomputed\n');
  } else {
    const b = report.firstBreak!;
    process.stdout.write(`TAMPERED at position ${b.position}: ${b.kind} — ${b.detail}\n`);
  }
  return report.intact ? EXIT.ok : EXIT.failed;
}

/** `ledger verify-proof FILE [--checkpoint FILE --public-key FILE]`. */
export async function verifyProofCommand(file: string, opts: { checkpoint?: string; publicKey?: string }): Promise<number> {
  const doc = readJson(file);
  if (!doc.ok) return fail(doc.message);
  if ((opts.checkpoint === undefined) !== (opts.publicKey === undefined)) return fail('--checkpoint and --public-key go together');

  const result = verifyProofDocument(doc.value);
  if (!result.ok) {
    process.stdout.write(`rejected (${result.kind}): ${result.error.kind} — ${result.error.message}\n`);
    return EXIT.failed;
  }
  if (opts.checkpoint && opts.publicKey) {
    const checkpoint = readJson(opts.checkpoint);
    if (!checkpoint.ok) return fail(checkpoint.message);
    if (!existsSync(opts.publicKey)) return fail(`${opts.publicKey}: no such file`);
    let key;
    try {
      key = publicKeyFromPem(readFileSync(opts.publicKey, 'utf8'));
    } catch {
      return fail(`${opts.publicKey}: not an Ed25519 public key (PEM)`);
    }
    if (!isCheckpoint(checkpoint.value)) {
      process.stdout.write(`rejected: checkpoint file ${opts.checkpoint} is not a signed checkpoint {treeSize, rootHash, timestamp, keyId, signature}\n`);
      return EXIT.failed;
    }
    const signed = checkpoint.value;
    const signature = verifyCheckpointSignature(signed, key);
    if (!signature.ok) {
      process.stdout.write(`rejected: checkpoint ${signature.kind} — ${signature.message}\n`);
      return EXIT.failed;
    }
    const parsed = parseProofDocument(doc.value);
    if (!parsed.ok) return EXIT.failed;
    const proof = parsed.proof;
    const [size, root] = proof.kind === 'inclusion' ? [proof.treeSize, proof.root] : [proof.size2, proof.root2];
    if (size !== signed.treeSize || Buffer.from(root).toString('base64') !== signed.rootHash) {
      process.stdout.write(`rejected: the proof is for tree size ${size}, the checkpoint signs tree size ${signed.treeSize} with another root\n`);
      return EXIT.failed;
    }
    process.stdout.write(`accepted (${result.kind}), and its root is the one signed in the checkpoint at tree size ${signed.treeSize}\n`);
    return EXIT.ok;
  }
  process.stdout.write(`accepted (${result.kind})\n`);
  return EXIT.ok;
}

export async function publicKeyCommand(dataDir: string): Promise<number> {
  const file = join(dataDir, 'checkpoint-public-key.pem');
  if (existsSync(file)) process.stdout.write(readFileSync(file, 'utf8'));
  else if (existsSync(join(dataDir, 'signing.key')) || process.env['LEDGER_SIGNING_KEY']) {
    process.stdout.write(CheckpointSigner.loadOrCreate(dataDir, process.env['LEDGER_SIGNING_KEY']).publicKeyPem());
  } else return fail(`no signing key in ${dataDir} yet (start the service once)`);
  return EXIT.ok;
}
