import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import type { LedgerConfig } from './config/ledger-config.js';
import { LedgerErrorFilter } from './ledger/http/http-errors.js';
import { LedgerLogger } from './observability/ledger-logger.js';
import { systemClock, type Clock } from './clock.js';

/** Largest request body: a full batch of 1000 events with personal values fits. */
export const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

export interface LedgerAppOptions {
  /** false leaves the compliance monitor and webhook alerts stopped (a diagnostic: what they cost). */
  readonly runMonitors?: boolean;
}

/** Builds the HTTP service (used by main.ts, the e2e tests and the benchmarks). */
export async function createLedgerApp(
  config: LedgerConfig,
  logger = new LedgerLogger(config.logLevel),
  clock: Clock = systemClock,
  options: LedgerAppOptions = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger, clock, options.runMonitors ?? true),
    // No fastify request logging: a log line per request would cost more than recording the
    // event, and the service logs only failures (LedgerErrorFilter) and lifecycle. Keep-alive
    // stays at fastify's default (72 s), so emitters reuse their connections.
    new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, logger: false }),
    { logger, abortOnError: false },
  );
  app.useGlobalFilters(new LedgerErrorFilter(logger));
  app.enableShutdownHooks();
  const openapi = new DocumentBuilder()
    .setTitle('Privacy audit ledger')
    .setDescription("Tamper-evident record of who touched a person's data, when, and why.")
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openapi));
  return app;
}
