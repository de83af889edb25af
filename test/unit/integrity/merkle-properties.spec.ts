/**
 * Property-based tests (fast-check) for the Merkle core over random trees of
 * 1..300 leaves. Runs are bounded so the file stays within a few seconds.
 *
 * A note on "changing a size": RFC 9162 verifiers do not authenticate the
 * tree size by themselves (the signed tree head does). Two sizes for which
 * the verifier performs the very same hash computation (same proof "shape")
 * are indistinguishable, e.g. leaf 0 of a 5-leaf tree proves the same root
 * when claimed for size 6. The size-mutation properties therefore assert:
 * a changed size is accepted ONLY IF the proof shape is identical, computed
 * here independently with BigInt; and doubling the size is always rejected.
 */
import fc from 'fast-check';
import {
  bytesEqual,
  CompactRange,
  InMemoryMerkleTree,
  rfc6962Hasher as H,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/integrity/merkle/index.js';

const NUM_RUNS = 60;

const treeParams = fc.record({ n: fc.integer({ min: 1, max: 300 }), seed: fc.integer() });

const trees = new Map<string, { leaves: Uint8Array[]; tree: InMemoryMerkleTree; roots: Uint8Array[] }>();
/** Deterministic random-looking tree from (n, seed), memoised across properties. */
function build(n: number, seed: number): { leaves: Uint8Array[]; tree: InMemoryMerkleTree; roots: Uint8Array[] } {
  const key = `${n}:${seed}`;
  const hit = trees.get(key);
  if (hit) return hit;
  const enc = new TextEncoder();
  const leaves = Array.from({ length: n }, (_, i) => H.hashLeaf(enc.encode(`${seed}:${i}`)));
  const tree = InMemoryMerkleTree.fromLeafHashes(leaves);
  const roots = Array.from({ length: n + 1 }, (_, s) => tree.rootAt(s));
  const built = { leaves, tree, roots };
  if (trees.size > 500) trees.clear();
  trees.set(key, built);
  return built;
}

const at = <T>(arr: readonly T[], i: number): T => {
  const v = arr[i];
  if (v === undefined) throw new Error(`index ${i} out of bounds`);
  return v;
};

const bitLenBig = (x: bigint): number => x.toString(2).replace(/^0+/, '').length;
const onesBig = (x: bigint): number => x.toString(2).split('').filter((c) => c === '1').length;

/** Inclusion proof shape: (inner, border) of RFC 9162 §2.1.3.2, in BigInt. */
function inclusionShape(index: number, size: number): string {
  if (index < 0 || index >= size) return 'invalid';
  const inner = bitLenBig(BigInt(index) ^ BigInt(size - 1));
  return `${inner}/${onesBig(BigInt(index) >> BigInt(inner))}`;
}

/** Consistency proof shape: everything the §2.1.4.2 computation depends on, in BigInt. */
function consistencyShape(size1: number, size2: number): string {
  if (size1 < 0 || size2 < size1) return 'invalid';
  if (size1 === 0) return 'from-empty';
  if (size1 === size2) return 'equal';
  const m = BigInt(size1 - 1);
  const inner0 = bitLenBig(m ^ BigInt(size2 - 1));
  const shift = (BigInt(size1) & -BigInt(size1)).toString(2).length - 1;
  const inner = inner0 - shift;
  const border = onesBig(m >> BigInt(inner0));
  const seedIsRoot1 = BigInt(size1) === 1n << BigInt(shift);
  const maskBits = (m >> BigInt(shift)) & ((1n << BigInt(inner)) - 1n);
  return `${seedIsRoot1}/${inner}/${border}/${maskBits}`;
}

const flipBit = (proof: readonly Uint8Array[], entry: number, bit: number): Uint8Array[] =>
  proof.map((h, i) => {
    if (i !== entry) return h;
    const c = h.slice();
    const byte = Math.floor(bit / 8) % c.length;
    c[byte] = (c[byte] ?? 0) ^ (1 << bit % 8);
    return c;
  });

describe('inclusion proofs (random trees)', () => {
  it('every generated inclusion proof verifies', () => {
    fc.assert(
      fc.property(treeParams, ({ n, seed }) => {
        const { leaves, tree, roots } = build(n, seed);
        const root = at(roots, n);
        for (let i = 0; i < n; i++) {
          const proof = tree.inclusionProof(i);
          expect(verifyInclusion(H, i, n, at(leaves, i), proof, root)).toEqual({ ok: true });
        }
      }),
      { numRuns: 30 },
    );
  });

  it('proofs for historical sizes verify against historical roots', () => {
    fc.assert(
      fc.property(treeParams, fc.nat(), fc.nat(), ({ n, seed }, a, b) => {
        const { leaves, tree, roots } = build(n, seed);
        const size = 1 + (a % n);
        const i = b % size;
        expect(verifyInclusion(H, i, size, at(leaves, i), tree.inclusionProof(i, size), at(roots, size))).toEqual({ ok: true });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('flipping any bit of any proof hash is rejected', () => {
    fc.assert(
      fc.property(treeParams, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), ({ n, seed }, a, b, bit) => {
        fc.pre(n > 1);
        const { leaves, tree, roots } = build(n, seed);
        const i = a % n;
        const proof = tree.inclusionProof(i);
        const bad = flipBit(proof, b % proof.length, bit);
        const res = verifyInclusion(H, i, n, at(leaves, i), bad, at(roots, n));
        expect(res).toMatchObject({ ok: false, error: { kind: 'root-mismatch' } });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('changing the index is rejected', () => {
    fc.assert(
      fc.property(treeParams, fc.nat(), fc.integer({ min: -3, max: 400 }), ({ n, seed }, a, other) => {
        const { leaves, tree, roots } = build(n, seed);
        const i = a % n;
        fc.pre(other !== i);
        const res = verifyInclusion(H, other, n, at(leaves, i), tree.inclusionProof(i), at(roots, n));
        expect(res.ok).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('changing the tree size is rejected unless the proof shape is identical; doubling is always rejected', () => {
    fc.assert(
      fc.property(treeParams, fc.nat(), fc.integer({ min: -2, max: 700 }), ({ n, seed }, a, other) => {
        const { leaves, tree, roots } = build(n, seed);
        const i = a % n;
        const proof = tree.inclusionProof(i);
        const leaf = at(leaves, i);
        const root = at(roots, n);
        fc.pre(other !== n);
        if (verifyInclusion(H, i, other, leaf, proof, root).ok) {
          expect(inclusionShape(i, other)).toBe(inclusionShape(i, n));
        }
        expect(verifyInclusion(H, i, 2 * n, leaf, proof, root).ok).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('truncated or extended proofs are rejected', () => {
    fc.assert(
      fc.property(
        treeParams,
        fc.nat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom('drop-last', 'drop-first', 'append', 'prepend', 'append-empty'),
        ({ n, seed }, a, extra, how) => {
          const { leaves, tree, roots } = build(n, seed);
          const i = a % n;
          const proof = tree.inclusionProof(i);
          fc.pre(proof.length > 0 || !how.startsWith('drop'));
          const bad =
            how === 'drop-last'
              ? proof.slice(0, -1)
              : how === 'drop-first'
                ? proof.slice(1)
                : how === 'append'
                  ? [...proof, extra]
                  : how === 'prepend'
                    ? [extra, ...proof]
                    : [...proof, new Uint8Array(0)];
          const res = verifyInclusion(H, i, n, at(leaves, i), bad, at(roots, n));
          expect(res).toMatchObject({ ok: false, error: { kind: 'wrong-proof-size' } });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('consistency proofs (random trees)', () => {
  it('every generated consistency proof into the full tree verifies, plus random historical pairs', () => {
    fc.assert(
      fc.property(treeParams, fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }), ({ n, seed }, pairs) => {
        const { tree, roots } = build(n, seed);
        for (let m = 0; m <= n; m++) {
          expect(verifyConsistency(H, m, n, tree.consistencyProof(m, n), at(roots, m), at(roots, n))).toEqual({ ok: true });
        }
        for (const [x, y] of pairs) {
          const s2 = x % (n + 1);
          const s1 = y % (s2 + 1);
          expect(verifyConsistency(H, s1, s2, tree.consistencyProof(s1, s2), at(roots, s1), at(roots, s2))).toEqual({ ok: true });
        }
      }),
      { numRuns: 30 },
    );
  });

  /** A random non-trivial pair 0 < size1 < size2 <= n. */
  const pair = (n: number, a: number, b: number): [number, number] => {
    const size2 = 2 + (a % (n - 1));
    return [1 + (b % (size2 - 1)), size2];
  };

  it('flipping any bit of any proof hash is rejected', () => {
    fc.assert(
      fc.property(treeParams, fc.nat(), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), ({ n, seed }, a, b, c, bit) => {
        fc.pre(n > 1);
        const { tree, roots } = build(n, seed);
        const [s1, s2] = pair(n, a, b);
        const proof = tree.consistencyProof(s1, s2);
        const bad = flipBit(proof, c % proof.length, bit);
        const res = verifyConsistency(H, s1, s2, bad, at(roots, s1), at(roots, s2));
        expect(res).toMatchObject({ ok: false, error: { kind: 'root-mismatch' } });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('changing size1 or size2 is rejected unless the proof shape is identical; doubling size2 is always rejected', () => {
    fc.assert(
      fc.property(
        treeParams,
        fc.nat(),
        fc.nat(),
        fc.integer({ min: -2, max: 700 }),
        fc.boolean(),
        ({ n, seed }, a, b, other, changeFirst) => {
          fc.pre(n > 1);
          const { tree, roots } = build(n, seed);
          const [s1, s2] = pair(n, a, b);
          const proof = tree.consistencyProof(s1, s2);
          const r1 = at(roots, s1);
          const r2 = at(roots, s2);
          const [t1, t2] = changeFirst ? [other, s2] : [s1, other];
          fc.pre(t1 !== s1 || t2 !== s2);
          if (verifyConsistency(H, t1, t2, proof, r1, r2).ok) {
            expect(consistencyShape(t1, t2)).toBe(consistencyShape(s1, s2));
          }
          expect(verifyConsistency(H, s1, 2 * s2, proof, r1, r2).ok).toBe(false);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('swapped or wrong roots, truncated or extended proofs are rejected', () => {
    fc.assert(
      fc.property(
        treeParams,
        fc.nat(),
        fc.nat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom('drop-last', 'drop-first', 'append', 'prepend', 'empty', 'swap-roots', 'root1=root2'),
        ({ n, seed }, a, b, extra, how) => {
          fc.pre(n > 1);
          const { tree, roots } = build(n, seed);
          const [s1, s2] = pair(n, a, b);
          const proof = tree.consistencyProof(s1, s2);
          let r1 = at(roots, s1);
          let r2 = at(roots, s2);
          let bad = proof;
          if (how === 'drop-last') bad = proof.slice(0, -1);
          else if (how === 'drop-first') bad = proof.slice(1);
          else if (how === 'append') bad = [...proof, extra];
          else if (how === 'prepend') bad = [extra, ...proof];
          else if (how === 'empty') bad = [];
          else if (how === 'swap-roots') [r1, r2] = [r2, r1];
          else r1 = r2;
          expect(verifyConsistency(H, s1, s2, bad, r1, r2).ok).toBe(false);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('CompactRange (random trees)', () => {
  it('root equals rootFromLeafHashes for every prefix, and every emitted node is the right subtree hash', () => {
    fc.assert(
      fc.property(treeParams, ({ n, seed }) => {
        const { leaves } = build(n, seed);
        const range = new CompactRange();
        const seen = new Set<string>();
        const problems: string[] = []; // collected, then asserted once (expect() per prefix is slow)
        expect(range.root()).toEqual(H.emptyRoot());
        leaves.forEach((leaf, i) => {
          range.append(leaf, (level, index, hash) => {
            const key = `${level}:${index}`;
            if (seen.has(key)) problems.push(`node ${key} emitted twice`);
            seen.add(key);
            const width = 2 ** level;
            if ((index + 1) * width !== i + 1) problems.push(`node ${key} not completed by leaf ${i}`);
            if (!bytesEqual(hash, rootFromLeafHashes(leaves.slice(index * width, (index + 1) * width)))) {
              problems.push(`node ${key} has a wrong hash`);
            }
          });
          if (range.size !== i + 1) problems.push(`size ${range.size} after ${i + 1} appends`);
          if (!bytesEqual(range.root(), rootFromLeafHashes(leaves.slice(0, i + 1)))) problems.push(`root of prefix ${i + 1}`);
        });
        expect(problems).toEqual([]);
        // Every perfect subtree of the n leaves was emitted exactly once: sum over levels of floor(n / 2^level).
        let expected = 0;
        for (let w = 1; w <= n; w *= 2) expected += Math.floor(n / w);
        expect(seen.size).toBe(expected);
      }),
      { numRuns: 40 },
    );
  });

  it('toJSON / fromJSON round-trips and continues appending identically', () => {
    fc.assert(
      fc.property(treeParams, fc.nat(), ({ n, seed }, cutSeed) => {
        const { leaves, roots } = build(n, seed);
        const cut = cutSeed % (n + 1);
        const log = (into: string[]) => (level: number, index: number, hash: Uint8Array) =>
          into.push(`${level}:${index}:${Buffer.from(hash).toString('hex')}`);

        const whole: string[] = [];
        const a = new CompactRange();
        leaves.forEach((l) => a.append(l, log(whole)));

        const resumed: string[] = [];
        const b = new CompactRange();
        leaves.slice(0, cut).forEach((l) => b.append(l, log(resumed)));
        const saved: unknown = JSON.parse(JSON.stringify(b));
        expect(saved).toEqual(b.toJSON());
        const c = CompactRange.fromJSON(saved);
        expect(c.size).toBe(cut);
        expect(c.root()).toEqual(at(roots, cut));
        expect(c.toJSON()).toEqual(b.toJSON());
        leaves.slice(cut).forEach((l) => c.append(l, log(resumed)));

        expect(resumed).toEqual(whole);
        expect(c.root()).toEqual(a.root());
        expect(c.root()).toEqual(at(roots, n));
        expect(c.hashes()).toEqual(a.hashes());
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('fromJSON rejects corrupted state', () => {
    const r = new CompactRange();
    for (let i = 0; i < 7; i++) r.append(H.hashLeaf(Uint8Array.of(i)));
    const good = r.toJSON();
    const bad: unknown[] = [
      null,
      [],
      { size: 7 },
      { ...good, size: 8 },
      { ...good, size: -1 },
      { ...good, size: 2 ** 53 },
      { ...good, hashes: good.hashes.slice(1) },
      { ...good, hashes: [...good.hashes.slice(1), 'not base64!'] },
      { ...good, hashes: [...good.hashes.slice(1), 'AAAA'] },
      { ...good, extra: 1 },
    ];
    for (const b of bad) expect(() => CompactRange.fromJSON(b)).toThrow(/compact range JSON/);
    expect(CompactRange.fromJSON(good).root()).toEqual(r.root());
  });

  it('leaves the range unchanged when onNode throws', () => {
    const r = new CompactRange();
    r.append(H.hashLeaf(Uint8Array.of(0)));
    const before = r.toJSON();
    expect(() =>
      r.append(H.hashLeaf(Uint8Array.of(1)), () => {
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(r.toJSON()).toEqual(before);
  });
});
