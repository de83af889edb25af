import { createHash, hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { canonicalJson } from './canonical-json.js';
import type { ChainedRecord, StoredEvent } from '../event-store/event-store.port.js';

/**
 * Canonical bytes of a stored record (RFC 8785, JSON Canonicalization Scheme).
 * Only the fields of ChainedRecord are covered; `pii` is covered as ciphertext, so the
 * chain still verifies after the subject's key is shredded.
 */
export function canonicalRecordBytes(record: ChainedRecord): Buffer {
  const chained: ChainedRecord = {
    eventId: record.eventId,
    type: record.type,
    streamId: record.streamId,
    streamRevision: record.streamRevision,
    globalPosition: record.globalPosition,
    occurredAt: record.occurredAt,
    recordedAt: record.recordedAt,
    subjectId: record.subjectId,
    actor: record.actor,
    data: record.data,
    ...(record.pii === undefined ? {} : { pii: record.pii }),
    metadata: record.metadata,
  };
  const text = canonicalize(chained);
  if (text === undefined) throw new Error('record cannot be canonicalised');
  return Buffer.from(text, 'utf8');
}

/** hash = SHA-256(prevHash || canonical record), hex. prevHash is the previous link's 32 bytes. */
export function chainHash(prevHashHex: string, canonicalRecord: Uint8Array): string {
  return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(canonicalRecord).digest('hex');
}

/**
 * SHA-256 (hex) over any JSON value's canonical form (RFC 8785); used for idempotency digests.
 * Stored digests are compared across versions, so the text is exactly `canonicalize`'s.
 */
export function canonicalDigest(value: unknown): string {
  const text = canonicalJson(value);
  if (text === undefined) throw new Error('value cannot be canonicalised');
  return hash('sha256', text, 'hex');
}

export type ChainBreak =
  | { kind: 'prev-hash-mismatch'; streamId: string; streamRevision: number; globalPosition: number }
  | { kind: 'hash-mismatch'; streamId: string; streamRevision: number; globalPosition: number }
  | { kind: 'revision-gap'; streamId: string; streamRevision: number; globalPosition: number };

/**
 * Recomputes one stream's chain from its events in revision order.
 * Returns the first break, or null when every link recomputes.
 */
export function verifyStreamChain(events: readonly StoredEvent[]): ChainBreak | null {
  let prev = '0'.repeat(64);
  let expectedRevision = 0;
  for (const e of events) {
    const at = { streamId: e.streamId, streamRevision: e.streamRevision, globalPosition: e.globalPosition };
    if (e.streamRevision !== expectedRevision) return { kind: 'revision-gap', ...at };
    if (e.prevHash !== prev) return { kind: 'prev-hash-mismatch', ...at };
    if (chainHash(prev, canonicalRecordBytes(e)) !== e.hash) return { kind: 'hash-mismatch', ...at };
    prev = e.hash;
    expectedRevision++;
  }
  return null;
}
