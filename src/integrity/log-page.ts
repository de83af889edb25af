import { hash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { verifyCheckpointSignature, type CheckpointCheck, type SignedCheckpoint } from './checkpoint-signer.js';
import { emptyFields, parseLedgerRecord, readRecordFields, type ParsedRecord } from './record-fields.js';

/**
 * A page of the raw log: the stored events of positions [first, first + pageEvents) packed into
 * one buffer, hashed without a copy per event.
 *
 * Every event, in position order, in one of two forms:
 * - headed:  header of 20 bytes — position (int64, big-endian), then the byte lengths of
 *            record, hash and prev_hash (uint32, big-endian) — then hash | prev_hash | record.
 *            Lengths are stated rather than assumed: a tampered row may hold a hash of any length.
 * - compact: hash (32) | prev_hash (32) | record, the record lengths given beside the page;
 *            only for a page known to hold every position of its range with 32-byte hashes.
 * prev_hash is directly followed by the record, so SHA-256(prevHash || record) is one slice,
 * and the byte just before the record (always inside the event) can stand in for the leaf
 * prefix 0x00 of SHA-256(0x00 || record).
 */
export const EVENT_HEADER_BYTES = 20;
/**
 * Default events per page: a power of two, so a full page is one perfect Merkle subtree. Pages
 * of ~1.5 MB; larger ones linger between collections in the old generation (at 4096 events a
 * page, peak RSS was 400 MB at 10M events instead of 250).
 */
export const DEFAULT_PAGE_EVENTS = 2048;

/** Where one event's parts lie in a page. */
export interface EventSpan {
  position: number;
  hashStart: number;
  hashLength: number;
  prevStart: number;
  prevLength: number;
  recordStart: number;
  recordEnd: number;
}

export function emptySpan(): EventSpan {
  return { position: 0, hashStart: 0, hashLength: 0, prevStart: 0, prevLength: 0, recordStart: 0, recordEnd: 0 };
}

function u32(page: Uint8Array, at: number): number {
  return ((page[at]! << 24) | (page[at + 1]! << 16) | (page[at + 2]! << 8) | page[at + 3]!) >>> 0;
}

/** Reads the header of the event at `offset`. Requires a complete event at `offset`. */
export function readEventSpan(page: Uint8Array, offset: number, into: EventSpan): EventSpan {
  // High word signed: a negative (tampered) position stays negative and never equals a valid one.
  into.position = (u32(page, offset) | 0) * 0x1_0000_0000 + u32(page, offset + 4);
  const recordLength = u32(page, offset + 8);
  into.hashLength = u32(page, offset + 12);
  into.prevLength = u32(page, offset + 16);
  into.hashStart = offset + EVENT_HEADER_BYTES;
  into.prevStart = into.hashStart + into.hashLength;
  into.recordStart = into.prevStart + into.prevLength;
  into.recordEnd = into.recordStart + recordLength;
  if (into.recordEnd > page.length) throw new Error(`malformed log page: the event at byte ${offset} runs past the page end`);
  return into;
}

/** Appends one event to a page being built (used where events arrive one by one); returns the next offset. */
export function writeEvent(target: Buffer, offset: number, position: number, record: Uint8Array, prevHash: Uint8Array, storedHash: Uint8Array): number {
  target.writeInt32BE(Math.floor(position / 0x1_0000_0000), offset);
  target.writeUInt32BE(position >>> 0, offset + 4);
  target.writeUInt32BE(record.length, offset + 8);
  target.writeUInt32BE(storedHash.length, offset + 12);
  target.writeUInt32BE(prevHash.length, offset + 16);
  let at = offset + EVENT_HEADER_BYTES;
  target.set(storedHash, at);
  at += storedHash.length;
  target.set(prevHash, at);
  at += prevHash.length;
  target.set(record, at);
  return at + record.length;
}

export function eventBytes(record: Uint8Array, prevHash: Uint8Array, storedHash: Uint8Array): number {
  return EVENT_HEADER_BYTES + storedHash.length + prevHash.length + record.length;
}

/**
 * Order of the checks within one event; at the same position a break found by an earlier
 * check wins. EVENT checks need the event alone (examinePage); STREAM checks need the events
 * before it in its stream (the verifier's sequential pass).
 */
export const EVENT_CHECKS = 0;
export const HASH_CHECK = 1;
export const STREAM_CHECKS = 2;
export type CheckStage = typeof EVENT_CHECKS | typeof HASH_CHECK | typeof STREAM_CHECKS;

export type EventBreakKind = 'position-gap' | 'position-mismatch' | 'unparseable-record' | 'hash-mismatch' | 'prev-hash-mismatch' | 'stream-order';

export interface EventBreak {
  readonly kind: EventBreakKind;
  readonly position: number;
  readonly detail: string;
  readonly stage: CheckStage;
}

/** A page to examine. */
export interface PageInput {
  /** Position of the page's first slot. */
  readonly first: number;
  readonly bytes: Uint8Array;
  /** Record lengths of a compact page (null: a headed page). */
  readonly recordLengths: Uint32Array | null;
  /** Events the page must hold (fewer: the log has a gap after the last one). */
  readonly expected: number;
  /** The page's checkpoints, whose signatures are verified alongside. */
  readonly checkpoints: readonly SignedCheckpoint[];
}

/**
 * Per examined event, what the sequential pass needs, packed compactly so the page itself
 * stays in the thread that read it:
 * - `ints`, STEP_COLUMNS int32 per event: offset in `bytes`, streamId key length, key hash
 *   (hashKey), prev_hash length;
 * - `revisions`: the streamRevision per event;
 * - `bytes` at that offset (a multiple of 4, so hashes can be read as int32 words): stored
 *   hash (32), prev_hash (32, when it has 32 bytes), key bytes.
 * The buffers go back to the examining thread to be filled again, so pages allocate nothing
 * on the main thread once the first ones are in circulation.
 */
export const STEP_COLUMNS = 4;
const STEP_AT = 0;
const STEP_KEY_LENGTH = 1;
const STEP_KEY_HASH = 2;
const STEP_PREV_LENGTH = 3;

export interface StepBuffers {
  readonly ints: Int32Array;
  readonly revisions: Float64Array;
  readonly bytes: Uint8Array;
  /** The page's Merkle subtree levels over its verified leaves (layout: merkleLevels). */
  readonly levels: Uint8Array;
}

export interface PageFindings {
  readonly first: number;
  /** Events from the first that pass every event check (position, record, own hash). */
  readonly verified: number;
  /** Why event `verified` fails, if one does. */
  readonly stop: EventBreak | null;
  readonly steps: StepBuffers;
  readonly signatures: readonly CheckpointCheck[];
}

/** Reading of one examined event, for the sequential pass. */
export interface StreamStep {
  keyStart: number;
  keyEnd: number;
  keyHash: number;
  revision: number;
  prevStart: number;
  prevLength: number;
  hashStart: number;
}

export function emptyStep(): StreamStep {
  return { keyStart: 0, keyEnd: 0, keyHash: 0, revision: 0, prevStart: 0, prevLength: 0, hashStart: 0 };
}

/** Fills `into` with event `index` (< verified) of an examined page; its bytes are in `steps.bytes`. */
export function streamStep(steps: StepBuffers, index: number, into: StreamStep): StreamStep {
  const ints = steps.ints;
  const at = index * STEP_COLUMNS;
  const offset = ints[at + STEP_AT]!;
  into.hashStart = offset;
  into.prevStart = offset + 32;
  into.keyStart = offset + 64;
  into.keyEnd = offset + 64 + ints[at + STEP_KEY_LENGTH]!;
  into.keyHash = ints[at + STEP_KEY_HASH]!;
  into.prevLength = ints[at + STEP_PREV_LENGTH]!;
  into.revision = steps.revisions[index]!;
  return into;
}

/** FNV-1a over key bytes: the head table's hash. */
export function hashKey(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}

/**
 * Layout of the Merkle levels over n leaves of a page. Level l holds the n >> l complete
 * nodes; nodes 2j and 2j+1 of a level sit in one 65-byte slot [0x01 | left | right], which is
 * exactly the input of their parent's hash, SHA-256(0x01 || left || right).
 */
export function merkleLevels(leaves: number): { readonly starts: readonly number[]; readonly bytes: number } {
  const starts: number[] = [];
  let at = 0;
  for (let nodes = leaves; nodes > 0; nodes >>>= 1) {
    starts.push(at);
    at += ((nodes + 1) >>> 1) * 65;
  }
  return { starts, bytes: at };
}

/** Byte offset of node `index` of `level` in a levels buffer laid out by merkleLevels. */
export function nodeOffset(starts: readonly number[], level: number, index: number): number {
  return starts[level]! + (index >>> 1) * 65 + 1 + (index & 1) * 32;
}

function equalsDigest(digest: string, bytes: Uint8Array, start: number, length: number): boolean {
  if (length !== 32) return false;
  for (let k = 0; k < 32; k++) if (digest.charCodeAt(k) !== bytes[start + k]) return false;
  return true;
}

/**
 * A break at an event as JSON.parse reads its record: a record that is not JSON is
 * `unparseable-record` (an event check, so it comes first), whatever the fast field reader
 * made of it.
 */
export function confirmedBreak(
  bytes: Uint8Array,
  span: Pick<EventSpan, 'recordStart' | 'recordEnd'>,
  position: number,
  make: (record: ParsedRecord) => Omit<EventBreak, 'position'>,
): EventBreak {
  const record = parseLedgerRecord(bytes.subarray(span.recordStart, span.recordEnd));
  return record ? { ...make(record), position } : unparseable(position);
}

function unparseable(position: number): EventBreak {
  return { kind: 'unparseable-record', position, detail: 'the stored record is not a ledger record', stage: EVENT_CHECKS };
}

/**
 * Everything about a page that needs no other page: each event sits at its slot's position,
 * its record is a ledger record naming that position, its stored hash is
 * SHA-256(prevHash || record); the RFC 6962 leaves SHA-256(0x00 || record) and the page's
 * subtree nodes; the signatures of the page's checkpoints. Stops at the first event that fails.
 * Runs in a worker thread or in-thread; uses `bytes` as scratch (one byte per event, restored).
 *
 * `nextStoredFrom(p)` answers the first stored position ≥ p (for the detail of a gap at the
 * page's end).
 *
 * Digests are taken as one-byte (latin1, "binary") strings: on Node 20 a one-shot hash
 * returning a Buffer costs more than the hash of a whole record.
 */
export function examinePage(
  page: PageInput,
  publicKey: KeyObject,
  nextStoredFrom: (position: number) => number | null,
  reuse: StepBuffers | null = null,
): PageFindings {
  const { first, expected, recordLengths } = page;
  // A plain Uint8Array view: its subarray is cheaper than a Buffer's.
  const bytes = new Uint8Array(page.bytes.buffer, page.bytes.byteOffset, page.bytes.byteLength);
  const span = emptySpan();
  const fields = emptyFields();
  const ints = reuse && reuse.ints.length >= expected * STEP_COLUMNS ? reuse.ints : new Int32Array(expected * STEP_COLUMNS);
  const revisions = reuse && reuse.revisions.length >= expected ? reuse.revisions : new Float64Array(expected);
  let stepBytes = reuse?.bytes ?? new Uint8Array(expected * 96);
  let stepEnd = 0;
  const leafHashes: string[] = [];
  let stop: EventBreak | null = null;
  let verified = 0;
  for (let offset = 0; verified < expected; verified++, offset = span.recordEnd) {
    const position = first + verified;
    if (offset >= bytes.length) {
      const next = nextStoredFrom(position);
      stop = { kind: 'position-gap', position, detail: `no event at position ${position}; the next stored one is at ${next === null ? 'none' : next}`, stage: EVENT_CHECKS };
      break;
    }
    if (recordLengths) {
      span.position = position;
      span.hashStart = offset;
      span.hashLength = 32;
      span.prevStart = offset + 32;
      span.prevLength = 32;
      span.recordStart = offset + 64;
      span.recordEnd = offset + 64 + recordLengths[verified]!;
    } else readEventSpan(bytes, offset, span);
    if (span.position !== position) {
      stop = { kind: 'position-gap', position, detail: `no event at position ${position}; the next stored one is at ${span.position}`, stage: EVENT_CHECKS };
      break;
    }
    if (!readRecordFields(bytes, span.recordStart, span.recordEnd, fields)) {
      stop = unparseable(position);
      break;
    }
    if (fields.globalPosition !== undefined && fields.globalPosition !== position) {
      stop = confirmedBreak(bytes, span, position, (r) => ({
        kind: 'position-mismatch',
        detail: `the record was written at position ${String(r.globalPosition)}`,
        stage: EVENT_CHECKS,
      }));
      break;
    }
    const chained = hash('sha256', bytes.subarray(span.prevStart, span.recordEnd), 'binary');
    if (!equalsDigest(chained, bytes, span.hashStart, span.hashLength)) {
      stop = confirmedBreak(bytes, span, position, (r) => ({
        kind: 'hash-mismatch',
        detail: `${r.streamId}@${r.streamRevision}: the record does not hash to its stored hash`,
        stage: HASH_CHECK,
      }));
      break;
    }
    const prefixAt = span.recordStart - 1;
    const saved = bytes[prefixAt]!;
    bytes[prefixAt] = 0x00;
    leafHashes.push(hash('sha256', bytes.subarray(prefixAt, span.recordEnd), 'binary'));
    bytes[prefixAt] = saved;

    const key = fields.keyBytes;
    const keyLength = fields.keyEnd - fields.keyStart;
    if (stepEnd + 64 + keyLength + 3 > stepBytes.length) {
      const grown = new Uint8Array(Math.max(2 * stepBytes.length, (stepEnd + 64 + keyLength + 3) & ~3));
      grown.set(stepBytes.subarray(0, stepEnd));
      stepBytes = grown;
    }
    const at = verified * STEP_COLUMNS;
    ints[at + STEP_AT] = stepEnd;
    ints[at + STEP_KEY_LENGTH] = keyLength;
    ints[at + STEP_KEY_HASH] = hashKey(key, fields.keyStart, fields.keyEnd);
    ints[at + STEP_PREV_LENGTH] = span.prevLength;
    revisions[verified] = fields.streamRevision;
    // The stored hash (32 bytes, verified above) and prev_hash lie back to back in the page.
    stepBytes.set(bytes.subarray(span.hashStart, span.hashStart + (span.prevLength === 32 ? 64 : 32)), stepEnd);
    for (let k = 0; k < keyLength; k++) stepBytes[stepEnd + 64 + k] = key[fields.keyStart + k]!;
    stepEnd = (stepEnd + 64 + keyLength + 3) & ~3;
  }

  const { starts, bytes: size } = merkleLevels(verified);
  const levels = reuse && reuse.levels.length >= size ? reuse.levels : new Uint8Array(merkleLevels(expected).bytes);
  // Writing one-byte strings goes through Buffer (latin1); a view, no copy.
  const levelsOut = Buffer.from(levels.buffer, levels.byteOffset, levels.byteLength);
  for (let level = 0; level < starts.length; level++) {
    const end = level + 1 < starts.length ? starts[level + 1]! : size;
    for (let slot = starts[level]!; slot < end; slot += 65) levels[slot] = 0x01;
  }
  for (let i = 0; i < verified; i++) levelsOut.write(leafHashes[i]!, nodeOffset(starts, 0, i), 32, 'latin1');
  for (let level = 0; level + 1 < starts.length; level++) {
    const parents = verified >>> (level + 1);
    for (let j = 0; j < parents; j++) {
      const slot = starts[level]! + j * 65;
      levelsOut.write(hash('sha256', levels.subarray(slot, slot + 65), 'binary'), nodeOffset(starts, level + 1, j), 32, 'latin1');
    }
  }
  // A slot whose right node is absent keeps stale bytes; they are never read.

  const signatures = page.checkpoints.map((checkpoint) => verifyCheckpointSignature(checkpoint, publicKey));
  return { first, verified, stop, steps: { ints, revisions, bytes: stepBytes, levels }, signatures };
}

/** The buffers of examined steps, to transfer them between threads. */
export function stepTransfer(steps: StepBuffers): ArrayBuffer[] {
  return [steps.ints, steps.revisions, steps.bytes, steps.levels].map((view) => view.buffer as ArrayBuffer);
}
