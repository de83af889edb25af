import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { verifyCheckpointSignature, type SignedCheckpoint } from './checkpoint-signer.js';
import { CompactRange, rfc6962Hasher, toBase64 } from './merkle/index.js';

/** One stored event as raw bytes, exactly as the log holds it. */
export interface RawLogEntry {
  readonly position: number;
  /** The canonical record bytes the chain and the Merkle leaf cover. */
  readonly record: Uint8Array;
  readonly prevHash: Uint8Array;
  readonly hash: Uint8Array;
}

export type BreakKind =
  /** An event is missing: the next stored position skips this one (a deleted row). */
  | 'position-gap'
  /** The record names another global position than the one it is stored at (moved or swapped). */
  | 'position-mismatch'
  | 'unparseable-record'
  /** The stored hash is not SHA-256(prevHash || record): the record was edited. */
  | 'hash-mismatch'
  /** The event does not link to the previous event of its stream. */
  | 'prev-hash-mismatch'
  /** The stream's revisions are not 0, 1, 2, … in log order (reordered or dropped). */
  | 'stream-order'
  /** A checkpoint's root is not the root of the log's first treeSize leaves. */
  | 'checkpoint-root-mismatch'
  | 'checkpoint-signature-invalid'
  /** A checkpoint was signed by another key than the one the verifier trusts. */
  | 'checkpoint-key-mismatch'
  /** A checkpoint covers more events than the log holds: its tail was cut off. */
  | 'truncated';

export interface LogBreak {
  readonly kind: BreakKind;
  /** Global position where the log stops being what was recorded. */
  readonly position: number;
  readonly detail: string;
}

export interface VerifyReport {
  readonly intact: boolean;
  readonly events: number;
  readonly streams: number;
  /** Root of the whole log as recomputed, base64. */
  readonly rootHash: string;
  readonly checkpointsVerified: number;
  readonly firstBreak: LogBreak | null;
}

interface ParsedRecord {
  streamId: string;
  streamRevision: number;
  globalPosition?: number;
}

function parseRecord(bytes: Uint8Array): ParsedRecord | null {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ParsedRecord>;
    if (typeof value.streamId !== 'string' || !Number.isSafeInteger(value.streamRevision)) return null;
    return value as ParsedRecord;
  } catch {
    return null;
  }
}

const GENESIS = Buffer.alloc(32);

/**
 * Recomputes every stream's hash chain and the RFC 6962 root of the whole log, and checks
 * every checkpoint's signature (with the trusted public key) and root against the log.
 * Stops at the first break, in log order. Works from raw bytes only: it trusts nothing the
 * ledger computed except what it recomputes.
 */
export function verifyLedger(
  entries: Iterable<RawLogEntry>,
  checkpoints: readonly SignedCheckpoint[],
  publicKey: KeyObject,
  onProgress?: (eventsChecked: number) => void,
): VerifyReport {
  const sorted = [...checkpoints].sort((a, b) => a.treeSize - b.treeSize);
  const streams = new Map<string, { revision: number; hash: Uint8Array }>();
  const range = new CompactRange();
  let position = 0;
  let nextCheckpoint = 0;
  let verified = 0;

  const report = (firstBreak: LogBreak | null): VerifyReport => ({
    intact: firstBreak === null,
    events: position,
    streams: streams.size,
    rootHash: toBase64(range.root()),
    checkpointsVerified: verified,
    firstBreak,
  });

  const checkCheckpointsAt = (size: number): LogBreak | null => {
    while (nextCheckpoint < sorted.length && sorted[nextCheckpoint]!.treeSize <= size) {
      const checkpoint = sorted[nextCheckpoint]!;
      nextCheckpoint++;
      const at = Math.max(checkpoint.treeSize - 1, 0);
      const signature = verifyCheckpointSignature(checkpoint, publicKey);
      if (!signature.ok) {
        return {
          kind: signature.kind === 'key-id-mismatch' ? 'checkpoint-key-mismatch' : 'checkpoint-signature-invalid',
          position: at,
          detail: `checkpoint at tree size ${checkpoint.treeSize}: ${signature.message}`,
        };
      }
      if (checkpoint.treeSize === size && checkpoint.rootHash !== toBase64(range.root())) {
        return {
          kind: 'checkpoint-root-mismatch',
          position: at,
          detail: `checkpoint at tree size ${checkpoint.treeSize} signs root ${checkpoint.rootHash}; the log's first ${size} events give ${toBase64(range.root())}`,
        };
      }
      verified++;
    }
    return null;
  };

  const early = checkCheckpointsAt(0);
  if (early) return report(early);

  for (const entry of entries) {
    if (entry.position !== position) {
      return report({ kind: 'position-gap', position, detail: `no event at position ${position}; the next stored one is at ${entry.position}` });
    }
    const record = parseRecord(entry.record);
    if (!record) return report({ kind: 'unparseable-record', position, detail: 'the stored record is not a ledger record' });
    if (record.globalPosition !== undefined && record.globalPosition !== position) {
      return report({ kind: 'position-mismatch', position, detail: `the record was written at position ${record.globalPosition}` });
    }
    const recomputed = createHash('sha256').update(entry.prevHash).update(entry.record).digest();
    if (!recomputed.equals(entry.hash)) {
      return report({ kind: 'hash-mismatch', position, detail: `${record.streamId}@${record.streamRevision}: the record does not hash to its stored hash` });
    }
    const head = streams.get(record.streamId);
    const expectedRevision = head ? head.revision + 1 : 0;
    if (record.streamRevision !== expectedRevision) {
      return report({
        kind: 'stream-order',
        position,
        detail: `${record.streamId}: expected revision ${expectedRevision}, found ${record.streamRevision}`,
      });
    }
    if (!Buffer.from(entry.prevHash).equals(head ? head.hash : GENESIS)) {
      return report({ kind: 'prev-hash-mismatch', position, detail: `${record.streamId}@${record.streamRevision} does not link to the previous event of its stream` });
    }
    // A copy in its own 32-byte buffer: Buffer.from would take a slice of Node's shared pool and
    // pin a whole 8 KB slab per stream (gigabytes at a million streams).
    streams.set(record.streamId, { revision: record.streamRevision, hash: new Uint8Array(entry.hash) });
    range.append(rfc6962Hasher.hashLeaf(entry.record));
    position++;
    const broken = checkCheckpointsAt(position);
    if (broken) return report(broken);
    if (onProgress && position % 65536 === 0) onProgress(position);
  }

  const beyond = sorted[nextCheckpoint];
  if (beyond) {
    return report({
      kind: 'truncated',
      position,
      detail: `checkpoint at tree size ${beyond.treeSize} covers ${beyond.treeSize - position} events the log no longer holds`,
    });
  }
  onProgress?.(position);
  return report(null);
}
