import { join } from 'node:path';
import { Inject, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { ApiKeyStore } from './auth/api-key-store.js';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { LEDGER_CONFIG } from './config/config.module.js';
import type { LedgerConfig } from './config/ledger-config.js';
import { SUBJECT_KEYRING, type SubjectKeyring } from './crypto/subject-keyring.js';
import { loadKeyEncryptionKey, SqliteSubjectKeyring } from './crypto/sqlite-subject-keyring.js';
import { EVENT_STORE, type EventStore } from './event-store/event-store.port.js';
import { openEventStore } from './event-store/open-event-store.js';
import { LogFeed, type LogBatch, type LogConsumer } from './event-store/log-feed.js';
import type { StoredEvent } from './event-store/event-store.port.js';
import { RecordEventsHandler } from './ledger/commands/record-events/record-events.handler.js';
import { ApiKeysController } from './ledger/http/api-keys.controller.js';
import { EventsController } from './ledger/http/events.controller.js';
import { HealthController } from './ledger/http/health.controller.js';
import { SubjectsController } from './ledger/http/subjects.controller.js';
import { VocabularyController } from './ledger/http/vocabulary.controller.js';
import { GetSubjectTimelineHandler } from './ledger/queries/subject-timeline/subject-timeline.query.js';
import { LedgerLogger } from './observability/ledger-logger.js';
import { ProjectionRunner } from './read-models/projection-runner.js';
import { CheckpointSigner } from './integrity/checkpoint-signer.js';
import { MerkleLog } from './integrity/merkle-log.js';
import { IntegrityController } from './ledger/http/integrity.controller.js';
import { CLOCK, systemClock, type Clock } from './clock.js';
import { ComplianceMonitor } from './compliance/compliance-monitor.js';
import { WebhookAlerts } from './compliance/webhook-alerts.js';
import { monitorConfig } from './compliance/monitor-config.js';
import { ComplianceController } from './ledger/http/compliance.controller.js';
import {
  ListBreachesHandler,
  ListProcessingActivitiesHandler,
  ListProcessingHandler,
  ListSubjectRecipientsHandler,
} from './ledger/queries/registers/registers.queries.js';
import { RequestsController } from './ledger/http/requests.controller.js';
import { SubjectRightsController } from './ledger/http/subject-rights.controller.js';
import { FulfilSubjectRequestHandler, ShredSubjectKeyHandler } from './ledger/commands/subject-requests/subject-request.handlers.js';
import { ListSubjectRequestsHandler } from './ledger/queries/subject-requests/subject-requests.query.js';
import { GetAccessPackageHandler, GetPersonalValuesHandler } from './ledger/queries/subject-data/subject-data.queries.js';
import { LEDGER_PROJECTIONS } from '../projections/index.js';

const RUN_MONITORS = Symbol('RunMonitors');

/** TEMPORARY bridge while the runner and the monitor gain their LogConsumer methods. */
function asConsumer(follower: ProjectionRunner | ComplianceMonitor): LogConsumer {
  const f = follower as unknown as Partial<LogConsumer> & {
    applyBatch?: (events: readonly StoredEvent[]) => void;
    follow?: (events: readonly StoredEvent[]) => Promise<void>;
    checkpoint?: () => number;
  };
  if (typeof f.apply === 'function' && typeof f.name === 'string') return follower as unknown as LogConsumer;
  if (follower instanceof ProjectionRunner) {
    return { name: 'projections', position: () => follower.position(), apply: (b: LogBatch) => follower.applyBatch(b.events) };
  }
  return { name: 'compliance', position: () => f.checkpoint!.call(follower), apply: (b: LogBatch) => f.follow!.call(follower, b.events) };
}

/** Starts the read models and the first admin key; closes every file on shutdown, log last. */
class LedgerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(RUN_MONITORS) private readonly runMonitors: boolean,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(MerkleLog) private readonly merkleLog: MerkleLog,
    @Inject(ComplianceMonitor) private readonly monitor: ComplianceMonitor,
    @Inject(WebhookAlerts) private readonly alerts: WebhookAlerts,
    @Inject(LogFeed) private readonly feed: LogFeed,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
    @Inject(ApiKeyStore) private readonly keys: ApiKeyStore,
    @Inject(LedgerLogger) private readonly logger: LedgerLogger,
  ) {}

  onApplicationBootstrap(): void {
    const adminKeyFile = this.keys.bootstrapAdminKey(this.config.dataDir);
    if (adminKeyFile) this.logger.pino.info({ file: adminKeyFile }, 'first start: an admin API key was written to this file (mode 0600)');
    // One feed drives every follower; the timers (checkpoints, deadline sweeps, deliveries) run beside it.
    this.feed.start();
    this.merkleLog.startCheckpointTimer();
    if (this.runMonitors) {
      const monitor = this.monitor as unknown as { startSweeps?: () => void };
      monitor.startSweeps?.();
      this.alerts.start();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.feed.stop();
    await this.readModels.close();
    await this.merkleLog.close();
    await this.monitor.close();
    await this.alerts.close();
    await this.keyring.close();
    this.keys.close();
    await this.store.close();
  }
}

@Module({})
export class AppModule {
  /**
   * `runMonitors: false` (the CLI) leaves compliance monitoring and alerts to the service: a
   * command that appends many events would otherwise judge deadlines on a half-written story.
   */
  static forRoot(config: LedgerConfig, logger: LedgerLogger, clock: Clock = systemClock, runMonitors = true): DynamicModule {
    return {
      module: AppModule,
      imports: [CqrsModule.forRoot()],
      controllers: [
        EventsController,
        SubjectsController,
        SubjectRightsController,
        RequestsController,
        ComplianceController,
        IntegrityController,
        VocabularyController,
        ApiKeysController,
        HealthController,
      ],
      providers: [
        { provide: LEDGER_CONFIG, useValue: config },
        { provide: LedgerLogger, useValue: logger },
        { provide: CLOCK, useValue: clock },
        { provide: RUN_MONITORS, useValue: runMonitors },
        { provide: EVENT_STORE, useFactory: () => openEventStore(config) },
        {
          provide: SUBJECT_KEYRING,
          useFactory: () => new SqliteSubjectKeyring(join(config.dataDir, 'keys.db'), loadKeyEncryptionKey(config.dataDir, process.env['LEDGER_KEK'])),
        },
        {
          provide: ProjectionRunner,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore) =>
            new ProjectionRunner({
              file: join(config.dataDir, 'projections.db'),
              store,
              projections: LEDGER_PROJECTIONS,
              onError: (error) => logger.pino.error({ err: error }, 'projection runner stopped'),
            }),
        },
        { provide: CheckpointSigner, useFactory: () => CheckpointSigner.loadOrCreate(config.dataDir, process.env['LEDGER_SIGNING_KEY']) },
        {
          provide: MerkleLog,
          inject: [EVENT_STORE, CheckpointSigner],
          useFactory: (store: EventStore, signer: CheckpointSigner) =>
            new MerkleLog({
              file: join(config.dataDir, 'integrity.db'),
              store,
              signer,
              checkpointEvery: config.checkpointEvery,
              checkpointSeconds: config.checkpointSeconds,
              onError: (error) => logger.pino.error({ err: error }, 'merkle log stopped'),
            }),
        },
        {
          provide: WebhookAlerts,
          useFactory: () =>
            new WebhookAlerts({
              file: join(config.dataDir, 'alerts.db'),
              urls: config.webhookUrls,
              secret: config.webhookSecret ?? '',
              clock,
              baseDelayMs: config.webhookBaseDelayMs,
              onError: (error) => logger.pino.error({ err: error }, 'webhook delivery failed unexpectedly'),
            }),
        },
        {
          provide: ComplianceMonitor,
          inject: [EVENT_STORE, WebhookAlerts],
          useFactory: (store: EventStore, alerts: WebhookAlerts) =>
            new ComplianceMonitor({
              file: join(config.dataDir, 'compliance.db'),
              store,
              clock,
              config: monitorConfig(config),
              sweepSeconds: config.complianceSweepSeconds,
              onOpened: (violation) => {
                logger.pino.warn({ violation: violation.id, rule: violation.rule }, 'violation opened');
                if (alerts.enabled) alerts.enqueue(violation);
              },
              onError: (error) => logger.pino.error({ err: error }, 'compliance monitor stopped'),
            }),
        },
        {
          provide: LogFeed,
          inject: [EVENT_STORE, ProjectionRunner, MerkleLog, ComplianceMonitor],
          useFactory: (store: EventStore, readModels: ProjectionRunner, merkleLog: MerkleLog, monitor: ComplianceMonitor) =>
            new LogFeed({
              store,
              // Read models first: read-your-writes waits on them, and they are the cheapest.
              consumers: runMonitors ? [asConsumer(readModels), merkleLog, asConsumer(monitor)] : [asConsumer(readModels), merkleLog],
              // A Merkle log that skipped a leaf would sign roots nobody can reproduce: it stops instead.
              quarantines: (consumer) => consumer !== merkleLog,
              onQuarantined: (entry) =>
                logger.pino.error(
                  { consumer: entry.consumer, globalPosition: entry.globalPosition, eventId: entry.eventId, type: entry.type, error: entry.error },
                  'event quarantined: this follower cannot apply it and goes on without it',
                ),
              onConsumerStopped: (consumer, error) =>
                logger.pino.error({ consumer, err: error }, 'follower stopped after an error; it is retried from its checkpoint'),
              onConsumerResumed: (consumer) => logger.pino.warn({ consumer }, 'follower retried from its checkpoint'),
              onReadError: (error) => logger.pino.error({ err: error }, 'the log feed could not read the log; retrying'),
            }),
        },
        { provide: ApiKeyStore, useFactory: () => new ApiKeyStore(join(config.dataDir, 'access.db')) },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        LedgerLifecycle,
        RecordEventsHandler,
        FulfilSubjectRequestHandler,
        ShredSubjectKeyHandler,
        GetSubjectTimelineHandler,
        ListSubjectRequestsHandler,
        GetPersonalValuesHandler,
        GetAccessPackageHandler,
        ListProcessingHandler,
        ListSubjectRecipientsHandler,
        ListBreachesHandler,
        ListProcessingActivitiesHandler,
      ],
    };
  }
}
