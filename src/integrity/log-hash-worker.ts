/**
 * Worker thread of `verifyLedgerFile`: reads the pages the main thread names from the log
 * file (its own read-only connection), examines them (see examinePage) and sends back the
 * findings, in the order asked. The step buffers travel both ways: the main thread hands
 * back the buffers of a page it has taken, and they are filled with a later page.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { SignedCheckpoint } from './checkpoint-signer.js';
import { examinePage, stepTransfer, type StepBuffers } from './log-page.js';
import { SqliteLogPages } from './sqlite-log-pages.js';

/** What the main thread asks: examine the page of positions [first, first + expected). */
export interface PageRequest {
  readonly first: number;
  readonly expected: number;
  readonly checkpoints: readonly SignedCheckpoint[];
  /** Buffers of a page the main thread is done with, to fill again. */
  readonly reuse: StepBuffers | null;
}

const { publicKey, file, pageEvents } = workerData as { publicKey: KeyObject; file: string; pageEvents: number };
const port = parentPort;
if (!port) throw new Error('log-hash-worker runs as a worker thread');
const log = new SqliteLogPages(file, pageEvents);

port.on('message', ({ first, expected, checkpoints, reuse }: PageRequest) => {
  const findings = examinePage({ first, ...log.page(first, expected), expected, checkpoints }, publicKey, (p) => log.nextStoredFrom(p), reuse);
  port.postMessage(findings, stepTransfer(findings.steps));
});
port.on('close', () => log.close());
