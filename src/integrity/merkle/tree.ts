/**
 * RFC 6962 / RFC 9162 Merkle tree construction: tree head (MTH), proof
 * generation over a node accessor, and the compact range ("frontier").
 *
 * Modelled on transparency-dev/merkle (`proof/proof.go`, `compact/range.go`,
 * `compact/nodes.go`). All functions are pure; storage is abstracted by the
 * {@link NodeAt} accessor so that a store keeping perfect-subtree hashes can
 * serve any proof with O(log n) reads.
 *
 * Node coordinates: node `(level, index)` is the root of the perfect subtree
 * of `2^level` leaves covering leaves `[index * 2^level, (index + 1) * 2^level)`.
 * Level 0 nodes are leaf hashes.
 *
 * Sizes and indices are JavaScript `number`s restricted to non-negative safe
 * integers (≤ 2^53 - 1). JavaScript bitwise operators work on 32 bits, so the
 * bit helpers below split values into two 32-bit halves.
 */
import { type MerkleHasher, fromBase64Strict, isHashOfSize, rfc6962Hasher, toBase64 } from './hasher.js';

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** Discriminant of {@link MerkleTreeError}. */
export type MerkleTreeErrorKind =
  | 'invalid-integer'
  | 'index-out-of-range'
  | 'size-order'
  | 'bad-hash-length'
  | 'missing-node'
  | 'capacity-exceeded'
  | 'invalid-state';

/**
 * Thrown by tree construction / proof generation when a documented
 * precondition is violated (these functions run on the trusted, server side;
 * the verifiers in `verify.ts` never throw).
 */
export class MerkleTreeError extends Error {
  override readonly name = 'MerkleTreeError';
  constructor(
    readonly kind: MerkleTreeErrorKind,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// 53-bit integer helpers (exported for verify.ts; not part of the public API)
// ---------------------------------------------------------------------------

const TWO32 = 0x1_0000_0000;

/** @internal True iff `n` is a non-negative safe integer. */
export function isSafeUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function hi32(n: number): number {
  return Math.floor(n / TWO32);
}
function lo32(n: number): number {
  return n >>> 0;
}

/** @internal `a ^ b` for non-negative safe integers. */
export function xor53(a: number, b: number): number {
  return ((hi32(a) ^ hi32(b)) >>> 0) * TWO32 + ((lo32(a) ^ lo32(b)) >>> 0);
}

/** @internal Number of bits needed to represent `n` (Go `bits.Len64`). */
export function bitLen(n: number): number {
  const h = hi32(n);
  return h !== 0 ? 64 - Math.clz32(h) : 32 - Math.clz32(lo32(n));
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** @internal Number of trailing zero bits of `n` (Go `bits.TrailingZeros64`; 64 for 0). */
export function trailingZeros(n: number): number {
  if (n === 0) return 64;
  const l = lo32(n);
  return l !== 0 ? ctz32(l) : 32 + ctz32(hi32(n));
}

function pop32(x: number): number {
  let v = x >>> 0;
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** @internal Number of one bits in `n` (Go `bits.OnesCount64`). */
export function onesCount(n: number): number {
  return pop32(lo32(n)) + pop32(hi32(n));
}

/** @internal `n >> k` for non-negative safe integers. */
export function shr(n: number, k: number): number {
  return Math.floor(n / 2 ** k);
}

/** @internal Bit `k` of `n` (0 or 1). */
export function bitAt(n: number, k: number): number {
  return shr(n, k) % 2;
}

function requireSafeUint(name: string, n: unknown): asserts n is number {
  if (!isSafeUint(n)) {
    throw new MerkleTreeError('invalid-integer', `${name} must be a non-negative safe integer, got ${String(n)}`);
  }
}

function requireHash(name: string, h: unknown, hasher: MerkleHasher): asserts h is Uint8Array {
  if (!isHashOfSize(h, hasher.size)) {
    const got = h instanceof Uint8Array ? `${h.length} bytes` : typeof h;
    throw new MerkleTreeError('bad-hash-length', `${name} must be a ${hasher.size}-byte Uint8Array, got ${got}`);
  }
}

function at<T>(arr: readonly T[], i: number): T {
  const v = arr[i];
  if (v === undefined) throw new MerkleTreeError('invalid-state', `internal: index ${i} out of bounds`);
  return v;
}

// ---------------------------------------------------------------------------
// Tree head
// ---------------------------------------------------------------------------

/**
 * Merkle Tree Hash (RFC 6962 §2.1 / RFC 9162 §2.1.1) of a list of leaf
 * hashes (i.e. already `hashLeaf`-ed entries). O(n) time, O(log n) memory.
 *
 * Requires every element to be a `hasher.size`-byte Uint8Array (else throws
 * {@link MerkleTreeError} `bad-hash-length`). Returns `hasher.emptyRoot()`
 * for an empty list.
 */
export function rootFromLeafHashes(
  leafHashes: readonly Uint8Array[],
  hasher: MerkleHasher = rfc6962Hasher,
): Uint8Array {
  const range = new CompactRange(hasher);
  for (const h of leafHashes) range.append(h);
  return range.root();
}

// ---------------------------------------------------------------------------
// Node IDs and proof plans (transparency-dev `compact.NodeID`, `proof.Nodes`)
// ---------------------------------------------------------------------------

/** Coordinates of a perfect-subtree node; see the module comment. */
export interface NodeID {
  readonly level: number;
  readonly index: number;
}

/**
 * Accessor for stored node hashes: returns the hash of the perfect subtree of
 * `2^level` leaves starting at leaf `index * 2^level`. The proof functions only
 * ask for nodes that are complete in the requested tree size. Must return a
 * `hasher.size`-byte Uint8Array (or throw).
 */
export type NodeAt = (level: number, index: number) => Uint8Array;

/** Asynchronous variant of {@link NodeAt}. */
export type NodeAtAsync = (level: number, index: number) => Promise<Uint8Array> | Uint8Array;

/**
 * How to build a proof from stored nodes (transparency-dev `proof.Nodes`):
 * fetch the hash of every node in `ids` (in order), then call
 * {@link rehashProof}. The slice `ids[begin:end]` (empty when `begin === end`)
 * holds the perfect subtrees that together form the single "ephemeral" node
 * on the tree's right border; they are ordered from lower to upper levels and
 * get folded into one proof entry.
 */
export interface ProofPlan {
  readonly ids: readonly NodeID[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Splits `[begin, end)` into the minimal set of perfect subtrees; returns
 * the `left` and `right` bit masks of transparency-dev `compact.Decompose`.
 * Requires `begin <= end`.
 */
function decompose(begin: number, end: number): [left: number, right: number] {
  if (begin === 0) return [0, end];
  const xbegin = begin - 1;
  const d = bitLen(xor53(xbegin, end)) - 1;
  const pow = 2 ** d;
  // left = ^xbegin & mask, right = end & mask, with mask = 2^d - 1.
  return [pow - 1 - (xbegin % pow), end % pow];
}

/**
 * IDs of the perfect subtrees forming the compact range `[begin, end)`,
 * ordered left to right (so, for `begin = 0`, from the highest level down).
 * Requires `0 <= begin <= end` (safe integers); at most 2·53 nodes.
 */
export function rangeNodes(begin: number, end: number): NodeID[] {
  requireSafeUint('begin', begin);
  requireSafeUint('end', end);
  if (end < begin) throw new MerkleTreeError('size-order', `range end ${end} < begin ${begin}`);
  let [left, right] = decompose(begin, end);
  const ids: NodeID[] = [];
  let pos = begin;
  while (left !== 0) {
    const level = trailingZeros(left);
    const bit = 2 ** level;
    ids.push({ level, index: shr(pos, level) });
    pos += bit;
    left -= bit;
  }
  while (right !== 0) {
    const level = bitLen(right) - 1;
    const bit = 2 ** level;
    ids.push({ level, index: shr(pos, level) });
    pos += bit;
    right -= bit;
  }
  return ids;
}

interface MutablePlan {
  ids: NodeID[];
  begin: number;
  end: number;
}

/** transparency-dev `proof.nodes`: IDs proving node (level, index) in a tree of `size` leaves. */
function planNodes(index: number, level: number, size: number): MutablePlan {
  // The fork is where the path to (level, index) diverges from the path to
  // leaf `size`; its sibling is the (possibly) ephemeral node.
  const inner = bitLen(xor53(index, shr(size, level))) - 1;
  const forkLevel = level + inner;
  const forkIndex = shr(index, inner);
  const begin = forkIndex * 2 ** forkLevel;
  const end = (forkIndex + 1) * 2 ** forkLevel;

  const ids: NodeID[] = [{ level, index }];
  let nodeLevel = level;
  let nodeIndex = index;
  for (; nodeLevel < forkLevel; nodeLevel++, nodeIndex = shr(nodeIndex, 1)) {
    ids.push({ level: nodeLevel, index: nodeIndex % 2 === 0 ? nodeIndex + 1 : nodeIndex - 1 });
  }
  const len1 = ids.length;
  // Right of the fork: the perfect subtrees that make up the ephemeral node,
  // lower levels first.
  ids.push(...rangeNodes(end, size).reverse());
  const len2 = ids.length;
  // Left of the fork: the border nodes, lower levels first.
  ids.push(...rangeNodes(0, begin).reverse());

  return len1 < len2 ? { ids, begin: len1, end: len2 } : { ids, begin: 0, end: 0 };
}

function skipFirst(p: MutablePlan): ProofPlan {
  const ids = p.ids.slice(1);
  return p.begin < p.end ? { ids, begin: p.begin - 1, end: p.end - 1 } : { ids, begin: 0, end: 0 };
}

/**
 * Plan of the inclusion proof (RFC 9162 §2.1.3.1) for leaf `index` in the
 * tree of `size` leaves. Requires `0 <= index < size` (safe integers); throws
 * {@link MerkleTreeError} otherwise.
 */
export function inclusionProofNodes(index: number, size: number): ProofPlan {
  requireSafeUint('index', index);
  requireSafeUint('size', size);
  if (index >= size) {
    throw new MerkleTreeError('index-out-of-range', `index ${index} out of range for tree size ${size}`);
  }
  return skipFirst(planNodes(index, 0, size));
}

/**
 * Plan of the consistency proof (RFC 9162 §2.1.4.1) between tree sizes
 * `size1` and `size2`. Requires `0 <= size1 <= size2` (safe integers); the
 * proof is empty when `size1 === size2` or `size1 === 0` (the empty tree is a
 * prefix of every tree; see `verifyConsistency`).
 */
export function consistencyProofNodes(size1: number, size2: number): ProofPlan {
  requireSafeUint('size1', size1);
  requireSafeUint('size2', size2);
  if (size1 > size2) throw new MerkleTreeError('size-order', `size1 ${size1} > size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return { ids: [], begin: 0, end: 0 };
  // Root of the biggest perfect subtree ending at size1.
  const level = trailingZeros(size1);
  const index = shr(size1 - 1, level);
  const p = planNodes(index, level, size2);
  // If size1 is a power of two, that node is the old root: the verifier knows it.
  return size1 === 2 ** level ? skipFirst(p) : { ids: p.ids, begin: p.begin, end: p.end };
}

/**
 * Builds the proof from the hashes of `plan.ids` (same order and length):
 * folds `hashes[begin:end]` into the ephemeral node (transparency-dev
 * `Nodes.Rehash`). Does not modify `hashes`.
 */
export function rehashProof(
  plan: ProofPlan,
  hashes: readonly Uint8Array[],
  hasher: MerkleHasher = rfc6962Hasher,
): Uint8Array[] {
  if (hashes.length !== plan.ids.length) {
    throw new MerkleTreeError('invalid-state', `got ${hashes.length} hashes, plan has ${plan.ids.length} nodes`);
  }
  hashes.forEach((h, i) => requireHash(`hashes[${i}]`, h, hasher));
  const out: Uint8Array[] = [];
  for (let i = 0; i < hashes.length; i++) {
    let hash = at(hashes, i);
    if (i === plan.begin && plan.begin < plan.end) {
      for (i++; i < plan.end; i++) hash = hasher.hashChildren(at(hashes, i), hash);
      i--;
    }
    out.push(hash);
  }
  return out;
}

function fetchAll(ids: readonly NodeID[], nodeAt: NodeAt): Uint8Array[] {
  return ids.map(({ level, index }) => nodeAt(level, index));
}

/**
 * Inclusion proof (RFC 9162 §2.1.3.1 PATH) for leaf `index` in the tree of
 * `size` leaves, read from `nodeAt` with O(log size) calls.
 * Requires `0 <= index < size` and that `nodeAt` serves every perfect subtree
 * of the first `size` leaves. Throws {@link MerkleTreeError} on violations.
 */
export function inclusionProof(
  index: number,
  size: number,
  nodeAt: NodeAt,
  hasher: MerkleHasher = rfc6962Hasher,
): Uint8Array[] {
  const plan = inclusionProofNodes(index, size);
  return rehashProof(plan, fetchAll(plan.ids, nodeAt), hasher);
}

/**
 * Consistency proof (RFC 9162 §2.1.4.1 PROOF) from tree size `size1` to
 * `size2`, read from `nodeAt` with O(log size2) calls. Requires
 * `0 <= size1 <= size2`; empty when `size1 === 0` or `size1 === size2`.
 */
export function consistencyProof(
  size1: number,
  size2: number,
  nodeAt: NodeAt,
  hasher: MerkleHasher = rfc6962Hasher,
): Uint8Array[] {
  const plan = consistencyProofNodes(size1, size2);
  return rehashProof(plan, fetchAll(plan.ids, nodeAt), hasher);
}

/** {@link inclusionProof} over an asynchronous accessor (reads run concurrently). */
export async function inclusionProofAsync(
  index: number,
  size: number,
  nodeAt: NodeAtAsync,
  hasher: MerkleHasher = rfc6962Hasher,
): Promise<Uint8Array[]> {
  const plan = inclusionProofNodes(index, size);
  const hashes = await Promise.all(plan.ids.map(({ level, index: i }) => nodeAt(level, i)));
  return rehashProof(plan, hashes, hasher);
}

/** {@link consistencyProof} over an asynchronous accessor (reads run concurrently). */
export async function consistencyProofAsync(
  size1: number,
  size2: number,
  nodeAt: NodeAtAsync,
  hasher: MerkleHasher = rfc6962Hasher,
): Promise<Uint8Array[]> {
  const plan = consistencyProofNodes(size1, size2);
  const hashes = await Promise.all(plan.ids.map(({ level, index }) => nodeAt(level, index)));
  return rehashProof(plan, hashes, hasher);
}

/**
 * Root hash of the tree of the first `size` leaves, from the O(log size)
 * perfect subtrees of its compact range (so any historical tree head can be
 * recomputed from stored nodes). `hasher.emptyRoot()` for `size === 0`.
 */
export function rootFromNodes(size: number, nodeAt: NodeAt, hasher: MerkleHasher = rfc6962Hasher): Uint8Array {
  const ids = rangeNodes(0, size);
  if (ids.length === 0) return hasher.emptyRoot();
  const hashes = fetchAll(ids, nodeAt);
  hashes.forEach((h, i) => requireHash(`node ${JSON.stringify(ids[i])}`, h, hasher));
  return foldRight(hashes, hasher);
}

/** Root of a compact range starting at 0: hashes are ordered left to right. */
function foldRight(hashes: readonly Uint8Array[], hasher: MerkleHasher): Uint8Array {
  let hash = at(hashes, hashes.length - 1);
  for (let i = hashes.length - 2; i >= 0; i--) hash = hasher.hashChildren(at(hashes, i), hash);
  return hash;
}

// ---------------------------------------------------------------------------
// Compact range
// ---------------------------------------------------------------------------

/** Receives every newly completed perfect-subtree node (level ≥ 0). */
export type OnNode = (level: number, index: number, hash: Uint8Array) => void;

/** Checkpointable state of a {@link CompactRange}: hashes in standard base64. */
export interface CompactRangeJSON {
  readonly size: number;
  readonly hashes: readonly string[];
}

/**
 * Compact range `[0, size)` (transparency-dev `compact.Range` with begin 0,
 * a.k.a. the Merkle "frontier"): the roots of the minimal set of perfect
 * subtrees covering the first `size` leaves, ordered left to right (highest
 * level first). Holds `popcount(size) <= 53` hashes, i.e. O(log n) memory.
 */
export class CompactRange {
  readonly #hasher: MerkleHasher;
  #size = 0;
  #hashes: Uint8Array[] = [];

  /** An empty range (size 0). */
  constructor(hasher: MerkleHasher = rfc6962Hasher) {
    this.#hasher = hasher;
  }

  /**
   * Range of `size` leaves from its perfect-subtree root hashes, ordered left
   * to right. Requires `hashes.length === popcount(size)` and well-sized
   * hashes; throws {@link MerkleTreeError} otherwise. Hashes are copied.
   */
  static fromHashes(size: number, hashes: readonly Uint8Array[], hasher: MerkleHasher = rfc6962Hasher): CompactRange {
    requireSafeUint('size', size);
    if (!Array.isArray(hashes) || hashes.length !== onesCount(size)) {
      throw new MerkleTreeError(
        'invalid-state',
        `compact range of size ${size} needs ${onesCount(size)} hashes, got ${Array.isArray(hashes) ? hashes.length : typeof hashes}`,
      );
    }
    hashes.forEach((h, i) => requireHash(`hashes[${i}]`, h, hasher));
    const r = new CompactRange(hasher);
    r.#size = size;
    r.#hashes = hashes.map((h) => h.slice());
    return r;
  }

  /**
   * Restores a range saved with {@link CompactRange.toJSON} (accepts the
   * parsed object). Validates strictly; throws {@link MerkleTreeError}
   * `invalid-state` on any malformed input.
   */
  static fromJSON(json: unknown, hasher: MerkleHasher = rfc6962Hasher): CompactRange {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new MerkleTreeError('invalid-state', 'compact range JSON must be an object');
    }
    const keys = Object.keys(json);
    if (keys.length !== 2 || !('size' in json) || !('hashes' in json)) {
      throw new MerkleTreeError('invalid-state', `compact range JSON must have exactly "size" and "hashes", got ${keys.join(',')}`);
    }
    const { size, hashes } = json;
    if (!isSafeUint(size)) throw new MerkleTreeError('invalid-state', 'compact range JSON: bad "size"');
    if (!Array.isArray(hashes)) throw new MerkleTreeError('invalid-state', 'compact range JSON: "hashes" must be an array');
    const decoded = hashes.map((h: unknown, i) => {
      const bytes = fromBase64Strict(h);
      if (bytes === undefined) throw new MerkleTreeError('invalid-state', `compact range JSON: hashes[${i}] is not base64`);
      return bytes;
    });
    try {
      return CompactRange.fromHashes(size, decoded, hasher);
    } catch (e) {
      throw e instanceof MerkleTreeError ? new MerkleTreeError('invalid-state', `compact range JSON: ${e.message}`) : e;
    }
  }

  /** Number of leaves covered. */
  get size(): number {
    return this.#size;
  }

  /** The hasher this range was created with. */
  get hasher(): MerkleHasher {
    return this.#hasher;
  }

  /** Copies of the perfect-subtree roots, ordered left to right. */
  hashes(): Uint8Array[] {
    return this.#hashes.map((h) => h.slice());
  }

  /**
   * Appends leaf hash `leafHash` as leaf number `size`. Reports through
   * `onNode`, bottom-up, every perfect-subtree node completed by this leaf:
   * the leaf itself `(0, size)`, then each merged parent. Requires a
   * `hasher.size`-byte hash and `size < 2^53 - 1`.
   *
   * The range is updated only after all `onNode` calls returned: if the
   * callback throws (e.g. a failed write), the range is left unchanged.
   */
  append(leafHash: Uint8Array, onNode?: OnNode): void {
    requireHash('leafHash', leafHash, this.#hasher);
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new MerkleTreeError('capacity-exceeded', 'tree size would exceed Number.MAX_SAFE_INTEGER');
    }
    const emitted: Array<[number, number, Uint8Array]> = [];
    let hash: Uint8Array = leafHash.slice();
    let level = 0;
    let index = this.#size;
    emitted.push([level, index, hash]);
    let keep = this.#hashes.length;
    // A right child (odd index) completes its parent with the left sibling,
    // which is the last hash of the range.
    while (index % 2 === 1) {
      keep--;
      hash = this.#hasher.hashChildren(at(this.#hashes, keep), hash);
      level++;
      index = shr(index, 1);
      emitted.push([level, index, hash]);
    }
    if (onNode) {
      for (const [l, i, h] of emitted) onNode(l, i, h.slice());
    }
    this.#hashes = this.#hashes.slice(0, keep);
    this.#hashes.push(hash);
    this.#size++;
  }

  /** Root hash (MTH) of the first `size` leaves; `hasher.emptyRoot()` if empty. */
  root(): Uint8Array {
    if (this.#hashes.length === 0) return this.#hasher.emptyRoot();
    return foldRight(this.#hashes, this.#hasher).slice();
  }

  /** Independent copy of this range. */
  clone(): CompactRange {
    return CompactRange.fromHashes(this.#size, this.#hashes, this.#hasher);
  }

  /** Checkpointable state; restore with {@link CompactRange.fromJSON}. */
  toJSON(): CompactRangeJSON {
    return { size: this.#size, hashes: this.#hashes.map(toBase64) };
  }
}

// ---------------------------------------------------------------------------
// In-memory tree
// ---------------------------------------------------------------------------

/**
 * Whole tree kept in memory, one array of node hashes per level, fed by a
 * {@link CompactRange}. Meant for tests and small trees; a persistent store
 * does the same with `CompactRange.append(hash, onNode)` + a `NodeAt` reader.
 */
export class InMemoryMerkleTree {
  readonly #levels: Uint8Array[][] = [];
  readonly #range: CompactRange;

  constructor(hasher: MerkleHasher = rfc6962Hasher) {
    this.#range = new CompactRange(hasher);
  }

  /** Tree built from leaf hashes (already `hashLeaf`-ed). */
  static fromLeafHashes(leafHashes: readonly Uint8Array[], hasher: MerkleHasher = rfc6962Hasher): InMemoryMerkleTree {
    const t = new InMemoryMerkleTree(hasher);
    for (const h of leafHashes) t.append(h);
    return t;
  }

  get size(): number {
    return this.#range.size;
  }

  get hasher(): MerkleHasher {
    return this.#range.hasher;
  }

  /** Appends a leaf hash; returns its leaf index. */
  append(leafHash: Uint8Array): number {
    const index = this.#range.size;
    this.#range.append(leafHash, (level, i, hash) => {
      const row = this.#levels[level] ?? (this.#levels[level] = []);
      if (row.length !== i) throw new MerkleTreeError('invalid-state', `node (${level}, ${i}) emitted out of order`);
      row.push(hash);
    });
    return index;
  }

  /** Hashes `data` as a leaf and appends it; returns its leaf index. */
  appendData(data: Uint8Array): number {
    return this.append(this.hasher.hashLeaf(data));
  }

  /**
   * Node accessor over the stored levels (returns a copy). Throws
   * {@link MerkleTreeError} `missing-node` for nodes not complete yet.
   */
  readonly nodeAt: NodeAt = (level, index) => {
    const h = this.#levels[level]?.[index];
    if (h === undefined) throw new MerkleTreeError('missing-node', `no complete node (${level}, ${index}) in tree of size ${this.size}`);
    return h.slice();
  };

  /** Leaf hash at `index` (requires `0 <= index < size`). */
  leafHash(index: number): Uint8Array {
    requireSafeUint('index', index);
    if (index >= this.size) throw new MerkleTreeError('index-out-of-range', `index ${index} >= size ${this.size}`);
    return this.nodeAt(0, index);
  }

  /** Current root hash. */
  root(): Uint8Array {
    return this.#range.root();
  }

  /** Root hash of the first `size` leaves (requires `0 <= size <= this.size`). */
  rootAt(size: number): Uint8Array {
    requireSafeUint('size', size);
    if (size > this.size) throw new MerkleTreeError('size-order', `size ${size} > tree size ${this.size}`);
    return rootFromNodes(size, this.nodeAt, this.hasher);
  }

  /** Current compact range (a copy). */
  compactRange(): CompactRange {
    return this.#range.clone();
  }

  /** Inclusion proof of leaf `index` in the tree of `size` leaves (default: current size). */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.#requireSize(size);
    return inclusionProof(index, size, this.nodeAt, this.hasher);
  }

  /** Consistency proof from `size1` to `size2` (default: current size). */
  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    this.#requireSize(size2);
    return consistencyProof(size1, size2, this.nodeAt, this.hasher);
  }

  #requireSize(size: number): void {
    requireSafeUint('size', size);
    if (size > this.size) throw new MerkleTreeError('size-order', `size ${size} > tree size ${this.size}`);
  }
}
