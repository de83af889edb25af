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
import type { ConsumerStatus } from './event-store/log-feed.js';
import { Followers } from './followers/followers.js';
import { closeFollowerSet, feedFor, openFollowerSet, type FollowerSet } from './followers/follower-set.js';
import { InlineFollowers } from './followers/inline-followers.js';
import { followerThreadScript, ThreadFollowers } from './followers/thread-followers.js';
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

const RUN_MONITORS = Symbol('RunMonitors');
const FOLLOWER_SET = Symbol('FollowerSet');

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
    @Inject(Followers) private readonly followers: Followers,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
    @Inject(ApiKeyStore) private readonly keys: ApiKeyStore,
    @Inject(LedgerLogger) private readonly logger: LedgerLogger,
  ) {}

  onApplicationBootstrap(): void {
    const adminKeyFile = this.keys.bootstrapAdminKey(this.config.dataDir);
    if (adminKeyFile) this.logger.pino.info({ file: adminKeyFile }, 'first start: an admin API key was written to this file (mode 0600)');
    // One feed drives every follower (here or in the follower thread); alerts deliver beside it.
    this.followers.start();
    if (this.runMonitors) this.alerts.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.followers.stop();
    await closeFollowerSet({ readModels: this.readModels, merkleLog: this.merkleLog, monitor: this.monitor });
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
    // The followers get the second core (a thread of their own) in the service on the embedded
    // store with the system clock; tools, KurrentDB (its client lives in this thread) and tests
    // that drive the clock run them inline.
    const followerThread =
      config.followers === 'thread' && config.eventStore === 'sqlite' && clock === systemClock && runMonitors ? followerThreadScript() : null;
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
        { provide: CheckpointSigner, useFactory: () => CheckpointSigner.loadOrCreate(config.dataDir, process.env['LEDGER_SIGNING_KEY']) },
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
          provide: FOLLOWER_SET,
          inject: [EVENT_STORE, CheckpointSigner, WebhookAlerts],
          useFactory: (store: EventStore, signer: CheckpointSigner, alerts: WebhookAlerts) =>
            openFollowerSet({
              config,
              store,
              signer,
              clock,
              logger,
              reader: followerThread !== null,
              onOpened: (violation) => {
                if (alerts.enabled) alerts.enqueue(violation);
              },
            }),
        },
        { provide: ProjectionRunner, inject: [FOLLOWER_SET], useFactory: (set: FollowerSet) => set.readModels },
        { provide: MerkleLog, inject: [FOLLOWER_SET], useFactory: (set: FollowerSet) => set.merkleLog },
        { provide: ComplianceMonitor, inject: [FOLLOWER_SET], useFactory: (set: FollowerSet) => set.monitor },
        {
          provide: Followers,
          inject: [EVENT_STORE, FOLLOWER_SET, WebhookAlerts],
          useFactory: (store: EventStore, set: FollowerSet, alerts: WebhookAlerts): Followers => {
            if (followerThread === null) return new InlineFollowers(feedFor(set, { store, logger, runMonitors }), set, runMonitors);
            const initial: ConsumerStatus[] = [set.readModels, set.merkleLog, ...(runMonitors ? [set.monitor] : [])].map((c) => ({
              name: c.name,
              position: c.position(),
              state: 'following',
              error: null,
              quarantined: 0,
            }));
            return new ThreadFollowers({
              script: followerThread,
              config,
              store,
              runMonitors,
              logger,
              initial,
              onOpened: (violation) => {
                logger.pino.warn({ violation: violation.id, rule: violation.rule }, 'violation opened');
                if (alerts.enabled) alerts.enqueue(violation);
              },
            });
          },
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
