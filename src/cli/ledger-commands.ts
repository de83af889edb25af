import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { INestApplicationContext } from '@nestjs/common';
import { AppModule } from '../app.module.js';
import type { LedgerConfig } from '../config/ledger-config.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { parseEvent } from '../ledger/commands/record-events/event-envelope.dto.js';
import { RecordEventsCommand } from '../ledger/commands/record-events/record-events.handler.js';
import { GetSubjectTimelineQuery } from '../ledger/queries/subject-timeline/subject-timeline.query.js';
import { LedgerLogger } from '../observability/ledger-logger.js';
import { Followers } from '../followers/followers.js';
import { FOLLOWERS } from '../event-store/followers.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { AUDIT_PURPOSE_KEY } from '../vocabulary/vocabulary.js';
import { demoStory } from './demo-story.js';
import { ComplianceMonitor } from '../compliance/compliance-monitor.js';
import { ShredSubjectKeyCommand } from '../ledger/commands/subject-requests/subject-request.handlers.js';
import { GetPersonalValuesQuery } from '../ledger/queries/subject-data/subject-data.queries.js';
import { portabilityCsv, portabilityExport } from '../ledger/queries/subject-data/portability.js';
import { isPseudonymousId } from '../ledger/commands/record-events/validation.js';
import { recordRead } from '../ledger/http/audited-read.js';
import { PlannedEventRejection } from '../ledger/domain/plan-append.js';
import { configFor, EXIT } from './cli-config.js';

/*
 * The commands that run the application (Nest, the store, projections, monitors). main.ts
 * imports this module only when one of them runs, so `verify` and `verify-proof` start fast
 * and do not depend on the whole service being importable.
 */

async function withLedger<T>(config: LedgerConfig, work: (ctx: INestApplicationContext) => Promise<T>, runMonitors = false): Promise<T> {
  const ctx = await NestFactory.createApplicationContext(AppModule.forRoot(config, new LedgerLogger(config.logLevel), undefined, runMonitors), { logger: false });
  await ctx.init();
  try {
    return await work(ctx);
  } finally {
    await ctx.close();
  }
}

const CLI_ACTOR = { id: 'ledger-cli', kind: 'auditor', system: 'ledger-cli' } as const;

export async function demo(options: { dataDir?: string }): Promise<number> {
  const config = configFor(options);
  return withLedger(config, async (ctx) => {
    const commands = ctx.get(CommandBus);
    const story = demoStory();
    let recorded = 0;
    let already = 0;
    for (const [i, plain] of story.entries()) {
      const { parsed, errors } = parseEvent(plain, `story[${i}]`, new Date());
      if (!parsed) throw new Error(`demo event ${i} is invalid: ${JSON.stringify(errors)}`);
      const [receipt] = await commands.execute(new RecordEventsCommand([parsed]));
      if (receipt?.duplicate) already++;
      else recorded++;
    }
    process.stdout.write(`demo story: ${recorded} events recorded, ${already} already present, in ${config.dataDir}\n\n`);

    const subjectId = 'cust-1001';
    const page = await ctx.get(QueryBus).execute(new GetSubjectTimelineQuery(subjectId, { order: 'asc', limit: 100 }));
    // Reads are processing too, even from the command line.
    const { parsed } = parseEvent(
      {
        eventId: randomUUID(),
        type: 'PersonalDataAccessed',
        occurredAt: new Date().toISOString(),
        subjectId,
        actor: CLI_ACTOR,
        data: { categories: ['user.unique_id'], purpose: AUDIT_PURPOSE_KEY, legalBasis: 'legal_obligation', reasonCode: 'audit', justification: 'ledger demo printed the timeline' },
      },
      '',
      new Date(),
    );
    if (parsed) await commands.execute(new RecordEventsCommand([parsed]));

    process.stdout.write(`Who touched ${subjectId}'s data, when, and why:\n`);
    for (const e of page.entries) {
      const why = [e.why.purposes.join(','), e.why.legalBasis, e.why.reasonCode, e.why.ticketRef].filter(Boolean).join(' | ');
      process.stdout.write(
        `  ${e.occurredAt.slice(0, 16).replace('T', ' ')}  ${e.who.actorId.padEnd(18)} ${e.what.action.padEnd(26)} ${e.what.categories.slice(0, 3).join(',')}${e.what.categories.length > 3 ? ',…' : ''}\n` +
          `  ${' '.repeat(17)} why: ${why}\n`,
      );
    }
    process.stdout.write(
      `\nStart the service (npm start) and read it over HTTP:\n` +
        `  curl -H "Authorization: Bearer $(cat ${config.dataDir}/admin.key)" localhost:${config.port}/v1/subjects/${subjectId}/timeline\n`,
    );
    return EXIT.ok;
  });
}

export async function rebuild(options: { dataDir?: string }): Promise<number> {
  const config = configFor(options);
  return withLedger(config, async (ctx) => {
    const store = ctx.get<EventStore>(EVENT_STORE);
    const runner = ctx.get(ProjectionRunner);
    // The rebuild replays the log into the read models itself; the shared feed stays out of them.
    await ctx.get(Followers).stop();
    const head = await store.headPosition();
    const started = performance.now();
    await runner.rebuild();
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`rebuilt every read model from ${head} events in ${seconds.toFixed(2)} s (${Math.round(head / Math.max(seconds, 1e-6))} events/s)\n`);
    return EXIT.ok;
  });
}

export async function shred(subjectId: string, options: { dataDir?: string; reason: string }): Promise<number> {
  if (!isPseudonymousId(subjectId)) {
    process.stderr.write(`ledger: SUBJECT must be a pseudonymous subject id\n`);
    return EXIT.usage;
  }
  return withLedger(configFor(options), async (ctx) => {
    try {
      const [receipt] = await ctx.get(CommandBus).execute(new ShredSubjectKeyCommand(subjectId, options.reason, CLI_ACTOR));
      process.stdout.write(`shredded the key of ${subjectId}; SubjectKeyShredded recorded at position ${receipt?.globalPosition}\n`);
      return EXIT.ok;
    } catch (error) {
      if (error instanceof PlannedEventRejection) {
        process.stderr.write(`ledger: ${error.message}\n`);
        return EXIT.failed;
      }
      throw error;
    }
  });
}

export async function exportSubject(subjectId: string, options: { dataDir?: string; format: string }): Promise<number> {
  if (!isPseudonymousId(subjectId) || (options.format !== 'json' && options.format !== 'csv')) {
    process.stderr.write(`ledger: usage: ledger export SUBJECT [--format json|csv]\n`);
    return EXIT.usage;
  }
  return withLedger(configFor(options), async (ctx) => {
    const entries = await ctx.get(QueryBus).execute(new GetPersonalValuesQuery(subjectId, ['PersonalDataCollected'], ['data_subject']));
    const data = portabilityExport(subjectId, entries);
    await recordRead(ctx.get(CommandBus), {
      subjectId,
      actor: CLI_ACTOR,
      categories: data.records.flatMap((r) => r.categories),
      purpose: 'essential.legal_obligation.data_subject_request',
      reasonCode: 'subject_request_fulfilment',
      justification: 'Art. 20 portability export (ledger export)',
      at: new Date(),
    });
    process.stdout.write(options.format === 'csv' ? portabilityCsv(data) : `${JSON.stringify(data, null, 2)}\n`);
    return EXIT.ok;
  });
}

export async function violations(options: { dataDir?: string; status?: string; json?: boolean }): Promise<number> {
  if (options.status !== undefined && options.status !== 'open' && options.status !== 'resolved') {
    process.stderr.write(`ledger: --status must be open or resolved\n`);
    return EXIT.usage;
  }
  return withLedger(
    configFor(options),
    async (ctx) => {
      const monitor = ctx.get(ComplianceMonitor);
      const followers = ctx.get(Followers);
      await followers.caughtUpToHead([FOLLOWERS.compliance], 600_000);
      await followers.sweep();
      const found = monitor.list({ ...(options.status ? { status: options.status as 'open' | 'resolved' } : {}), limit: 10_000 });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(found)}\n`);
        return EXIT.ok;
      }
      process.stdout.write(`${found.length} violations (${found.filter((v) => v.status === 'open').length} open)\n`);
      for (const v of found) {
        process.stdout.write(
          `  ${v.status.padEnd(8)} ${v.article.padEnd(22)} ${v.rule.padEnd(36)} ${v.scope} ${v.scopeId}\n` +
            `           opened ${v.openedAt}${v.resolvedAt ? `, resolved ${v.resolvedAt} (${v.resolution})` : ''}: ${v.detail}\n` +
            `           evidence: ${v.evidence.map((e) => `#${e.globalPosition}`).join(' ')}\n`,
        );
      }
      return EXIT.ok;
    },
    true,
  );
}
