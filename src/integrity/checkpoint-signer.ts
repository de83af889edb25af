import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';

/** The signed statement about the global Merkle log: its size and root at a moment. */
export interface CheckpointBody {
  readonly treeSize: number;
  /** RFC 6962 root hash, base64. */
  readonly rootHash: string;
  readonly timestamp: string;
  /** First 16 hex digits of SHA-256 over the public key (SPKI DER). */
  readonly keyId: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  /** Ed25519 signature over the RFC 8785 canonical bytes of the body, base64. */
  readonly signature: string;
}

export function checkpointSigningBytes(body: CheckpointBody): Buffer {
  const text = canonicalize({ treeSize: body.treeSize, rootHash: body.rootHash, timestamp: body.timestamp, keyId: body.keyId });
  if (text === undefined) throw new Error('checkpoint cannot be canonicalised');
  return Buffer.from(text, 'utf8');
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the public key is not an Ed25519 key');
  return key;
}

export type CheckpointCheck = { ok: true } | { ok: false; kind: 'key-id-mismatch' | 'signature-invalid'; message: string };

/** Verifies a checkpoint with nothing but the public key. Never throws on a malformed checkpoint. */
export function verifyCheckpointSignature(checkpoint: SignedCheckpoint, publicKey: KeyObject): CheckpointCheck {
  if (typeof checkpoint !== 'object' || checkpoint === null) return { ok: false, kind: 'signature-invalid', message: 'not a checkpoint' };
  if (checkpoint.keyId !== keyIdOf(publicKey)) {
    return { ok: false, kind: 'key-id-mismatch', message: `checkpoint keyId ${checkpoint.keyId} is not the key ${keyIdOf(publicKey)}` };
  }
  try {
    const good = verify(null, checkpointSigningBytes(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
    return good ? { ok: true } : { ok: false, kind: 'signature-invalid', message: 'the signature does not verify' };
  } catch {
    return { ok: false, kind: 'signature-invalid', message: 'the checkpoint or its signature is malformed' };
  }
}

/**
 * The ledger's Ed25519 checkpoint key (node:crypto). Supplied by LEDGER_SIGNING_KEY (PKCS#8 PEM)
 * or created on first start as <dataDir>/signing.key (mode 0600); the public half is written
 * beside it as checkpoint-public-key.pem for auditors to take away.
 */
export class CheckpointSigner {
  readonly publicKey: KeyObject;
  readonly keyId: string;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  static fromPem(pem: string): CheckpointSigner {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('LEDGER_SIGNING_KEY: must be an Ed25519 private key (PKCS#8 PEM)');
    return new CheckpointSigner(key);
  }

  static loadOrCreate(dataDir: string, fromEnv: string | undefined): CheckpointSigner {
    let signer: CheckpointSigner;
    const file = join(dataDir, 'signing.key');
    if (fromEnv) signer = CheckpointSigner.fromPem(fromEnv);
    else if (existsSync(file)) signer = CheckpointSigner.fromPem(readFileSync(file, 'utf8'));
    else {
      mkdirSync(dataDir, { recursive: true });
      const { privateKey } = generateKeyPairSync('ed25519');
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
      signer = new CheckpointSigner(privateKey);
    }
    const publicFile = join(dataDir, 'checkpoint-public-key.pem');
    if (!existsSync(publicFile)) writeFileSync(publicFile, signer.publicKeyPem());
    return signer;
  }

  publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  sign(body: Omit<CheckpointBody, 'keyId'>): SignedCheckpoint {
    const full: CheckpointBody = { ...body, keyId: this.keyId };
    return { ...full, signature: sign(null, checkpointSigningBytes(full), this.privateKey).toString('base64') };
  }
}
