/**
 * Proof documents: the JSON shape of the transparency-dev/merkle conformance
 * vectors (`testdata/inclusion/*`, `testdata/consistency/*`), also used as
 * the interchange format of the ledger (`ledger verify-proof FILE`).
 *
 * inclusion:   { leafIdx, treeSize, root, leafHash, proof, desc?, wantErr? }
 * consistency: { size1, size2, root1, root2, proof, desc?, wantErr? }
 *
 * Hashes are standard padded base64; `proof` is an array of hashes, or
 * `null` for an empty proof (Go marshals a nil slice as `null`). Integers must
 * be non-negative safe integers. Validation is strict: unknown keys, wrong
 * types and non-canonical base64 reject the document. Nothing here throws.
 */
import { type MerkleHasher, fromBase64Strict, rfc6962Hasher, toBase64 } from './hasher.js';
import { type MerkleProofError, proofFailure, verifyConsistency, verifyInclusion } from './verify.js';
import { isSafeUint } from './tree.js';

/** Kinds of proof document. */
export type ProofKind = 'inclusion' | 'consistency';

/** JSON shape of an inclusion proof document. */
export interface InclusionProofDocument {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc?: string;
  wantErr?: boolean;
}

/** JSON shape of a consistency proof document. */
export interface ConsistencyProofDocument {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc?: string;
  wantErr?: boolean;
}

/** A decoded inclusion proof document. */
export interface ParsedInclusionProof {
  readonly kind: 'inclusion';
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly proof: readonly Uint8Array[];
  readonly desc?: string;
  readonly wantErr?: boolean;
}

/** A decoded consistency proof document. */
export interface ParsedConsistencyProof {
  readonly kind: 'consistency';
  readonly size1: number;
  readonly size2: number;
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  readonly proof: readonly Uint8Array[];
  readonly desc?: string;
  readonly wantErr?: boolean;
}

export type ParsedProof = ParsedInclusionProof | ParsedConsistencyProof;

/** Result of {@link parseProofDocument}. */
export type ParseProofResult =
  | { readonly ok: true; readonly kind: ProofKind; readonly proof: ParsedProof }
  | { readonly ok: false; readonly kind: ProofKind | 'unknown'; readonly error: MerkleProofError };

/** Result of {@link verifyProofDocument}: `ok` iff the document is well-formed and the proof verifies. */
export type ProofDocumentResult =
  | { readonly kind: ProofKind; readonly ok: true }
  | { readonly kind: ProofKind | 'unknown'; readonly ok: false; readonly error: MerkleProofError };

const INCLUSION_KEYS = ['leafIdx', 'treeSize', 'root', 'leafHash'] as const;
const CONSISTENCY_KEYS = ['size1', 'size2', 'root1', 'root2'] as const;
const COMMON_KEYS = ['proof', 'desc', 'wantErr'] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/**
 * Which kind of proof document `json` (a parsed JSON value) claims to be,
 * from its keys: any of leafIdx/treeSize/root/leafHash and none of
 * size1/size2/root1/root2 → 'inclusion'; the converse → 'consistency';
 * anything else (incl. non-objects) → 'unknown'. Does not validate values.
 */
export function detectProofKind(json: unknown): ProofKind | 'unknown' {
  try {
    if (!isPlainObject(json)) return 'unknown';
    const incl = INCLUSION_KEYS.some((k) => hasOwn(json, k));
    const cons = CONSISTENCY_KEYS.some((k) => hasOwn(json, k));
    if (incl && !cons) return 'inclusion';
    if (cons && !incl) return 'consistency';
    return 'unknown';
  } catch {
    return 'unknown'; // exotic objects (throwing proxies)
  }
}

type Field<T> = { ok: true; value: T } | { ok: false; message: string };

function intField(o: Record<string, unknown>, k: string): Field<number> {
  const v = o[k];
  if (typeof v !== 'number') return { ok: false, message: `"${k}" must be a number` };
  if (!isSafeUint(v)) return { ok: false, message: `"${k}" must be a non-negative safe integer, got ${String(v)}` };
  return { ok: true, value: v };
}

function hashField(o: Record<string, unknown>, k: string): Field<Uint8Array> {
  const bytes = fromBase64Strict(o[k]);
  return bytes === undefined ? { ok: false, message: `"${k}" must be a standard base64 string` } : { ok: true, value: bytes };
}

function proofField(o: Record<string, unknown>): Field<Uint8Array[]> {
  const v = o['proof'];
  if (v === null) return { ok: true, value: [] };
  if (!Array.isArray(v)) return { ok: false, message: '"proof" must be an array of base64 strings or null' };
  const out: Uint8Array[] = [];
  for (let i = 0; i < v.length; i++) {
    const bytes = fromBase64Strict(v[i]);
    if (bytes === undefined) return { ok: false, message: `"proof[${i}]" must be a standard base64 string` };
    out.push(bytes);
  }
  return { ok: true, value: out };
}

/**
 * Strictly validates and decodes a proof document (a parsed JSON value).
 * Hash lengths are not checked here (the verifier reports `bad-hash-length`).
 * Never throws.
 */
export function parseProofDocument(json: unknown): ParseProofResult {
  try {
    return parseUnguarded(json);
  } catch (e) {
    // Only reachable with exotic inputs (e.g. throwing getters / proxies).
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, kind: 'unknown', error: proofFailure('malformed-document', `unreadable document: ${why}`).error };
  }
}

function parseUnguarded(json: unknown): ParseProofResult {
  const kind = detectProofKind(json);
  const fail = (k: ProofKind | 'unknown', message: string): ParseProofResult => ({
    ok: false,
    kind: k,
    error: proofFailure('malformed-document', message).error,
  });
  if (!isPlainObject(json)) return fail('unknown', 'proof document must be a JSON object');
  if (kind === 'unknown') {
    return {
      ok: false,
      kind,
      error: proofFailure(
        'unknown-proof-kind',
        'not a proof document: expected either leafIdx/treeSize/root/leafHash (inclusion) or size1/size2/root1/root2 (consistency)',
      ).error,
    };
  }
  const required = kind === 'inclusion' ? INCLUSION_KEYS : CONSISTENCY_KEYS;
  const allowed = new Set<string>([...required, ...COMMON_KEYS]);
  const unknownKeys = Object.keys(json).filter((k) => !allowed.has(k));
  if (unknownKeys.length > 0) return fail(kind, `unexpected key(s) in ${kind} proof document: ${unknownKeys.join(', ')}`);
  const missing = [...required, 'proof'].filter((k) => !hasOwn(json, k));
  if (missing.length > 0) return fail(kind, `missing key(s) in ${kind} proof document: ${missing.join(', ')}`);

  let desc: string | undefined;
  if (hasOwn(json, 'desc')) {
    if (typeof json['desc'] !== 'string') return fail(kind, '"desc" must be a string');
    desc = json['desc'];
  }
  let wantErr: boolean | undefined;
  if (hasOwn(json, 'wantErr')) {
    if (typeof json['wantErr'] !== 'boolean') return fail(kind, '"wantErr" must be a boolean');
    wantErr = json['wantErr'];
  }
  const extras = { ...(desc !== undefined ? { desc } : {}), ...(wantErr !== undefined ? { wantErr } : {}) };

  const proof = proofField(json);
  if (!proof.ok) return fail(kind, proof.message);

  if (kind === 'inclusion') {
    const leafIdx = intField(json, 'leafIdx');
    if (!leafIdx.ok) return fail(kind, leafIdx.message);
    const treeSize = intField(json, 'treeSize');
    if (!treeSize.ok) return fail(kind, treeSize.message);
    const root = hashField(json, 'root');
    if (!root.ok) return fail(kind, root.message);
    const leafHash = hashField(json, 'leafHash');
    if (!leafHash.ok) return fail(kind, leafHash.message);
    return {
      ok: true,
      kind,
      proof: {
        kind,
        leafIdx: leafIdx.value,
        treeSize: treeSize.value,
        root: root.value,
        leafHash: leafHash.value,
        proof: proof.value,
        ...extras,
      },
    };
  }
  const size1 = intField(json, 'size1');
  if (!size1.ok) return fail(kind, size1.message);
  const size2 = intField(json, 'size2');
  if (!size2.ok) return fail(kind, size2.message);
  const root1 = hashField(json, 'root1');
  if (!root1.ok) return fail(kind, root1.message);
  const root2 = hashField(json, 'root2');
  if (!root2.ok) return fail(kind, root2.message);
  return {
    ok: true,
    kind,
    proof: { kind, size1: size1.value, size2: size2.value, root1: root1.value, root2: root2.value, proof: proof.value, ...extras },
  };
}

/**
 * Validates a proof document (a parsed JSON value) and verifies the proof it
 * carries. `ok` is true iff the document is well-formed and the proof is
 * valid; `wantErr` and `desc`, if present, are ignored. Never throws.
 */
export function verifyProofDocument(json: unknown, hasher: MerkleHasher = rfc6962Hasher): ProofDocumentResult {
  const parsed = parseProofDocument(json);
  if (!parsed.ok) return parsed;
  const p = parsed.proof;
  const res =
    p.kind === 'inclusion'
      ? verifyInclusion(hasher, p.leafIdx, p.treeSize, p.leafHash, p.proof, p.root)
      : verifyConsistency(hasher, p.size1, p.size2, p.proof, p.root1, p.root2);
  return res.ok ? { kind: p.kind, ok: true } : { kind: p.kind, ok: false, error: res.error };
}

/** {@link verifyProofDocument} on JSON text; invalid JSON → `malformed-document`. Never throws. */
export function verifyProofDocumentText(text: string, hasher: MerkleHasher = rfc6962Hasher): ProofDocumentResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { kind: 'unknown', ok: false, error: proofFailure('malformed-document', `invalid JSON: ${why}`).error };
  }
  return verifyProofDocument(json, hasher);
}

/** Encodes an inclusion proof as a proof document (hashes in standard base64). */
export function toInclusionProofDocument(p: {
  readonly leafIdx: number;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly proof: readonly Uint8Array[];
  readonly desc?: string;
}): InclusionProofDocument {
  return {
    leafIdx: p.leafIdx,
    treeSize: p.treeSize,
    root: toBase64(p.root),
    leafHash: toBase64(p.leafHash),
    proof: p.proof.map(toBase64),
    ...(p.desc !== undefined ? { desc: p.desc } : {}),
  };
}

/** Encodes a consistency proof as a proof document (hashes in standard base64). */
export function toConsistencyProofDocument(p: {
  readonly size1: number;
  readonly size2: number;
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  readonly proof: readonly Uint8Array[];
  readonly desc?: string;
}): ConsistencyProofDocument {
  return {
    size1: p.size1,
    size2: p.size2,
    root1: toBase64(p.root1),
    root2: toBase64(p.root2),
    proof: p.proof.map(toBase64),
    ...(p.desc !== undefined ? { desc: p.desc } : {}),
  };
}
