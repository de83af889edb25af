import { Worker } from 'node:worker_threads';
import type { EncodedRows } from './row-change-codec.js';

/** What a rebuild worker is given: its share of the pages of [0, end). */
export interface RebuildWorkerData {
  readonly logFile: string;
  readonly end: number;
  readonly pageSize: number;
  /** Number of pages of [0, end). */
  readonly pages: number;
  /** This worker reads pages firstPage, firstPage + stride, ... */
  readonly firstPage: number;
  readonly stride: number;
}

/** One page of the log folded by a worker: the row changes of events [first, next). */
export interface WorkerPage {
  readonly page: number;
  readonly first: number;
  readonly next: number;
  readonly rows: EncodedRows;
}

/**
 * A worker's young generation: a page's events and rows die young, so a small one is scavenged
 * often and cheaply, and keeps each worker's resident memory down (measured: ~50 MB less for
 * two workers than V8's default, at no cost in speed).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

export interface WorkerPagesOptions {
  readonly script: URL;
  readonly logFile: string;
  readonly end: number;
  readonly pageSize: number;
  readonly workers: number;
  /** Pages each worker may have folded ahead of the writer. */
  readonly ahead: number;
}

/**
 * The folded pages of [0, end) from `workers` threads, in log order: page i comes from worker
 * i mod workers, and taking a page grants that worker one more. Any worker's failure fails the
 * iteration; the threads are terminated when it ends, however it ends.
 */
export async function* workerPages(options: WorkerPagesOptions): AsyncGenerator<WorkerPage> {
  const pages = Math.ceil(options.end / options.pageSize);
  const count = Math.min(options.workers, pages);
  const arrived = new Map<number, WorkerPage>();
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const threads: Worker[] = [];
  let ending = false;
  for (let k = 0; k < count; k++) {
    const data: RebuildWorkerData = { logFile: options.logFile, end: options.end, pageSize: options.pageSize, pages, firstPage: k, stride: count };
    const thread = new Worker(options.script, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    thread.on('message', (page: WorkerPage) => {
      arrived.set(page.page, page);
      wake?.();
    });
    thread.on('error', (error) => {
      failure ??= error;
      wake?.();
    });
    thread.on('exit', (code) => {
      if (!ending) failure ??= new Error(`a rebuild worker exited with code ${code} before the rebuild ended`);
      wake?.();
    });
    threads.push(thread);
  }
  try {
    for (const thread of threads) thread.postMessage({ credit: options.ahead });
    for (let i = 0; i < pages; i++) {
      let page = arrived.get(i);
      while (!page) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        page = arrived.get(i);
      }
      arrived.delete(i);
      yield page;
      threads[i % count]!.postMessage({ credit: 1 });
    }
  } finally {
    ending = true;
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
}
