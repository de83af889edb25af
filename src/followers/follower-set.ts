import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { ComplianceMonitor, type Violation } from '../compliance/compliance-monitor.js';
import { monitorConfig } from '../compliance/monitor-config.js';
import type { LedgerConfig } from '../config/ledger-config.js';
import type { EventStore } from '../event-store/event-store.port.js';
import { embeddedLogFile } from '../event-store/sqlite/log-file.js';
import { LogFeed, type ConsumerStatus, type LogConsumer } from '../event-store/log-feed.js';
import type { CheckpointSigner } from '../integrity/checkpoint-signer.js';
import { MerkleLog } from '../integrity/merkle-log.js';
import type { LedgerLogger } from '../observability/ledger-logger.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { LEDGER_PROJECTIONS } from '../../projections/index.js';

/** The three followers of the log, each on its own file in the data dir. */
export interface FollowerSet {
  readonly readModels: ProjectionRunner;
  readonly merkleLog: MerkleLog;
  readonly monitor: ComplianceMonitor;
}

export interface FollowerSetOptions {
  readonly config: LedgerConfig;
  readonly store: EventStore;
  readonly signer: CheckpointSigner;
  readonly clock: Clock;
  readonly logger: LedgerLogger;
  /** Called once for every violation the monitor opens (alerts). */
  readonly onOpened?: (violation: Violation) => void;
  /**
   * Reader: this thread only reads the followers' files while another thread writes them
   * (the Merkle log then re-reads its state instead of trusting its own copy).
   */
  readonly reader?: boolean;
}

export function openFollowerSet(options: FollowerSetOptions): FollowerSet {
  const { config, store, signer, clock, logger } = options;
  const readModels = new ProjectionRunner({
    file: join(config.dataDir, 'projections.db'),
    store,
    projections: LEDGER_PROJECTIONS,
    // A rebuild reads the embedded log's file directly, pages folded in worker threads.
    ...(config.eventStore === 'sqlite' ? { logFile: embeddedLogFile(config.dataDir) } : {}),
    onError: (error) => logger.pino.error({ err: error }, 'projection runner stopped'),
  });
  const merkleLog = new MerkleLog({
    file: join(config.dataDir, 'integrity.db'),
    store,
    signer,
    checkpointEvery: config.checkpointEvery,
    checkpointSeconds: config.checkpointSeconds,
    reader: options.reader ?? false,
    onError: (error) => logger.pino.error({ err: error }, 'merkle log checkpoint failed'),
  });
  const monitor = new ComplianceMonitor({
    file: join(config.dataDir, 'compliance.db'),
    store,
    clock,
    config: monitorConfig(config),
    sweepSeconds: config.complianceSweepSeconds,
    onOpened: (violation) => {
      logger.pino.warn({ violation: violation.id, rule: violation.rule }, 'violation opened');
      options.onOpened?.(violation);
    },
    onError: (error) => logger.pino.error({ err: error }, 'compliance sweep failed'),
  });
  return { readModels, merkleLog, monitor };
}

/**
 * The log feed over a follower set: read models first (read-your-writes waits on them), the
 * Merkle log, then — when this process monitors compliance — the monitor.
 */
export function feedFor(
  set: FollowerSet,
  options: { store: EventStore; logger: LedgerLogger; runMonitors: boolean; onProgress?: (status: ConsumerStatus[]) => void },
): LogFeed {
  const { logger } = options;
  const consumers: LogConsumer[] = [set.readModels, set.merkleLog];
  if (options.runMonitors) consumers.push(set.monitor);
  return new LogFeed({
    store: options.store,
    consumers,
    // A Merkle log that skipped a leaf would sign roots nobody can reproduce: it stops instead.
    quarantines: (consumer) => consumer !== set.merkleLog,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    onQuarantined: (entry) =>
      logger.pino.error(
        { consumer: entry.consumer, globalPosition: entry.globalPosition, eventId: entry.eventId, type: entry.type, error: entry.error },
        'event quarantined: this follower cannot apply it and goes on without it',
      ),
    onConsumerStopped: (consumer, error) => logger.pino.error({ consumer, err: error }, 'follower stopped after an error; it is retried from its checkpoint'),
    onConsumerResumed: (consumer) => logger.pino.warn({ consumer }, 'follower retried from its checkpoint'),
    onReadError: (error) => logger.pino.error({ err: error }, 'the log feed could not read the log; retrying'),
  });
}

/** Starts the followers' own timers beside the feed: checkpoints every T seconds, deadline sweeps. */
export function startTimers(set: FollowerSet, runMonitors: boolean): void {
  set.merkleLog.startCheckpointTimer();
  if (runMonitors) set.monitor.startSweeps();
}

export async function closeFollowerSet(set: FollowerSet): Promise<void> {
  await set.readModels.close();
  await set.merkleLog.close();
  await set.monitor.close();
}
