/**
 * Tree hashing strategy for RFC 6962 / RFC 9162 Merkle trees, plus the few
 * byte helpers (equality, strict base64) shared by the rest of the package.
 *
 * Modelled on `merkle.LogHasher` and `rfc6962.DefaultHasher` of
 * transparency-dev/merkle. Pure functions only: no I/O, no global state.
 */
import { createHash } from 'node:crypto';

/**
 * Hashing strategy of a log Merkle tree (RFC 9162 §2.1.1).
 *
 * Implementations must be deterministic and must return a fresh array of
 * exactly `size` bytes from every method (callers may keep the result).
 */
export interface MerkleHasher {
  /** Root hash of the empty tree, MTH({}). */
  emptyRoot(): Uint8Array;
  /** Hash of a leaf entry, MTH({d}). */
  hashLeaf(data: Uint8Array): Uint8Array;
  /** Hash of an interior node from the hashes of its left and right children. */
  hashChildren(l: Uint8Array, r: Uint8Array): Uint8Array;
  /** Length in bytes of every hash produced by this hasher. */
  readonly size: number;
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  // Copy into a plain Uint8Array (not a Buffer) so results compare cleanly.
  return new Uint8Array(h.digest());
}

/**
 * The RFC 6962 SHA-256 hasher:
 * - leaf  = SHA-256(0x00 || data)
 * - node  = SHA-256(0x01 || left || right)
 * - empty = SHA-256("") = e3b0c442...b855
 */
export const rfc6962Hasher: MerkleHasher = Object.freeze({
  size: 32,
  emptyRoot: (): Uint8Array => sha256(),
  hashLeaf: (data: Uint8Array): Uint8Array => sha256(LEAF_PREFIX, data),
  hashChildren: (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(NODE_PREFIX, l, r),
});

/** True iff `value` is a Uint8Array of exactly `size` bytes. */
export function isHashOfSize(value: unknown, size: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === size;
}

/** Byte-wise equality of two arrays. Not constant-time (hashes here are public). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Standard (RFC 4648 §4) padded base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict decoder for standard padded base64 (RFC 4648 §4, the encoding Go's
 * `encoding/json` uses for `[]byte`). Returns `undefined` (never throws) for
 * anything that is not a string in canonical form: wrong alphabet (incl.
 * base64url), missing padding, whitespace, or non-zero padding bits.
 */
export function fromBase64Strict(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || !BASE64_RE.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) return undefined; // non-canonical padding bits
  return new Uint8Array(buf);
}
