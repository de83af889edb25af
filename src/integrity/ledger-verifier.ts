import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { verifyCheckpointSignature, type CheckpointCheck, type SignedCheckpoint } from './checkpoint-signer.js';
import type { PageRequest } from './log-hash-worker.js';
import {
  DEFAULT_PAGE_EVENTS,
  EVENT_CHECKS,
  STREAM_CHECKS,
  confirmedBreak,
  emptySpan,
  emptyStep,
  eventBytes,
  examinePage,
  merkleLevels,
  nodeOffset,
  readEventSpan,
  stepTransfer,
  streamStep,
  writeEvent,
  type EventBreak,
  type PageFindings,
  type PageInput,
  type StepBuffers,
} from './log-page.js';
import { CompactRange, rfc6962Hasher, toBase64 } from './merkle/index.js';
import { SqliteLogPages } from './sqlite-log-pages.js';
import { StreamHeads } from './stream-heads.js';

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

export interface VerifyFileOptions {
  /** Worker threads hashing pages; default: one per available core. 0 hashes on the calling thread. */
  readonly workers?: number;
  /** Events per page, a power of two (default 2048). */
  readonly pageEvents?: number;
  /** Called with the number of events checked so far, in log order, after every page. */
  readonly onProgress?: (eventsChecked: number) => void;
}

/**
 * Recomputes every stream's hash chain and the RFC 6962 root of the whole log, and checks
 * every checkpoint's signature (with the trusted public key) and root against the log.
 * Stops at the first break, in log order. Works from raw bytes only: it trusts nothing the
 * ledger computed except what it recomputes.
 *
 * Runs on the calling thread; `verifyLedgerFile` is the same verification over the embedded
 * store's file, with the per-event work spread over worker threads.
 */
export function verifyLedger(
  entries: Iterable<RawLogEntry>,
  checkpoints: readonly SignedCheckpoint[],
  publicKey: KeyObject,
  onProgress?: (eventsChecked: number) => void,
): VerifyReport {
  let current: Buffer = Buffer.alloc(0);
  const run = new LedgerVerification(checkpoints, publicKey, { onProgress, recordAt: (position) => recordIn(current, position) });
  const early = run.start();
  if (early) return early;
  let first = 0;
  let reuse: StepBuffers | null = null;
  for (const { bytes, events } of pagesOf(entries, DEFAULT_PAGE_EVENTS)) {
    current = bytes;
    const page = run.nextPage(first, events);
    const findings = examinePage({ ...page, bytes, recordLengths: null }, publicKey, () => null, reuse);
    const done = run.acceptPage(findings, page.checkpointsFrom);
    if (done) return done;
    reuse = findings.steps;
    first += events;
  }
  return run.finish();
}

/**
 * `verifyLedger` over the embedded store's log file (events.db), read-only, in bounded memory.
 * The log is split into pages of positions; worker threads read and examine pages (each event
 * at its position, a ledger record naming that position, its own hash; the Merkle leaves and
 * subtrees; checkpoint signatures) while the main thread takes the findings in log order and
 * runs the checks that depend on earlier events (each stream's revisions and links, checkpoint
 * roots). The break reported is the first in the log, whichever thread found it.
 */
export async function verifyLedgerFile(
  file: string,
  checkpoints: readonly SignedCheckpoint[],
  publicKey: KeyObject,
  options: VerifyFileOptions = {},
): Promise<VerifyReport> {
  const pageEvents = options.pageEvents ?? DEFAULT_PAGE_EVENTS;
  if (!Number.isSafeInteger(pageEvents) || pageEvents < 2 || pageEvents > 1 << 20 || (pageEvents & (pageEvents - 1)) !== 0) {
    throw new RangeError(`pageEvents must be a power of two from 2 to 2^20, got ${pageEvents}`);
  }
  const log = new SqliteLogPages(file, pageEvents);
  let workers: PageWorkers | null = null;
  try {
    const run = new LedgerVerification(checkpoints, publicKey, {
      onProgress: options.onProgress,
      expectedStreams: log.streamsHint(),
      recordAt: (position) => log.recordAt(position),
    });
    const early = run.start();
    if (early) return early;
    const bounds = log.bounds();
    if (bounds && bounds.min < 0) {
      // Positions below 0 fall in no page; the lowest stored event is not event 0.
      const stop: EventBreak = { kind: 'position-gap', position: 0, detail: `no event at position 0; the next stored one is at ${bounds.min}`, stage: EVENT_CHECKS };
      return run.acceptPage(stoppedAt(0, stop), 0)!;
    }
    const pages = bounds ? Math.floor(bounds.max / pageEvents) + 1 : 0;
    // A log of one page is examined here: starting threads would cost more than they save.
    const threads = Math.min(options.workers ?? availableParallelism(), 16);
    if (threads > 0 && pages > 1 && existsSync(fileURLToPath(WORKER_SCRIPT))) workers = new PageWorkers(WORKER_SCRIPT, threads, { publicKey, file, pageEvents });
    const examine = (request: PageRequest): Promise<PageFindings> =>
      workers
        ? workers.examine(request)
        : Promise.resolve(examinePage({ ...request, ...log.page(request.first, request.expected) }, publicKey, (p) => log.nextStoredFrom(p), request.reuse));

    const inFlight: Array<{ checkpointsFrom: number; findings: Promise<PageFindings> }> = [];
    const free: StepBuffers[] = [];
    const ahead = workers ? 3 * threads : 1;
    for (let next = 0; next < pages || inFlight.length > 0; ) {
      while (next < pages && inFlight.length < ahead) {
        const first = next * pageEvents;
        const page = run.nextPage(first, next + 1 < pages ? pageEvents : bounds!.max - first + 1);
        inFlight.push({ checkpointsFrom: page.checkpointsFrom, findings: examine({ ...page, reuse: free.pop() ?? null }) });
        next++;
      }
      const { checkpointsFrom, findings } = inFlight.shift()!;
      const taken = await findings;
      const report = run.acceptPage(taken, checkpointsFrom);
      if (report) return report;
      free.push(taken.steps);
    }
    return run.finish();
  } finally {
    log.close();
    await workers?.close();
  }
}

/**
 * The compiled worker (dist/…/log-hash-worker.js). Where it does not exist — the TypeScript
 * sources run by ts-jest — pages are examined on the calling thread, by the same examinePage.
 */
const WORKER_SCRIPT = new URL('./log-hash-worker.js', import.meta.url);

function isGenesis(words: Int32Array, start: number): boolean {
  for (let k = 0; k < 8; k++) if (words[start + k] !== 0) return false;
  return true;
}

/** Findings of a page that stops before its first event. */
function stoppedAt(first: number, stop: EventBreak): PageFindings {
  const steps = { ints: new Int32Array(0), revisions: new Float64Array(0), bytes: new Uint8Array(0), levels: new Uint8Array(0) };
  return { first, verified: 0, stop, steps, signatures: [] };
}

/** The record of the event at `position` in a page, or an empty record. */
function recordIn(page: Uint8Array, position: number): Uint8Array {
  const span = emptySpan();
  for (let offset = 0; offset < page.length; offset = span.recordEnd) {
    readEventSpan(page, offset, span);
    if (span.position === position) return page.subarray(span.recordStart, span.recordEnd);
  }
  return new Uint8Array(0);
}

/**
 * The perfect subtrees covering the leaves verified so far (a compact range), fed a page
 * subtree at a time. Requires every subtree to start at a multiple of its own size.
 */
class MerkleFrontier {
  #hashes: Uint8Array[] = [];
  size = 0;

  append(hash: Uint8Array, level: number): void {
    this.size = appendSubtree(this.#hashes, this.size, hash.slice(), level);
  }

  /** Root of the leaves so far followed by the perfect subtrees `after` (left to right, as append takes them). */
  rootWith(after: ReadonlyArray<readonly [hash: Uint8Array, level: number]>): Uint8Array {
    const hashes = [...this.#hashes];
    let size = this.size;
    for (const [hash, level] of after) size = appendSubtree(hashes, size, hash, level);
    return CompactRange.fromHashes(size, hashes).root();
  }
}

/** Appends a perfect subtree of 2^level leaves to a compact range of `size` leaves; returns the new size. */
function appendSubtree(hashes: Uint8Array[], size: number, hash: Uint8Array, level: number): number {
  const leaves = 2 ** level;
  if (size % leaves !== 0) throw new Error(`subtree of ${leaves} leaves appended at ${size}`);
  let node = hash;
  for (let index = size / leaves; index % 2 === 1; index = (index - 1) / 2) node = rfc6962Hasher.hashChildren(hashes.pop()!, node);
  hashes.push(node);
  return size + leaves;
}

/**
 * The rules of a log check, as a state machine over pages in log order:
 * - nextPage: the next page's slot and the checkpoints it decides;
 * - the page is examined (examinePage, possibly in another thread);
 * - acceptPage, in page order: each stream's revisions and links, then the checkpoints the
 *   page completes, and the earliest break of all.
 */
class LedgerVerification {
  readonly #checkpoints: readonly SignedCheckpoint[];
  readonly #publicKey: KeyObject;
  readonly #onProgress: ((eventsChecked: number) => void) | undefined;
  /** The stored record at a position, to read it with JSON.parse where a break is reported. */
  readonly #recordAt: (position: number) => Uint8Array;
  readonly #heads: StreamHeads;
  readonly #frontier = new MerkleFrontier();
  readonly #step = emptyStep();
  /** Next checkpoint to decide, and next to hand to a page. */
  #nextCheckpoint = 0;
  #assignedCheckpoints = 0;
  #verified = 0;

  constructor(
    checkpoints: readonly SignedCheckpoint[],
    publicKey: KeyObject,
    options: { onProgress: ((eventsChecked: number) => void) | undefined; recordAt: (position: number) => Uint8Array; expectedStreams?: number },
  ) {
    this.#checkpoints = [...checkpoints].sort((a, b) => a.treeSize - b.treeSize);
    this.#publicKey = publicKey;
    this.#onProgress = options.onProgress;
    this.#recordAt = options.recordAt;
    this.#heads = new StreamHeads(options.expectedStreams);
  }

  /** Checkpoints of the empty log (tree size 0 or less), decided before any event. */
  start(): VerifyReport | null {
    while (this.#nextCheckpoint < this.#checkpoints.length && this.#checkpoints[this.#nextCheckpoint]!.treeSize <= 0) {
      const checkpoint = this.#checkpoints[this.#nextCheckpoint]!;
      const broken = this.#decide(checkpoint, verifyCheckpointSignature(checkpoint, this.#publicKey), 0, () => rfc6962Hasher.emptyRoot());
      if (broken) return broken;
    }
    this.#assignedCheckpoints = this.#nextCheckpoint;
    return null;
  }

  /** The next page to examine (pages are asked for in log order): `expected` events from `first`. */
  nextPage(first: number, expected: number): Omit<PageInput, 'bytes' | 'recordLengths'> & { readonly checkpointsFrom: number } {
    const from = this.#assignedCheckpoints;
    while (this.#assignedCheckpoints < this.#checkpoints.length && this.#checkpoints[this.#assignedCheckpoints]!.treeSize <= first + expected) {
      this.#assignedCheckpoints++;
    }
    return { first, expected, checkpoints: this.#checkpoints.slice(from, this.#assignedCheckpoints), checkpointsFrom: from };
  }

  /** Takes an examined page (pages in log order); returns the final report when the page ends the check. */
  acceptPage(page: PageFindings, checkpointsFrom: number): VerifyReport | null {
    const found = this.#followStreams(page) ?? page.stop;
    const good = found ? found.position - page.first : page.verified;
    const levels = merkleLevels(page.verified).starts;
    const subtrees = (leaves: number, each: (hash: Uint8Array, level: number) => void): void => {
      for (let level = levels.length - 1, covered = 0; level >= 0; level--) {
        if ((leaves & (1 << level)) === 0) continue;
        const at = nodeOffset(levels, level, covered >>> level);
        each(page.steps.levels.subarray(at, at + 32), level);
        covered += 1 << level;
      }
    };
    const rootAt = (size: number): Uint8Array => {
      const after: Array<[Uint8Array, number]> = [];
      subtrees(size - page.first, (hash, level) => after.push([hash, level]));
      return this.#frontier.rootWith(after);
    };

    while (this.#nextCheckpoint < this.#checkpoints.length && this.#checkpoints[this.#nextCheckpoint]!.treeSize <= page.first + good) {
      const checkpoint = this.#checkpoints[this.#nextCheckpoint]!;
      const signature = page.signatures[this.#nextCheckpoint - checkpointsFrom] ?? verifyCheckpointSignature(checkpoint, this.#publicKey);
      const broken = this.#decide(checkpoint, signature, Math.ceil(checkpoint.treeSize), rootAt);
      if (broken) return broken;
    }
    if (found) {
      const { kind, position, detail } = found;
      return this.#report(position, rootAt(position), { kind, position, detail });
    }
    subtrees(page.verified, (hash, level) => this.#frontier.append(hash, level));
    this.#onProgress?.(this.#frontier.size);
    return null;
  }

  /** The end of the log: intact, unless a checkpoint covers more than it holds. */
  finish(): VerifyReport {
    const position = this.#frontier.size;
    const root = this.#frontier.rootWith([]);
    const beyond = this.#checkpoints[this.#nextCheckpoint];
    if (beyond) {
      return this.#report(position, root, {
        kind: 'truncated',
        position,
        detail: `checkpoint at tree size ${beyond.treeSize} covers ${beyond.treeSize - position} events the log no longer holds`,
      });
    }
    this.#onProgress?.(position);
    return this.#report(position, root, null);
  }

  /**
   * The sequential pass over a page's examined events: each names the next revision of its
   * stream and links to the stream's previous event (or to 32 zero bytes for revision 0).
   * Returns the first break; the heads then hold the streams up to it.
   */
  #followStreams(page: PageFindings): EventBreak | null {
    const heads = this.#heads;
    const step = this.#step;
    const bytes = page.steps.bytes;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    for (let i = 0; i < page.verified; i++) {
      streamStep(page.steps, i, step);
      let stream = heads.find(bytes, step.keyStart, step.keyEnd, step.keyHash);
      const expectedRevision = stream < 0 ? 0 : heads.revision(stream) + 1;
      if (step.revision !== expectedRevision) {
        return this.#confirmed(page, i, (r) => ({ kind: 'stream-order', detail: `${r.streamId}: expected revision ${expectedRevision}, found ${r.streamRevision}`, stage: STREAM_CHECKS }));
      }
      const prev = step.prevStart >>> 2;
      const linked = step.prevLength === 32 && (stream < 0 ? isGenesis(words, prev) : heads.headEquals(stream, words, prev));
      if (!linked) {
        return this.#confirmed(page, i, (r) => ({
          kind: 'prev-hash-mismatch',
          detail: `${r.streamId}@${r.streamRevision} does not link to the previous event of its stream`,
          stage: STREAM_CHECKS,
        }));
      }
      if (stream < 0) stream = heads.add(bytes, step.keyStart, step.keyEnd, step.keyHash, page.first + i);
      heads.advance(stream, step.revision, words, step.hashStart >>> 2);
    }
    return null;
  }

  #confirmed(page: PageFindings, index: number, make: Parameters<typeof confirmedBreak>[3]): EventBreak {
    const position = page.first + index;
    const record = this.#recordAt(position);
    return confirmedBreak(record, { recordStart: 0, recordEnd: record.length }, position, make);
  }

  /** A checkpoint decided once the log holds `size` events (its tree size, rounded up). */
  #decide(checkpoint: SignedCheckpoint, signature: CheckpointCheck, size: number, rootAt: (size: number) => Uint8Array): VerifyReport | null {
    this.#nextCheckpoint++;
    const at = Math.max(checkpoint.treeSize - 1, 0);
    if (!signature.ok) {
      return this.#report(size, rootAt(size), {
        kind: signature.kind === 'key-id-mismatch' ? 'checkpoint-key-mismatch' : 'checkpoint-signature-invalid',
        position: at,
        detail: `checkpoint at tree size ${checkpoint.treeSize}: ${signature.message}`,
      });
    }
    if (checkpoint.treeSize === size) {
      const root = toBase64(rootAt(size));
      if (checkpoint.rootHash !== root) {
        return this.#report(size, rootAt(size), {
          kind: 'checkpoint-root-mismatch',
          position: at,
          detail: `checkpoint at tree size ${checkpoint.treeSize} signs root ${checkpoint.rootHash}; the log's first ${size} events give ${root}`,
        });
      }
    }
    this.#verified++;
    return null;
  }

  #report(events: number, root: Uint8Array, firstBreak: LogBreak | null): VerifyReport {
    return {
      intact: firstBreak === null,
      events,
      streams: this.#heads.streamsBefore(events),
      rootHash: toBase64(root),
      checkpointsVerified: this.#verified,
      firstBreak,
    };
  }
}

/** Packs entries into pages of `pageEvents` (the layout of log-page.ts). */
function* pagesOf(entries: Iterable<RawLogEntry>, pageEvents: number): Generator<{ bytes: Buffer; events: number }> {
  let batch: RawLogEntry[] = [];
  let size = 0;
  const pack = (): { bytes: Buffer; events: number } => {
    const bytes = Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const e of batch) at = writeEvent(bytes, at, e.position, e.record, e.prevHash, e.hash);
    const events = batch.length;
    batch = [];
    size = 0;
    return { bytes, events };
  };
  for (const entry of entries) {
    batch.push(entry);
    size += eventBytes(entry.record, entry.prevHash, entry.hash);
    if (batch.length === pageEvents) yield pack();
  }
  if (batch.length > 0) yield pack();
}

const YOUNG_GENERATION_MB = 4;

type Waiting = { resolve: (findings: PageFindings) => void; reject: (error: Error) => void };

/** Worker threads running log-hash-worker.js; each answers its pages in the order it got them. */
class PageWorkers {
  readonly #workers: Worker[] = [];
  readonly #pending: Waiting[][] = [];
  #turn = 0;

  constructor(script: URL, count: number, workerData: { publicKey: KeyObject; file: string; pageEvents: number }) {
    for (let i = 0; i < count; i++) {
      const pending: Waiting[] = [];
      // A small young generation: the page buffers SQLite hands out die young, and each
      // scavenge frees them; with the default the dead ones pile up to tens of MB per thread.
      const worker = new Worker(script, { workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
      const failAll = (error: Error): void => {
        for (const waiting of pending.splice(0)) waiting.reject(error);
      };
      worker.on('message', (findings: PageFindings) => pending.shift()?.resolve(findings));
      worker.on('error', failAll);
      worker.on('exit', (code) => failAll(new Error(`log worker exited (${code})`)));
      this.#workers.push(worker);
      this.#pending.push(pending);
    }
  }

  examine(request: PageRequest): Promise<PageFindings> {
    const index = this.#turn++ % this.#workers.length;
    const { first, expected, checkpoints, reuse } = request;
    const result = new Promise<PageFindings>((resolve, reject) => {
      this.#pending[index]!.push({ resolve, reject });
      this.#workers[index]!.postMessage({ first, expected, checkpoints, reuse } satisfies PageRequest, reuse ? stepTransfer(reuse) : []);
    });
    // Pages still in flight when the check ends early are never awaited: no unhandled rejection.
    result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}
