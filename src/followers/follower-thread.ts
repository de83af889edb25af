/**
 * The follower thread: the log feed and every follower (read models, Merkle log and signed
 * checkpoints, compliance monitor) on the second core, reading the log through its own
 * read-only connection, while the service thread records and answers. It writes only the
 * followers' files; the service thread reads them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../clock.js';
import { CheckpointSigner } from '../integrity/checkpoint-signer.js';
import { LedgerLogger } from '../observability/ledger-logger.js';
import { closeFollowerSet, feedFor, openFollowerSet, startTimers } from './follower-set.js';
import type { FollowerThreadData, FromFollowerThread, ToFollowerThread } from './follower-thread-protocol.js';
import { ReadOnlyLog } from './read-only-log.js';
import { embeddedLogFile } from '../event-store/sqlite/log-file.js';

const port = parentPort;
if (!port) throw new Error('follower-thread runs as a worker thread of the service');
const { config, runMonitors } = workerData as FollowerThreadData;
const post = (message: FromFollowerThread) => port.postMessage(message);

const logger = new LedgerLogger(config.logLevel);
const store = new ReadOnlyLog(embeddedLogFile(config.dataDir));
const signer = CheckpointSigner.loadOrCreate(config.dataDir, process.env['LEDGER_SIGNING_KEY']);
const set = openFollowerSet({ config, store, signer, clock: systemClock, logger, onOpened: (violation) => post({ type: 'opened', violation }) });
let reportedQuarantine = 0;
const feed = feedFor(set, {
  store,
  logger,
  runMonitors,
  onProgress: (status) => {
    const quarantined = status.reduce((n, s) => n + s.quarantined, 0);
    if (quarantined !== reportedQuarantine) {
      reportedQuarantine = quarantined;
      post({ type: 'progress', status, quarantined: feed.quarantined() });
    } else post({ type: 'progress', status });
  },
});

port.on('message', (message: ToFollowerThread) => {
  switch (message.type) {
    case 'appended':
      store.notifyAppended();
      return;
    case 'rpc': {
      const work = message.op === 'checkpoint' ? set.merkleLog.checkpoint() : set.monitor.sweep();
      work.then(
        (value) => post({ type: 'rpc-result', id: message.id, ok: true, value }),
        (error: unknown) => post({ type: 'rpc-result', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
      );
      return;
    }
    case 'stop':
      void (async () => {
        await feed.stop();
        await closeFollowerSet(set);
        await store.close();
        post({ type: 'stopped' });
        port.close();
      })();
      return;
    default: {
      const unknown: never = message;
      throw new Error(`unknown message ${JSON.stringify(unknown)}`);
    }
  }
});

feed.start();
startTimers(set, runMonitors);
post({ type: 'progress', status: feed.status() });
