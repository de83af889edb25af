/**
 * Known-answer tests for the RFC 6962 Merkle core.
 *
 * Where each expected value comes from:
 * - LEAF_INPUTS: the 8 leaf inputs of the RFC 6962 reference tree, as listed in
 *   transparency-dev/merkle `testonly/constants.go` (`LeafInputs`) and in the
 *   README of the shared conformance vectors.
 * - REFERENCE_ROOTS (sizes 0..8): copied from transparency-dev/merkle
 *   `testonly/constants.go` (`RootHashes`; size 0 is `EmptyRootHash`). They are
 *   ALSO recomputed below by `naiveMth`, a deliberately naive recursive
 *   transcription of the MTH definition of RFC 6962 §2.1, independent of the
 *   code under test.
 * - The size-8 root 5dc9da79...4328 is additionally hard-checked against the
 *   literal printed in /work/shared/vectors/rfc6962/README.md, and the empty
 *   root against the well-known SHA-256("") = e3b0c442...b855.
 * - REFERENCE_NODES: `NodeHashes` of `testonly/constants.go` (every perfect
 *   subtree of the 8-leaf tree), also cross-checked with `naiveMth`.
 * - GO_INCLUSION_PROOFS / GO_CONSISTENCY_PROOFS: the known-good proofs of
 *   transparency-dev/merkle `proof/verify_test.go` (`inclusionProofs`,
 *   `consistencyProofs`; leaf numbers there are 1-based).
 * - All other proofs are compared with `naivePath` / `naiveProof`, naive
 *   recursive transcriptions of PATH (RFC 6962 §2.1.1) and PROOF/SUBPROOF
 *   (RFC 6962 §2.1.2) written in this file.
 */
import { createHash } from 'node:crypto';
import {
  CompactRange,
  InMemoryMerkleTree,
  MerkleTreeError,
  type MerkleHasher,
  consistencyProof,
  consistencyProofAsync,
  inclusionProof,
  inclusionProofAsync,
  rfc6962Hasher,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  rootFromLeafHashes,
  rootFromNodes,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/integrity/merkle/index.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---- Naive reference implementation, straight from the RFC 6962 text -------

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  parts.forEach((p) => h.update(p));
  return new Uint8Array(h.digest());
};
/** Largest power of two strictly smaller than n (n > 1). */
const splitPoint = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
/** MTH(D[n]) over raw leaf inputs, RFC 6962 §2.1. */
function naiveMth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256();
  if (d.length === 1) return sha256(Uint8Array.of(0), d[0] as Uint8Array);
  const k = splitPoint(d.length);
  return sha256(Uint8Array.of(1), naiveMth(d.slice(0, k)), naiveMth(d.slice(k)));
}
/** PATH(m, D[n]), RFC 6962 §2.1.1. */
function naivePath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const k = splitPoint(d.length);
  return m < k
    ? [...naivePath(m, d.slice(0, k)), naiveMth(d.slice(k))]
    : [...naivePath(m - k, d.slice(k)), naiveMth(d.slice(0, k))];
}
/** SUBPROOF(m, D[n], b), RFC 6962 §2.1.2. */
function naiveSubproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [naiveMth(d)];
  const k = splitPoint(n);
  return m <= k
    ? [...naiveSubproof(m, d.slice(0, k), b), naiveMth(d.slice(k))]
    : [...naiveSubproof(m - k, d.slice(k), false), naiveMth(d.slice(0, k))];
}
/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 6962 §2.1.2 (for 0 < m <= n). */
const naiveProof = (m: number, d: readonly Uint8Array[]): Uint8Array[] => naiveSubproof(m, d, true);

// ---- Reference data --------------------------------------------------------

const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);

const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // SHA-256("")
const README_ROOT8_HEX = '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'; // vectors README

/** testonly/constants.go RootHashes(): index = tree size. */
const REFERENCE_ROOTS = [
  EMPTY_ROOT_HEX,
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** testonly/constants.go NodeHashes(): [level][index]. */
const REFERENCE_NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

/** proof/verify_test.go inclusionProofs: leaf index here is 0-based (Go lists 1-based). */
const GO_INCLUSION_PROOFS: Array<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

/** proof/verify_test.go consistencyProofs. */
const GO_CONSISTENCY_PROOFS: Array<{ size1: number; size2: number; proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const H = rfc6962Hasher;
const referenceLeafHashes = LEAF_INPUTS.map((d) => H.hashLeaf(d));
const referenceTree = InMemoryMerkleTree.fromLeafHashes(referenceLeafHashes);

/** Deterministic pseudo-random leaf inputs for the exhaustive small-tree checks. */
const leafInputs = (n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => sha256(new TextEncoder().encode(`leaf-${i}`)).subarray(0, 1 + (i % 17)));

describe('rfc6962Hasher', () => {
  it('hashes with the RFC 6962 domain separation prefixes', () => {
    const a = hex('0102');
    const b = hex('0304');
    expect(H.size).toBe(32);
    expect(toHex(H.emptyRoot())).toBe(EMPTY_ROOT_HEX);
    expect(H.hashLeaf(a)).toEqual(sha256(hex('00'), a));
    expect(H.hashChildren(a, b)).toEqual(sha256(hex('01'), a, b));
  });

  it('returns fresh arrays (callers may mutate results)', () => {
    const e = H.emptyRoot();
    e[0] = 0;
    expect(toHex(H.emptyRoot())).toBe(EMPTY_ROOT_HEX);
  });
});

describe('RFC 6962 reference tree (8 leaves)', () => {
  it('the hard-coded reference roots agree with the README literal, SHA-256("") and the naive MTH', () => {
    expect(REFERENCE_ROOTS[8]).toBe(README_ROOT8_HEX);
    expect(REFERENCE_ROOTS[0]).toBe(EMPTY_ROOT_HEX);
    for (let size = 0; size <= 8; size++) {
      expect(toHex(naiveMth(LEAF_INPUTS.slice(0, size)))).toBe(REFERENCE_ROOTS[size]);
    }
  });

  it.each(REFERENCE_ROOTS.map((root, size) => [size, root] as const))(
    'size %i: rootFromLeafHashes / CompactRange / rootFromNodes give %s',
    (size, root) => {
      const leaves = referenceLeafHashes.slice(0, size);
      expect(toHex(rootFromLeafHashes(leaves))).toBe(root);
      const range = new CompactRange();
      leaves.forEach((l) => range.append(l));
      expect(toHex(range.root())).toBe(root);
      expect(toHex(rootFromNodes(size, referenceTree.nodeAt))).toBe(root);
      expect(toHex(referenceTree.rootAt(size))).toBe(root);
    },
  );

  it('stores exactly the reference perfect-subtree node hashes', () => {
    REFERENCE_NODES.forEach((row, level) =>
      row.forEach((h, index) => {
        expect(toHex(referenceTree.nodeAt(level, index))).toBe(h);
        const width = 2 ** level;
        expect(toHex(naiveMth(LEAF_INPUTS.slice(index * width, (index + 1) * width)))).toBe(h);
      }),
    );
    expect(() => referenceTree.nodeAt(4, 0)).toThrow(MerkleTreeError);
    expect(() => referenceTree.nodeAt(0, 8)).toThrow(MerkleTreeError);
  });

  it('compact range hashes match testonly CompactTrees() at every size', () => {
    const expected: string[][] = [
      [],
      ['0:0'],
      ['1:0'],
      ['1:0', '0:2'],
      ['2:0'],
      ['2:0', '0:4'],
      ['2:0', '1:2'],
      ['2:0', '1:2', '0:6'],
      ['3:0'],
    ];
    const range = new CompactRange();
    for (let size = 0; size <= 8; size++) {
      const want = (expected[size] ?? []).map((id) => {
        const [level, index] = id.split(':').map(Number) as [number, number];
        return REFERENCE_NODES[level]?.[index];
      });
      expect(range.hashes().map(toHex)).toEqual(want);
      const leaf = referenceLeafHashes[size];
      if (leaf) range.append(leaf);
    }
  });

  it.each(GO_INCLUSION_PROOFS)('inclusion proof for leaf $index in tree of size $size matches verify_test.go', ({ index, size, proof }) => {
    const got = referenceTree.inclusionProof(index, size);
    expect(got.map(toHex)).toEqual(proof);
    const leaf = referenceLeafHashes[index] as Uint8Array;
    expect(verifyInclusion(H, index, size, leaf, got, hex(REFERENCE_ROOTS[size] as string))).toEqual({ ok: true });
  });

  it.each(GO_CONSISTENCY_PROOFS)('consistency proof $size1 -> $size2 matches verify_test.go', ({ size1, size2, proof }) => {
    const got = referenceTree.consistencyProof(size1, size2);
    expect(got.map(toHex)).toEqual(proof);
    const r1 = hex(REFERENCE_ROOTS[size1] as string);
    const r2 = hex(REFERENCE_ROOTS[size2] as string);
    expect(verifyConsistency(H, size1, size2, got, r1, r2)).toEqual({ ok: true });
  });
});

describe('proofs from nodeAt equal the naive RFC 6962 PATH / PROOF (all sizes 1..40)', () => {
  const MAX = 40;
  const inputs = leafInputs(MAX);
  const tree = InMemoryMerkleTree.fromLeafHashes(inputs.map((d) => H.hashLeaf(d)));

  it('inclusion: every (index, size)', () => {
    for (let n = 1; n <= MAX; n++) {
      const d = inputs.slice(0, n);
      const root = naiveMth(d);
      expect(tree.rootAt(n)).toEqual(root);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, tree.nodeAt);
        expect(proof.map(toHex)).toEqual(naivePath(m, d).map(toHex));
        expect(verifyInclusion(H, m, n, H.hashLeaf(inputs[m] as Uint8Array), proof, root)).toEqual({ ok: true });
        const calc = rootFromInclusionProof(H, m, n, H.hashLeaf(inputs[m] as Uint8Array), proof);
        expect(calc.ok && toHex(calc.root)).toBe(toHex(root));
      }
    }
  });

  it('consistency: every (size1, size2)', () => {
    for (let n = 1; n <= MAX; n++) {
      const d = inputs.slice(0, n);
      const root2 = naiveMth(d);
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, tree.nodeAt);
        expect(proof.map(toHex)).toEqual(naiveProof(m, d).map(toHex));
        const root1 = naiveMth(inputs.slice(0, m));
        expect(verifyConsistency(H, m, n, proof, root1, root2)).toEqual({ ok: true });
        const calc = rootFromConsistencyProof(H, m, n, proof, root1);
        expect(calc.ok && toHex(calc.root)).toBe(toHex(root2));
      }
      expect(consistencyProof(0, n, tree.nodeAt)).toEqual([]);
    }
  });

  it('reads O(log n) nodes per proof', () => {
    const big = InMemoryMerkleTree.fromLeafHashes(leafInputs(1000).map((d) => H.hashLeaf(d)));
    let calls = 0;
    const counting = (level: number, index: number): Uint8Array => {
      calls++;
      return big.nodeAt(level, index);
    };
    let max = 0;
    for (const n of [1, 2, 3, 7, 8, 9, 255, 256, 257, 511, 777, 1000]) {
      const bound = 2 * Math.ceil(Math.log2(n)) + 1;
      for (const m of [0, 1, Math.floor(n / 2), n - 2, n - 1].filter((x) => x >= 0 && x < n)) {
        calls = 0;
        inclusionProof(m, n, counting);
        expect(calls).toBeLessThanOrEqual(bound);
        max = Math.max(max, calls);
        calls = 0;
        consistencyProof(m + 1, n, counting);
        expect(calls).toBeLessThanOrEqual(bound);
      }
    }
    expect(max).toBeGreaterThan(0);
  });

  it('async accessors produce the same proofs', async () => {
    const asyncNodeAt = (level: number, index: number): Promise<Uint8Array> => Promise.resolve(tree.nodeAt(level, index));
    await expect(inclusionProofAsync(13, 37, asyncNodeAt)).resolves.toEqual(inclusionProof(13, 37, tree.nodeAt));
    await expect(consistencyProofAsync(13, 37, asyncNodeAt)).resolves.toEqual(consistencyProof(13, 37, tree.nodeAt));
  });
});

describe('proof generation preconditions', () => {
  it('throws MerkleTreeError with a kind on bad arguments', () => {
    const nodeAt = referenceTree.nodeAt;
    const kindOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return e instanceof MerkleTreeError ? e.kind : 'other';
      }
      return undefined;
    };
    expect(kindOf(() => inclusionProof(8, 8, nodeAt))).toBe('index-out-of-range');
    expect(kindOf(() => inclusionProof(-1, 8, nodeAt))).toBe('invalid-integer');
    expect(kindOf(() => inclusionProof(0.5, 8, nodeAt))).toBe('invalid-integer');
    expect(kindOf(() => consistencyProof(5, 4, nodeAt))).toBe('size-order');
    expect(kindOf(() => consistencyProof(1, 2 ** 53, nodeAt))).toBe('invalid-integer');
    expect(kindOf(() => inclusionProof(3, 9, nodeAt))).toBe('missing-node');
    expect(kindOf(() => rootFromLeafHashes([new Uint8Array(31)]))).toBe('bad-hash-length');
    expect(kindOf(() => new CompactRange().append(new Uint8Array(33)))).toBe('bad-hash-length');
  });

  it('works for sizes beyond 2^32 (53-bit index arithmetic)', () => {
    // A consistent synthetic tree whose leaves all have the same hash, so the
    // perfect subtree at level l has hash P[l] = H(P[l-1], P[l-1]) whatever its index.
    const perfect: Uint8Array[] = [H.hashLeaf(hex('2a'))];
    for (let l = 1; l <= 53; l++) perfect.push(H.hashChildren(perfect[l - 1] as Uint8Array, perfect[l - 1] as Uint8Array));
    const nodeAt = (level: number, _index: number): Uint8Array => perfect[level] as Uint8Array;
    for (const [index, size] of [
      [2 ** 32 + 5, 2 ** 33 + 3],
      [2 ** 52 - 1, 2 ** 53 - 1],
      [0, Number.MAX_SAFE_INTEGER],
      [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const proof = inclusionProof(index, size, nodeAt);
      const leaf = nodeAt(0, index);
      const calc = rootFromInclusionProof(H, index, size, leaf, proof);
      expect(calc.ok).toBe(true);
      if (!calc.ok) continue;
      expect(calc.root).toEqual(rootFromNodes(size, nodeAt));
      expect(verifyInclusion(H, index, size, leaf, proof, calc.root)).toEqual({ ok: true });

      const cproof = consistencyProof(index + 1, size, nodeAt);
      const r1 = rootFromNodes(index + 1, nodeAt);
      expect(verifyConsistency(H, index + 1, size, cproof, r1, calc.root)).toEqual({ ok: true });
    }
  });
});

describe('verifier edge cases (never throw, typed errors)', () => {
  const root8 = hex(README_ROOT8_HEX);
  const empty = hex(EMPTY_ROOT_HEX);
  const leaf0 = referenceLeafHashes[0] as Uint8Array;
  const kind = (r: { ok: boolean; error?: { kind: string } }): string => (r.ok ? 'ok' : (r.error?.kind ?? '?'));

  it('consistency special cases (size1 == size2, size1 == 0)', () => {
    expect(kind(verifyConsistency(H, 0, 0, [], empty, empty))).toBe('ok');
    expect(kind(verifyConsistency(H, 0, 8, [], empty, root8))).toBe('ok');
    expect(kind(verifyConsistency(H, 0, 8, [empty], empty, root8))).toBe('wrong-proof-size');
    expect(kind(verifyConsistency(H, 0, 8, [], root8, root8))).toBe('root-mismatch');
    expect(kind(verifyConsistency(H, 8, 8, [], root8, root8))).toBe('ok');
    expect(kind(verifyConsistency(H, 8, 8, [], root8, empty))).toBe('root-mismatch');
    expect(kind(verifyConsistency(H, 8, 8, [empty], root8, root8))).toBe('wrong-proof-size');
    expect(kind(verifyConsistency(H, 2, 1, [], root8, root8))).toBe('size-order');
    expect(kind(verifyConsistency(H, 1, 2, [], leaf0, root8))).toBe('wrong-proof-size');
    expect(kind(rootFromConsistencyProof(H, 0, 8, [], empty))).toBe('invalid-argument');
  });

  it('inclusion special cases', () => {
    expect(kind(verifyInclusion(H, 0, 1, leaf0, [], leaf0))).toBe('ok');
    expect(kind(verifyInclusion(H, 0, 0, leaf0, [], leaf0))).toBe('index-out-of-range');
    expect(kind(verifyInclusion(H, 1, 1, leaf0, [], leaf0))).toBe('index-out-of-range');
    expect(kind(verifyInclusion(H, 0, 1, new Uint8Array(0), [], leaf0))).toBe('bad-hash-length');
    expect(kind(verifyInclusion(H, 0, 1, leaf0, [], new Uint8Array(0)))).toBe('bad-hash-length');
    expect(kind(verifyInclusion(H, 0, 1, leaf0, [], empty))).toBe('root-mismatch');
    expect(kind(verifyInclusion(H, 0, 2, leaf0, [new Uint8Array(5)], root8))).toBe('bad-hash-length');
  });

  it('rejects bad runtime types and unsafe integers instead of throwing', () => {
    const bad = <T>(v: unknown): T => v as T;
    expect(kind(verifyInclusion(H, -1, 8, leaf0, [], root8))).toBe('invalid-integer');
    expect(kind(verifyInclusion(H, 2 ** 64, 8, leaf0, [], root8))).toBe('invalid-integer');
    expect(kind(verifyInclusion(H, 0, Number.NaN, leaf0, [], root8))).toBe('invalid-integer');
    expect(kind(verifyInclusion(H, bad('0'), 8, leaf0, [], root8))).toBe('invalid-integer');
    expect(kind(verifyInclusion(H, 0, 8, leaf0, bad(null), root8))).toBe('invalid-argument');
    expect(kind(verifyInclusion(H, 0, 8, leaf0, bad(['x']), root8))).toBe('invalid-argument');
    expect(kind(verifyInclusion(H, 0, 8, bad('leaf'), [], root8))).toBe('invalid-argument');
    expect(kind(verifyInclusion(bad(null), 0, 8, leaf0, [], root8))).toBe('invalid-argument');
    expect(kind(verifyConsistency(H, 1.5, 8, [], root8, root8))).toBe('invalid-integer');
    expect(kind(verifyConsistency(H, 1, 8, bad(undefined), leaf0, root8))).toBe('invalid-argument');
    expect(kind(verifyConsistency(H, 1, 8, [], bad({}), root8))).toBe('invalid-argument');
  });

  it('turns a throwing hasher into an internal-error rejection', () => {
    const throwing: MerkleHasher = {
      size: 32,
      emptyRoot: () => H.emptyRoot(),
      hashLeaf: () => {
        throw new Error('boom');
      },
      hashChildren: () => {
        throw new Error('boom');
      },
    };
    const proof = referenceTree.inclusionProof(0, 8);
    expect(kind(verifyInclusion(throwing, 0, 8, leaf0, proof, root8))).toBe('internal-error');
  });
});
