import { parentPort, workerData } from 'node:worker_threads';
import { LEDGER_PROJECTIONS } from '../../projections/index.js';
import { RowChangeEncoder, transferablesOf } from './row-change-codec.js';
import { SqliteLogReader } from './sqlite-log-reader.js';
import type { RebuildWorkerData, WorkerPage } from './rebuild-pages.js';

/**
 * A rebuild worker thread: reads its pages of the log (page k, k + stride, ...) from the store
 * file, decodes each event and folds it with every ledger projection, and posts each page's
 * row changes, encoded, to the thread that writes them. It runs ahead of the writer by the
 * credits the writer has granted (one page each), so memory stays bounded.
 */
const port = parentPort;
if (!port) throw new Error('rebuild-worker runs as a worker thread');
const job = workerData as RebuildWorkerData;
const reader = new SqliteLogReader(job.logFile);
const encoder = new RowChangeEncoder(job.firstPage);
let credits = 0;
let page = job.firstPage;

function pump(): void {
  while (credits > 0 && page < job.pages) {
    const first = page * job.pageSize;
    const next = Math.min(job.end, first + job.pageSize);
    const events = reader.read(first, next - first);
    // Projection by projection, as the live runner folds a batch: a table's changes keep log order.
    for (const projection of LEDGER_PROJECTIONS) {
      for (const event of events) for (const change of projection.fold(event)) encoder.add(change);
    }
    const rows = encoder.finish();
    const message: WorkerPage = { page, first, next, rows };
    port!.postMessage(message, transferablesOf(rows));
    credits--;
    page += job.stride;
  }
  if (page >= job.pages) reader.close();
}

port.on('message', (message: { credit: number }) => {
  credits += message.credit;
  pump();
});
