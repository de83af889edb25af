/**
 * Pure verifiers for RFC 9162 §2.1.3.2 inclusion proofs and §2.1.4.2
 * consistency proofs, in the decomposition form of transparency-dev/merkle
 * `proof/verify.go`.
 *
 * Contract: these functions NEVER throw. Every input, including the wrong
 * runtime types a JavaScript caller or a JSON document could pass, yields a
 * typed result. Any unexpected exception (e.g. from a custom hasher) is turned
 * into a rejection of kind `internal-error` (fail closed).
 */
import { type MerkleHasher, bytesEqual } from './hasher.js';
import { bitAt, bitLen, isSafeUint, onesCount, shr, trailingZeros, xor53 } from './tree.js';

/** Discriminant of {@link MerkleProofError}. */
export type MerkleProofErrorKind =
  /** A size or index is not a non-negative safe integer. */
  | 'invalid-integer'
  /** A parameter has the wrong runtime type (proof not an array, hash not a Uint8Array, bad hasher). */
  | 'invalid-argument'
  /** Inclusion: leafIdx >= treeSize. */
  | 'index-out-of-range'
  /** Consistency: size1 > size2. */
  | 'size-order'
  /** A leaf hash, root or proof entry does not have `hasher.size` bytes. */
  | 'bad-hash-length'
  /** The proof has the wrong number of entries for the given sizes (incl. empty / non-empty). */
  | 'wrong-proof-size'
  /** The recomputed root differs from the expected one. */
  | 'root-mismatch'
  /** A proof document is not valid JSON of the expected shape (vectors.ts). */
  | 'malformed-document'
  /** A proof document is neither an inclusion nor a consistency proof (vectors.ts). */
  | 'unknown-proof-kind'
  /** Unexpected exception while verifying (rejected, fail closed). */
  | 'internal-error';

/** Why a proof was rejected. */
export interface MerkleProofError {
  readonly kind: MerkleProofErrorKind;
  readonly message: string;
}

/** Outcome of a verification. */
export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly error: MerkleProofError };

/** Outcome of a root computation. */
export type RootResult =
  | { readonly ok: true; readonly root: Uint8Array }
  | { readonly ok: false; readonly error: MerkleProofError };

const OK: VerifyResult = Object.freeze({ ok: true });

/** Builds a rejection result. */
export function proofFailure(kind: MerkleProofErrorKind, message: string): { ok: false; error: MerkleProofError } {
  return { ok: false, error: Object.freeze({ kind, message }) };
}

type Failure = ReturnType<typeof proofFailure>;

function guard<T extends { ok: boolean }>(fn: () => T | Failure): T | Failure {
  try {
    return fn();
  } catch (e) {
    return proofFailure('internal-error', `verification failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkHasher(hasher: unknown): Failure | undefined {
  if (
    typeof hasher !== 'object' ||
    hasher === null ||
    !('size' in hasher) ||
    !isSafeUint(hasher.size) ||
    hasher.size === 0 ||
    !('hashChildren' in hasher) ||
    typeof hasher.hashChildren !== 'function' ||
    !('emptyRoot' in hasher) ||
    typeof hasher.emptyRoot !== 'function'
  ) {
    return proofFailure('invalid-argument', 'hasher is not a MerkleHasher');
  }
  return undefined;
}

function checkUint(name: string, n: unknown): Failure | undefined {
  return isSafeUint(n)
    ? undefined
    : proofFailure('invalid-integer', `${name} must be a non-negative safe integer, got ${String(n)}`);
}

function checkHash(name: string, h: unknown, size: number): Failure | undefined {
  if (!(h instanceof Uint8Array)) return proofFailure('invalid-argument', `${name} must be a Uint8Array`);
  if (h.length !== size) return proofFailure('bad-hash-length', `${name} has ${h.length} bytes, want ${size}`);
  return undefined;
}

/** Proof must be an array of Uint8Array (lengths are checked after the count). */
function checkProofType(proof: unknown): Failure | undefined {
  if (!Array.isArray(proof)) return proofFailure('invalid-argument', 'proof must be an array');
  for (let i = 0; i < proof.length; i++) {
    if (!(proof[i] instanceof Uint8Array)) return proofFailure('invalid-argument', `proof[${i}] must be a Uint8Array`);
  }
  return undefined;
}

function checkProofHashes(proof: readonly Uint8Array[], size: number): Failure | undefined {
  for (let i = 0; i < proof.length; i++) {
    const f = checkHash(`proof[${i}]`, proof[i], size);
    if (f) return f;
  }
  return undefined;
}

/** transparency-dev `decompInclProof`: lengths of the inner and border parts. */
function decompInclProof(index: number, size: number): [inner: number, border: number] {
  const inner = bitLen(xor53(index, size - 1));
  return [inner, onesCount(shr(index, inner))];
}

function chainInner(hasher: MerkleHasher, seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let h = seed;
  proof.forEach((p, i) => {
    h = bitAt(index, i) === 0 ? hasher.hashChildren(h, p) : hasher.hashChildren(p, h);
  });
  return h;
}

function chainInnerRight(hasher: MerkleHasher, seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let h = seed;
  proof.forEach((p, i) => {
    if (bitAt(index, i) === 1) h = hasher.hashChildren(p, h);
  });
  return h;
}

function chainBorderRight(hasher: MerkleHasher, seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let h = seed;
  for (const p of proof) h = hasher.hashChildren(p, h);
  return h;
}

/**
 * Root of the tree of `treeSize` leaves implied by an inclusion proof for
 * leaf `leafIdx` with hash `leafHash` (RFC 9162 §2.1.3.2). Requires
 * `0 <= leafIdx < treeSize`, well-sized hashes and exactly the expected
 * number of proof entries. Never throws.
 */
export function rootFromInclusionProof(
  hasher: MerkleHasher,
  leafIdx: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): RootResult {
  return guard((): RootResult => {
    const pre =
      checkHasher(hasher) ??
      checkUint('leafIdx', leafIdx) ??
      checkUint('treeSize', treeSize) ??
      checkProofType(proof);
    if (pre) return pre;
    if (leafIdx >= treeSize) {
      return proofFailure('index-out-of-range', `leafIdx ${leafIdx} is beyond treeSize ${treeSize}`);
    }
    const badLeaf = checkHash('leafHash', leafHash, hasher.size);
    if (badLeaf) return badLeaf;

    const [inner, border] = decompInclProof(leafIdx, treeSize);
    if (proof.length !== inner + border) {
      return proofFailure('wrong-proof-size', `wrong proof size ${proof.length}, want ${inner + border}`);
    }
    const badProof = checkProofHashes(proof, hasher.size);
    if (badProof) return badProof;

    let res = chainInner(hasher, leafHash, proof.slice(0, inner), leafIdx);
    res = chainBorderRight(hasher, res, proof.slice(inner));
    return { ok: true, root: res };
  });
}

/**
 * Verifies that `proof` proves leaf `leafIdx` with hash `leafHash` is in the
 * tree of `treeSize` leaves with root `root` (RFC 9162 §2.1.3.2).
 * Requires `0 <= leafIdx < treeSize`. Never throws.
 */
export function verifyInclusion(
  hasher: MerkleHasher,
  leafIdx: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): VerifyResult {
  return guard((): VerifyResult => {
    const pre = checkHasher(hasher) ?? checkHash('root', root, hasher.size);
    if (pre) return pre;
    const calc = rootFromInclusionProof(hasher, leafIdx, treeSize, leafHash, proof);
    if (!calc.ok) return calc;
    return bytesEqual(calc.root, root)
      ? OK
      : proofFailure('root-mismatch', 'root computed from the inclusion proof does not match the expected root');
  });
}

/**
 * Root of the tree of `size2` leaves implied by a consistency proof from the
 * tree of `size1` leaves with root `root1`, after checking that the proof
 * reproduces `root1` (RFC 9162 §2.1.4.2). Requires `0 < size1 <= size2`, or
 * `size1 === size2` (empty proof; returns `root1`). A root cannot be derived
 * from the empty tree: `size1 === 0 < size2` yields `invalid-argument`.
 * Never throws.
 */
export function rootFromConsistencyProof(
  hasher: MerkleHasher,
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): RootResult {
  return guard((): RootResult => {
    const pre =
      checkHasher(hasher) ??
      checkUint('size1', size1) ??
      checkUint('size2', size2) ??
      checkProofType(proof) ??
      checkHash('root1', root1, hasher.size);
    if (pre) return pre;
    if (size2 < size1) return proofFailure('size-order', `size2 (${size2}) < size1 (${size1})`);
    if (size1 === size2) {
      if (proof.length !== 0) return proofFailure('wrong-proof-size', 'size1 == size2, but the proof is not empty');
      return { ok: true, root: root1 };
    }
    if (size1 === 0) {
      return proofFailure('invalid-argument', 'a root cannot be derived from a consistency proof from the empty tree');
    }
    if (proof.length === 0) return proofFailure('wrong-proof-size', 'empty proof');

    const [inner0, border] = decompInclProof(size1 - 1, size2);
    const shift = trailingZeros(size1);
    const inner = inner0 - shift; // shift < inner0 because size1 < size2.

    // The proof starts with the root of the perfect subtree of size 2^shift
    // ending at size1, unless size1 is that very subtree (then it is root1).
    const seedFromRoot1 = size1 === 2 ** shift;
    const start = seedFromRoot1 ? 0 : 1;
    if (proof.length !== start + inner + border) {
      return proofFailure('wrong-proof-size', `wrong proof size ${proof.length}, want ${start + inner + border}`);
    }
    const badProof = checkProofHashes(proof, hasher.size);
    if (badProof) return badProof;

    const seed = seedFromRoot1 ? root1 : (proof[0] as Uint8Array);
    const rest = proof.slice(start);
    const innerPart = rest.slice(0, inner);
    const borderPart = rest.slice(inner);
    const mask = shr(size1 - 1, shift); // Start chaining from level `shift`.

    let hash1 = chainInnerRight(hasher, seed, innerPart, mask);
    hash1 = chainBorderRight(hasher, hash1, borderPart);
    if (!bytesEqual(hash1, root1)) {
      return proofFailure('root-mismatch', 'root1 computed from the consistency proof does not match root1');
    }
    let hash2 = chainInner(hasher, seed, innerPart, mask);
    hash2 = chainBorderRight(hasher, hash2, borderPart);
    return { ok: true, root: hash2 };
  });
}

/**
 * Verifies that the tree of `size1` leaves with root `root1` is a prefix of
 * the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2).
 *
 * Requires `0 <= size1 <= size2`, and well-sized roots. Special cases:
 * - `size1 === size2`: the proof must be empty and `root1` must equal `root2`;
 * - `size1 === 0`: the proof must be empty and `root1` must be the empty-tree
 *   root `hasher.emptyRoot()` (the empty tree is a prefix of every tree);
 * - otherwise the proof must be non-empty and of the exact expected length.
 *
 * Never throws.
 */
export function verifyConsistency(
  hasher: MerkleHasher,
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): VerifyResult {
  return guard((): VerifyResult => {
    const pre =
      checkHasher(hasher) ??
      checkUint('size1', size1) ??
      checkUint('size2', size2) ??
      checkProofType(proof) ??
      checkHash('root1', root1, hasher.size) ??
      checkHash('root2', root2, hasher.size);
    if (pre) return pre;
    if (size2 < size1) return proofFailure('size-order', `size2 (${size2}) < size1 (${size1})`);
    if (size1 === 0) {
      if (proof.length !== 0) {
        return proofFailure('wrong-proof-size', `consistency from the empty tree needs an empty proof, got ${proof.length} entries`);
      }
      if (!bytesEqual(root1, hasher.emptyRoot())) {
        return proofFailure('root-mismatch', 'size1 is 0 but root1 is not the empty-tree root');
      }
      if (size2 === 0 && !bytesEqual(root1, root2)) {
        return proofFailure('root-mismatch', 'size1 == size2 but root1 != root2');
      }
      return OK;
    }
    const calc = rootFromConsistencyProof(hasher, size1, size2, proof, root1);
    if (!calc.ok) return calc;
    if (!bytesEqual(calc.root, root2)) {
      return proofFailure(
        'root-mismatch',
        size1 === size2 ? 'size1 == size2 but root1 != root2' : 'root2 computed from the consistency proof does not match root2',
      );
    }
    return OK;
  });
}
