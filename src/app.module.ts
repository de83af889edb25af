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
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
    @Inject(ApiKeyStore) private readonly keys: ApiKeyStore,
    @Inject(LedgerLogger) private readonly logger: LedgerLogger,
  ) {}

  onApplicationBootstrap(): void {
    const adminKeyFile = this.keys.bootstrapAdminKey(this.config.dataDir);
    if (adminKeyFile) this.logger.pino.info({ file: adminKeyFile }, 'first start: an admin API key was written to this file (mode 0600)');
    this.readModels.start();
    this.merkleLog.start();
    if (this.runMonitors) {
      this.monitor.start();
      this.alerts.start();
    }
  }

  async onApplicationShutdown(): Promise<void> {
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
