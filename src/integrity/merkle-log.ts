import { hash as oneShotHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { EventStore, StoredEvent, Subscription } from '../event-store/event-store.port.js';
import type { LogBatch, LogConsumer } from '../event-store/log-feed.types.js';
import { canonicalRecordBytes } from './chain.js';
import { type CheckpointSigner, type SignedCheckpoint } from './checkpoint-signer.js';
import {
  CompactRange,
  consistencyProofAsync,
  inclusionProofAsync,
  rangeNodes,
  rfc6962Hasher,
  rootFromNodes,
  toBase64,
  verifyConsistency,
  type InclusionProofDocument,
  type ConsistencyProofDocument,
  toConsistencyProofDocument,
  toInclusionProofDocument,
} from './merkle/index.js';

/**
 * Subtrees of 2^STORED_LEVEL leaves and larger are stored as node hashes; smaller ones are
 * recomputed from at most 256 leaves read from the log. That keeps integrity.db near n/128
 * rows while any proof still costs O(log n) node reads.
 */
export const STORED_LEVEL = 8;

export interface MerkleLogOptions {
  readonly file: string;
  readonly store: EventStore;
  readonly signer: CheckpointSigner;
  /** Make a checkpoint once this many leaves were added since the last one. */
  readonly checkpointEvery?: number;
  /** ...or this many seconds passed with new leaves. 0 disables the timer. */
  readonly checkpointSeconds?: number;
  readonly now?: () => Date;
  readonly onError?: (error: unknown) => void;
  /**
   * Reader: another thread integrates and signs; this instance only serves proofs and
   * checkpoints, re-reading the tree's state and the newest checkpoint from the file.
   */
  readonly reader?: boolean;
}

export class IntegrityQueryError extends Error {
  override readonly name = 'IntegrityQueryError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** RFC 6962 leaf hash of a stored event: SHA-256(0x00 || canonical record). */
export function leafHashOf(event: StoredEvent): Uint8Array {
  return rfc6962Hasher.hashLeaf(canonicalRecordBytes(event));
}

/**
 * The same leaf hash from the record text as the log stores it (the feed hands it over), in
 * one SHA-256 call over 0x00 || UTF-8 bytes: no canonicalisation again.
 */
export function leafHashOfRecord(record: string): Uint8Array {
  const bytes = Buffer.allocUnsafe(1 + Buffer.byteLength(record, 'utf8'));
  bytes[0] = 0x00;
  bytes.write(record, 1, 'utf8');
  return new Uint8Array(oneShotHash('sha256', bytes, 'buffer'));
}

const LEAVES_PER_BLOCK = 2 ** STORED_LEVEL;
/** Blocks of recent leaf hashes kept in memory (8 KB each): enough to prove a checkpoint. */
const RECENT_BLOCKS = 64;

/**
 * The ledger's global Merkle log: leaves are stored events' canonical records in global
 * order. Fed by a catch-up subscription (so it works the same over any EventStore), its
 * compact range and stored nodes commit with its size in one transaction. Signed checkpoints
 * are made every N leaves, every T seconds, or on demand — each one consistency-proven
 * against the previous checkpoint before it is stored.
 */
export class MerkleLog implements LogConsumer {
  readonly name = 'merkle-log';
  private readonly db: Db;
  /**
   * Leaf hashes of the most recent blocks of 2^STORED_LEVEL leaves, by block index: the
   * subtrees below the stored level that a new checkpoint's consistency proof needs are
   * recomputed from here instead of re-reading and re-canonicalising the log.
   */
  private readonly recentLeaves = new Map<number, Uint8Array[]>();
  /** The newest stored checkpoint (undefined until first read); only this process adds any. */
  private latest: SignedCheckpoint | null | undefined;
  private range: CompactRange;
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private waiters: Array<{ size: number; resolve: () => void }> = [];
  private readonly insertNode: Statement;
  private readonly saveState: Statement;
  private readonly getNode: Statement;
  private readonly insertCheckpoint: Statement;
  private readonly now: () => Date;

  constructor(private readonly options: MerkleLogOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    // The tree is recomputable from the log (which is fsynced): after a power loss at most the
    // last transactions are lost and re-integrated on start. A checkpoint lost that way is
    // re-signed over the same leaves, so its root is the same: nothing published is contradicted.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS merkle_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS merkle_state (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, compact_range TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS checkpoints (
        tree_size INTEGER PRIMARY KEY, root_hash TEXT NOT NULL, timestamp TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);
    `);
    this.insertNode = this.db.prepare('INSERT OR REPLACE INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.saveState = this.db.prepare('INSERT OR REPLACE INTO merkle_state (id, size, compact_range) VALUES (1, ?, ?)');
    this.getNode = this.db.prepare('SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?');
    this.insertCheckpoint = this.db.prepare(
      'INSERT OR IGNORE INTO checkpoints (tree_size, root_hash, timestamp, key_id, signature) VALUES (?, ?, ?, ?, ?)',
    );
    this.range = this.storedRange();
    this.now = options.now ?? (() => new Date());
  }

  private storedRange(): CompactRange {
    const state = this.db.prepare('SELECT compact_range FROM merkle_state WHERE id = 1').get() as { compact_range: string } | undefined;
    return state ? CompactRange.fromJSON(JSON.parse(state.compact_range)) : new CompactRange();
  }

  /** The integrated tree: as committed by the writer thread when this instance is a reader. */
  private get tree(): CompactRange {
    if (this.options.reader) this.range = this.storedRange();
    return this.range;
  }

  /** Number of leaves integrated so far. */
  get size(): number {
    return this.tree.size;
  }

  /** The log feed's checkpoint: the next leaf this log needs. */
  position(): number {
    return this.range.size;
  }

  /**
   * Follows the log with its own subscription (tools and tests that run the Merkle log alone);
   * the service feeds it from the shared log feed and only starts the checkpoint timer.
   */
  start(): void {
    if (this.subscription) return;
    this.subscription = this.options.store.subscribeToAll({
      fromPosition: this.range.size,
      onEvents: (events) => this.integrate(events),
      onError: (error) => this.options.onError?.(error),
    });
    this.startCheckpointTimer();
  }

  /** Signs a checkpoint every checkpointSeconds when leaves were added since the last one. */
  startCheckpointTimer(): void {
    if (this.timer) return;
    const seconds = this.options.checkpointSeconds ?? 60;
    if (seconds > 0) {
      this.timer = setInterval(() => {
        if (this.range.size > (this.latestCheckpoint()?.treeSize ?? 0)) {
          this.checkpoint().catch((error: unknown) => this.options.onError?.(error));
        }
      }, seconds * 1000);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.subscription?.stop();
    this.subscription = null;
  }

  async close(): Promise<void> {
    await this.stop();
    this.db.close();
  }

  /** Appends leaves in global order (events decoded elsewhere); see apply. */
  async integrate(events: readonly StoredEvent[]): Promise<void> {
    const first = events[0]?.globalPosition ?? this.range.size;
    await this.apply({
      events,
      records: events.map((e) => canonicalRecordBytes(e).toString('utf8')),
      first,
      next: first + events.length,
    });
  }

  /**
   * Appends a feed batch's leaves in global order; their stored nodes and the new state commit
   * together, then a checkpoint is signed if one is due. Leaves already integrated are skipped;
   * a gap is refused (a missing leaf would change every later root, so this log never skips).
   */
  async apply(batch: LogBatch): Promise<void> {
    if (this.options.reader) throw new Error('a reader of the Merkle log does not integrate leaves');
    const range = this.range.clone();
    const fresh: Array<{ position: number; leaf: Uint8Array }> = [];
    this.db.transaction(() => {
      for (let i = 0; i < batch.events.length; i++) {
        const position = batch.events[i]!.globalPosition;
        if (position < range.size) continue;
        if (position !== range.size) throw new Error(`merkle log expected position ${range.size}, got ${position}`);
        const leaf = leafHashOfRecord(batch.records[i]!);
        range.append(leaf, (level, index, hash) => {
          if (level >= STORED_LEVEL) this.insertNode.run(level, index, Buffer.from(hash));
        });
        fresh.push({ position, leaf });
      }
      if (range.size < batch.next) throw new Error(`merkle log cannot skip leaves ${range.size}..${batch.next - 1}`);
      if (fresh.length > 0) this.saveState.run(range.size, JSON.stringify(range.toJSON()));
    })();
    this.range = range;
    this.remember(fresh);
    const every = this.options.checkpointEvery ?? 1000;
    const last = this.latestCheckpoint()?.treeSize ?? 0;
    const ready = this.waiters.filter((w) => w.size <= range.size);
    this.waiters = this.waiters.filter((w) => w.size > range.size);
    for (const w of ready) w.resolve();
    if (every > 0 && range.size - last >= every) await this.checkpoint();
  }

  async waitForSize(size: number, timeoutMs = 5000): Promise<void> {
    if (this.range.size >= size) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`merkle log did not reach size ${size} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ size, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private remember(leaves: ReadonlyArray<{ position: number; leaf: Uint8Array }>): void {
    for (const { position, leaf } of leaves) {
      const block = Math.floor(position / LEAVES_PER_BLOCK);
      let hashes = this.recentLeaves.get(block);
      if (!hashes) {
        // Only a block held from its first leaf can serve subtrees (after a restart, the first
        // partial block is read from the log instead).
        if (position % LEAVES_PER_BLOCK !== 0) continue;
        hashes = [];
        this.recentLeaves.set(block, hashes);
        for (const old of this.recentLeaves.keys()) if (old <= block - RECENT_BLOCKS) this.recentLeaves.delete(old);
      }
      if (hashes.length === position % LEAVES_PER_BLOCK) hashes.push(leaf);
    }
  }

  /** Hash of a perfect subtree below the stored level from the recent leaves, if they are held. */
  private recentNode(level: number, index: number): Uint8Array | null {
    const width = 2 ** level;
    const start = index * width;
    const block = Math.floor(start / LEAVES_PER_BLOCK);
    const hashes = this.recentLeaves.get(block);
    const offset = start - block * LEAVES_PER_BLOCK;
    if (!hashes || hashes.length < offset + width) return null;
    const subtree = new CompactRange();
    for (let i = offset; i < offset + width; i++) subtree.append(hashes[i]!);
    return subtree.root();
  }

  /** Hash of the perfect subtree of 2^level leaves starting at leaf index * 2^level. */
  async nodeAt(level: number, index: number): Promise<Uint8Array> {
    if (level >= STORED_LEVEL) {
      const row = this.getNode.get(level, index) as { hash: Buffer } | undefined;
      if (!row) throw new Error(`merkle node (${level}, ${index}) is not stored`);
      return new Uint8Array(row.hash);
    }
    const recent = this.recentNode(level, index);
    if (recent) return recent;
    const width = 2 ** level;
    const events = await this.options.store.readAll({ fromPosition: index * width, maxCount: width });
    if (events.length !== width) throw new Error(`merkle leaves ${index * width}..${(index + 1) * width} are not in the log`);
    const subtree = new CompactRange();
    for (const e of events) subtree.append(leafHashOf(e));
    return subtree.root();
  }

  async rootAt(size: number): Promise<Uint8Array> {
    const tree = this.tree;
    if (size === tree.size) return tree.root();
    const ids = rangeNodes(0, size);
    const hashes = new Map<string, Uint8Array>();
    for (const id of ids) hashes.set(`${id.level}:${id.index}`, await this.nodeAt(id.level, id.index));
    return rootFromNodes(size, (level, index) => hashes.get(`${level}:${index}`)!);
  }

  /**
   * Signs and stores a checkpoint of the current tree — only after proving (RFC 6962
   * consistency proof) that it is an append-only extension of the last published one.
   */
  async checkpoint(): Promise<SignedCheckpoint | null> {
    if (this.options.reader) throw new Error('a reader of the Merkle log does not sign checkpoints: the follower thread does');
    const size = this.range.size;
    const root = this.range.root();
    const previous = this.latestCheckpoint();
    if (previous && previous.treeSize >= size) return previous;
    if (previous) {
      const proof = await consistencyProofAsync(previous.treeSize, size, (l, i) => this.nodeAt(l, i));
      const check = verifyConsistency(rfc6962Hasher, previous.treeSize, size, proof, Buffer.from(previous.rootHash, 'base64'), root);
      if (!check.ok) throw new Error(`refusing to publish a checkpoint inconsistent with tree size ${previous.treeSize}: ${check.error.message}`);
    }
    if (size === 0) return null;
    const signed = this.options.signer.sign({ treeSize: size, rootHash: toBase64(root), timestamp: this.now().toISOString() });
    this.insertCheckpoint.run(signed.treeSize, signed.rootHash, signed.timestamp, signed.keyId, signed.signature);
    if (signed.treeSize > (this.latest?.treeSize ?? 0)) this.latest = signed;
    return signed;
  }

  latestCheckpoint(): SignedCheckpoint | null {
    if (this.latest === undefined || this.options.reader) {
      const row = this.db.prepare('SELECT * FROM checkpoints ORDER BY tree_size DESC LIMIT 1').get() as CheckpointRow | undefined;
      this.latest = row ? toCheckpoint(row) : null;
    }
    return this.latest;
  }

  checkpoints(): SignedCheckpoint[] {
    return (this.db.prepare('SELECT * FROM checkpoints ORDER BY tree_size').all() as CheckpointRow[]).map(toCheckpoint);
  }

  async inclusionProof(event: StoredEvent, treeSize: number): Promise<InclusionProofDocument> {
    const integrated = this.tree.size;
    if (treeSize > integrated) throw new IntegrityQueryError('treeSize', `must be at most the integrated tree size ${integrated}`);
    if (event.globalPosition >= treeSize) {
      throw new IntegrityQueryError('treeSize', `the event is at position ${event.globalPosition}; treeSize must be greater`);
    }
    const proof = await inclusionProofAsync(event.globalPosition, treeSize, (l, i) => this.nodeAt(l, i));
    return toInclusionProofDocument({
      leafIdx: event.globalPosition,
      treeSize,
      root: await this.rootAt(treeSize),
      leafHash: leafHashOf(event),
      proof,
    });
  }

  async consistencyProof(size1: number, size2: number): Promise<ConsistencyProofDocument> {
    const integrated = this.tree.size;
    if (size2 > integrated) throw new IntegrityQueryError('to', `must be at most the integrated tree size ${integrated}`);
    if (size1 > size2) throw new IntegrityQueryError('from', 'must not be greater than to');
    const proof = await consistencyProofAsync(size1, size2, (l, i) => this.nodeAt(l, i));
    return toConsistencyProofDocument({ size1, size2, root1: await this.rootAt(size1), root2: await this.rootAt(size2), proof });
  }
}

interface CheckpointRow {
  tree_size: number;
  root_hash: string;
  timestamp: string;
  key_id: string;
  signature: string;
}

function toCheckpoint(row: CheckpointRow): SignedCheckpoint {
  return { treeSize: row.tree_size, rootHash: row.root_hash, timestamp: row.timestamp, keyId: row.key_id, signature: row.signature };
}

/** The stored checkpoints of a data dir, read-only (for the offline verifier). */
export function readCheckpoints(file: string): SignedCheckpoint[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT * FROM checkpoints ORDER BY tree_size').all() as CheckpointRow[]).map(toCheckpoint);
  } finally {
    db.close();
  }
}
