/**
 * The verifier's head of every stream seen so far — last revision and last stored hash —
 * in typed arrays instead of a JS object per stream (~90 bytes a stream: 1M streams in
 * ~90 MB, not gigabytes).
 *
 * A stream is identified by the key bytes of the streamId its records name (see
 * record-fields.ts), through an open-addressing hash table over those bytes. The store's own
 * `stream_key` column is not read: it is the store's data, not the signed record, and a
 * verifier that grouped events by it would let an edit of that column move an event into
 * another stream's chain. Streams get dense indexes 0, 1, 2, … in the order they first appear
 * in the log.
 *
 * Each stream's head is one 64-byte record (one cache line: following a stream costs the slot
 * and the record): as int32 words, [0..8) head hash, [8..10) revision (float64), [10] key
 * length, [11..16) the key bytes when it has at most 20 (a bench stream id has 20), else [11]
 * their offset in `#keys`. Hashes are compared and copied as 32-bit words of 4-aligned buffers.
 */
const WORDS = 16;
const REVISION = 4; // in float64 units of a record
const KEY_LENGTH = 10;
const KEY_INLINE = 44; // in bytes of a record
const INLINE_KEY_BYTES = 20;
const KEY_AT = 11;

export class StreamHeads {
  #count = 0;
  #capacity: number;
  /** streamId key bytes of the streams whose key is not inline, back to back. */
  #keys: Uint8Array;
  #keysEnd = 0;
  #words: Int32Array;
  #floats: Float64Array;
  #bytes: Uint8Array;
  /** Position of each stream's first event (stream indexes follow first appearance). */
  #firstPositions: Float64Array;
  /**
   * Open addressing, linear probing, two int32 a slot: the key's hash and the stream's
   * index + 1 (0: empty). Never more than half full.
   */
  #slots: Int32Array;

  /** `expectedStreams` only sizes the first allocation; the table grows as needed. */
  constructor(expectedStreams = 1024) {
    this.#capacity = Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, expectedStreams))));
    this.#keys = new Uint8Array(1024);
    this.#words = new Int32Array(this.#capacity * WORDS);
    this.#floats = new Float64Array(this.#words.buffer);
    this.#bytes = new Uint8Array(this.#words.buffer);
    this.#firstPositions = new Float64Array(this.#capacity);
    this.#slots = new Int32Array(this.#capacity * 4);
  }

  get size(): number {
    return this.#count;
  }

  /** Index of the stream with these key bytes, or -1. `keyHash` is log-page.ts's hashKey of the same bytes. */
  find(bytes: Uint8Array, start: number, end: number, keyHash: number): number {
    const slots = this.#slots;
    const mask = (slots.length >>> 1) - 1;
    const length = end - start;
    for (let slot = keyHash & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[2 * slot + 1]!;
      if (entry === 0) return -1;
      if (slots[2 * slot] !== keyHash) continue;
      const index = entry - 1;
      const record = index * WORDS;
      if (this.#words[record + KEY_LENGTH] === length && this.#keyEquals(index, bytes, start, length)) return index;
    }
  }

  /** Adds a stream first seen at `position` (its key must not be present yet); returns its index. */
  add(bytes: Uint8Array, start: number, end: number, keyHash: number, position: number): number {
    if (this.#count === this.#capacity) this.#grow();
    const length = end - start;
    const index = this.#count++;
    const record = index * WORDS;
    if (length <= INLINE_KEY_BYTES) this.#bytes.set(bytes.subarray(start, end), index * 64 + KEY_INLINE);
    else {
      if (this.#keysEnd + length > this.#keys.length) {
        const keys = new Uint8Array(Math.max(this.#keys.length * 2, this.#keysEnd + length));
        keys.set(this.#keys.subarray(0, this.#keysEnd));
        this.#keys = keys;
      }
      this.#keys.set(bytes.subarray(start, end), this.#keysEnd);
      this.#words[record + KEY_AT] = this.#keysEnd;
      this.#keysEnd += length;
    }
    this.#words[record + KEY_LENGTH] = length;
    this.#floats[index * (WORDS / 2) + REVISION] = -1;
    this.#firstPositions[index] = position;
    this.#insertSlot(keyHash, index);
    return index;
  }

  revision(index: number): number {
    return this.#floats[index * (WORDS / 2) + REVISION]!;
  }

  /** True when the 8 words at `words[start..]` are this stream's head hash. */
  headEquals(index: number, words: Int32Array, start: number): boolean {
    const own = this.#words;
    const at = index * WORDS;
    for (let k = 0; k < 8; k++) if (own[at + k] !== words[start + k]) return false;
    return true;
  }

  /** The stream's new head: `revision` and the hash in the 8 words at `words[start..]`. */
  advance(index: number, revision: number, words: Int32Array, start: number): void {
    const own = this.#words;
    const at = index * WORDS;
    for (let k = 0; k < 8; k++) own[at + k] = words[start + k]!;
    this.#floats[index * (WORDS / 2) + REVISION] = revision;
  }

  /** Number of streams whose first event lies before `position`. */
  streamsBefore(position: number): number {
    let lo = 0;
    let hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#firstPositions[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #keyEquals(index: number, bytes: Uint8Array, start: number, length: number): boolean {
    const inline = length <= INLINE_KEY_BYTES;
    const keys = inline ? this.#bytes : this.#keys;
    const at = inline ? index * 64 + KEY_INLINE : this.#words[index * WORDS + KEY_AT]! >>> 0;
    for (let k = 0; k < length; k++) if (keys[at + k] !== bytes[start + k]) return false;
    return true;
  }

  #insertSlot(keyHash: number, index: number): void {
    const slots = this.#slots;
    const mask = (slots.length >>> 1) - 1;
    let slot = keyHash & mask;
    while (slots[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = keyHash;
    slots[2 * slot + 1] = index + 1;
  }

  #grow(): void {
    this.#capacity *= 2;
    const words = new Int32Array(this.#capacity * WORDS);
    words.set(this.#words);
    this.#words = words;
    this.#floats = new Float64Array(words.buffer);
    this.#bytes = new Uint8Array(words.buffer);
    const firstPositions = new Float64Array(this.#capacity);
    firstPositions.set(this.#firstPositions);
    this.#firstPositions = firstPositions;
    const old = this.#slots;
    this.#slots = new Int32Array(this.#capacity * 4);
    for (let slot = 0; slot < old.length; slot += 2) if (old[slot + 1] !== 0) this.#insertSlot(old[slot]!, old[slot + 1]! - 1);
  }
}
