/**
 * Raw logs for the verifier's tests: hash-chained canonical records built here (not by the
 * store), the previous one-event-at-a-time verifier as the reference the paged one must
 * agree with, and checkpoints signed over a log.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { canonicalRecordBytes } from '../../../src/integrity/chain.js';
import { checkpointSigningBytes, keyIdOf, verifyCheckpointSignature, type SignedCheckpoint } from '../../../src/integrity/checkpoint-signer.js';
import type { ChainedRecord } from '../../../src/event-store/event-store.port.js';
import type { LogBreak, RawLogEntry, VerifyReport } from '../../../src/integrity/ledger-verifier.js';
import { CompactRange, rfc6962Hasher, rootFromLeafHashes, toBase64 } from '../../../src/integrity/merkle/index.js';

export interface MutableEntry {
  position: number;
  record: Buffer;
  prevHash: Buffer;
  hash: Buffer;
}

/** Stream ids, a few of which the fast field reader leaves to JSON.parse (non-ASCII, escapes). */
export function streamName(i: number): string {
  switch (i % 29) {
    case 3:
      return `subject-Zoë-${i}`;
    case 7:
      return `subject-"quoted"-${i}`;
    case 11:
      return `subject-back\\slash-${i}`;
    default:
      return `subject-cust-${String(i).padStart(6, '0')}`;
  }
}

/**
 * A record with traps for a field reader that is not exact: nested members named like the
 * top-level ones, braces and quotes inside strings, a null subject, encrypted personal values.
 */
export function recordFor(streamId: string, streamRevision: number, globalPosition: number): ChainedRecord {
  const n = globalPosition;
  return {
    eventId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: n % 5 === 0 ? 'PersonalDataDisclosed' : 'PersonalDataAccessed',
    streamId,
    streamRevision,
    globalPosition,
    occurredAt: new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString(),
    recordedAt: new Date(Date.UTC(2026, 11, 1) + n * 1000).toISOString(),
    subjectId: n % 13 === 0 ? null : streamId.replace('subject-', ''),
    actor: { id: `agent-${n % 17}`, kind: 'employee', system: 'support-console' },
    data: {
      categories: ['user.contact.email', 'user.device.serial_number'],
      purpose: 'essential.service.operations.support',
      ...(n % 4 === 0 ? { streamId: 'subject-decoy', globalPosition: n + 1, streamRevision: 99, note: '},"globalPosition":1,"metadata":{' } : {}),
      ticketRef: `SUP-${1000 + n}`,
    },
    ...(n % 3 === 0 ? { pii: `v1.${Buffer.from(`person-${n}@example.invalid`).toString('base64url')}.tag` } : {}),
    metadata:
      n % 6 === 0
        ? ({ correlationId: `corr-"${n}"\\{`, emitter: 'support-console', trace: { globalPosition: 0, spans: [{ id: '}' }] } } as ChainedRecord['metadata'])
        : { correlationId: `corr-${n}`, emitter: 'support-console' },
  };
}

/** A chained log of `events` events over `streams` streams (stream of event n: a fixed pseudo-random choice). */
export function chainedLog(events: number, streams: number): MutableEntry[] {
  const heads = new Map<string, { revision: number; hash: Buffer }>();
  const entries: MutableEntry[] = [];
  for (let n = 0; n < events; n++) {
    const streamId = streamName((n * 7919 + (n >> 3)) % streams);
    const head = heads.get(streamId);
    const revision = head ? head.revision + 1 : 0;
    const prevHash = head ? head.hash : Buffer.alloc(32);
    const record = canonicalRecordBytes(recordFor(streamId, revision, n));
    const hash = chainLink(prevHash, record);
    heads.set(streamId, { revision, hash });
    entries.push({ position: n, record, prevHash, hash });
  }
  return entries;
}

export function chainLink(prevHash: Uint8Array, record: Uint8Array): Buffer {
  return createHash('sha256').update(prevHash).update(record).digest();
}

export function copyLog(entries: readonly MutableEntry[]): MutableEntry[] {
  return entries.map((e) => ({ position: e.position, record: Buffer.from(e.record), prevHash: Buffer.from(e.prevHash), hash: Buffer.from(e.hash) }));
}

/** The record's streamId: the last member of that name (records here may nest decoys, or not be JSON). */
const streamOf = (entry: MutableEntry): string | undefined => [...entry.record.toString('utf8').matchAll(/"streamId":"((?:[^"\\]|\\.)*)"/g)].at(-1)?.[1];

/** Recomputes the chain of the stream of entry `index` from there on (a careful forger). */
export function rechainFrom(entries: MutableEntry[], index: number): void {
  const streamId = streamOf(entries[index]!);
  let prev = entries[index]!.prevHash;
  for (let i = index; i < entries.length; i++) {
    const entry = entries[i]!;
    if (streamOf(entry) !== streamId) continue;
    entry.prevHash = prev;
    entry.hash = chainLink(prev, entry.record);
    prev = entry.hash;
  }
}

export const signingKeys = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('ed25519');

/** Checkpoints at `sizes` over the log as it is, signed with `privateKey`. */
export function checkpointsOver(entries: readonly RawLogEntry[], sizes: readonly number[], privateKey: KeyObject, publicKey: KeyObject): SignedCheckpoint[] {
  const leaves = entries.map((e) => rfc6962Hasher.hashLeaf(e.record));
  return sizes.map((treeSize) => {
    const body = { treeSize, rootHash: toBase64(rootFromLeafHashes(leaves.slice(0, treeSize))), timestamp: '2026-12-01T00:00:00.000Z', keyId: keyIdOf(publicKey) };
    return { ...body, signature: sign(null, checkpointSigningBytes(body), privateKey).toString('base64') };
  });
}

/**
 * The verifier as it was before pages and threads (one event at a time, a Map of streams),
 * kept verbatim as the reference: the paged verifier must give the same report.
 */
export function referenceVerify(entries: Iterable<RawLogEntry>, checkpoints: readonly SignedCheckpoint[], publicKey: KeyObject): VerifyReport {
  interface ParsedRecord {
    streamId: string;
    streamRevision: number;
    globalPosition?: number;
  }
  const parseRecord = (bytes: Uint8Array): ParsedRecord | null => {
    try {
      const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ParsedRecord>;
      if (typeof value.streamId !== 'string' || !Number.isSafeInteger(value.streamRevision)) return null;
      return value as ParsedRecord;
    } catch {
      return null;
    }
  };
  const GENESIS = Buffer.alloc(32);
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
    streams.set(record.streamId, { revision: record.streamRevision, hash: new Uint8Array(entry.hash) });
    range.append(rfc6962Hasher.hashLeaf(entry.record));
    position++;
    const broken = checkCheckpointsAt(position);
    if (broken) return report(broken);
  }

  const beyond = sorted[nextCheckpoint];
  if (beyond) {
    return report({
      kind: 'truncated',
      position,
      detail: `checkpoint at tree size ${beyond.treeSize} covers ${beyond.treeSize - position} events the log no longer holds`,
    });
  }
  return report(null);
}
