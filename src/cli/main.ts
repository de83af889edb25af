#!/usr/bin/env node
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { NestFactory } from '@nestjs/core';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { INestApplicationContext } from '@nestjs/common';
import { AppModule } from '../app.module.js';
import { ConfigError, loadConfig, type LedgerConfig } from '../config/ledger-config.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.port.js';
import { parseEvent } from '../ledger/commands/record-events/event-envelope.dto.js';
import { RecordEventsCommand } from '../ledger/commands/record-events/record-events.handler.js';
import { GetSubjectTimelineQuery } from '../ledger/queries/subject-timeline/subject-timeline.query.js';
import { LedgerLogger } from '../observability/ledger-logger.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { AUDIT_PURPOSE_KEY } from '../vocabulary/vocabulary.js';
import { demoStory } from './demo-story.js';
import { ComplianceMonitor } from '../compliance/compliance-monitor.js';
import { verifyCommand, verifyProofCommand, publicKeyCommand } from './verify-commands.js';
import { ShredSubjectKeyCommand } from '../ledger/commands/subject-requests/subject-request.handlers.js';
import { GetPersonalValuesQuery } from '../ledger/queries/subject-data/subject-data.queries.js';
import { portabilityCsv, portabilityExport } from '../ledger/queries/subject-data/portability.js';
import { isPseudonymousId } from '../ledger/commands/record-events/validation.js';
import { recordRead } from '../ledger/http/audited-read.js';
import { PlannedEventRejection } from '../ledger/domain/plan-append.js';

/** Exit codes shared by every command: 0 done / intact, 1 failed check, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function configFor(options: { dataDir?: string }): LedgerConfig {
  return loadConfig({ ...process.env, ...(options.dataDir ? { LEDGER_DATA_DIR: options.dataDir } : {}), LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn' });
}

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

async function demo(options: { dataDir?: string }): Promise<number> {
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

async function rebuild(options: { dataDir?: string }): Promise<number> {
  const config = configFor(options);
  return withLedger(config, async (ctx) => {
    const store = ctx.get<EventStore>(EVENT_STORE);
    const runner = ctx.get(ProjectionRunner);
    const head = await store.headPosition();
    const started = performance.now();
    await runner.rebuild();
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`rebuilt every read model from ${head} events in ${seconds.toFixed(2)} s (${Math.round(head / Math.max(seconds, 1e-6))} events/s)\n`);
    return EXIT.ok;
  });
}

async function shred(subjectId: string, options: { dataDir?: string; reason: string }): Promise<number> {
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

async function exportSubject(subjectId: string, options: { dataDir?: string; format: string }): Promise<number> {
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
    });
    process.stdout.write(options.format === 'csv' ? portabilityCsv(data) : `${JSON.stringify(data, null, 2)}\n`);
    return EXIT.ok;
  });
}

async function violations(options: { dataDir?: string; status?: string; json?: boolean }): Promise<number> {
  if (options.status !== undefined && options.status !== 'open' && options.status !== 'resolved') {
    process.stderr.write(`ledger: --status must be open or resolved\n`);
    return EXIT.usage;
  }
  return withLedger(
    configFor(options),
    async (ctx) => {
      const monitor = ctx.get(ComplianceMonitor);
      await monitor.waitForPosition(await ctx.get<EventStore>(EVENT_STORE).headPosition(), 600_000);
      await monitor.sweep();
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

export function buildCli(): Command {
  const program = new Command('ledger')
    .description('Privacy audit ledger: record, query and verify who touched personal data, when, and why.')
    .exitOverride()
    .showHelpAfterError();
  program
    .command('demo')
    .description('seed a realistic story from the privacy statement and print one subject timeline')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (opts: { dataDir?: string }) => {
      process.exitCode = await demo(opts);
    });
  program
    .command('rebuild')
    .description('drop every read model and rebuild it from the log')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (opts: { dataDir?: string }) => {
      process.exitCode = await rebuild(opts);
    });
  program
    .command('shred')
    .description("destroy a subject's data key (crypto-shredding, Art. 17) and record SubjectKeyShredded")
    .argument('<subject>', 'pseudonymous subject id')
    .option('--reason <text>', 'why the key is destroyed', 'erasure (Art. 17) by the operator')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (subject: string, opts: { dataDir?: string; reason: string }) => {
      process.exitCode = await shred(subject, opts);
    });
  program
    .command('export')
    .description('Art. 20 portability export of what the subject provided (the read is recorded)')
    .argument('<subject>', 'pseudonymous subject id')
    .option('--format <format>', 'json or csv', 'json')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (subject: string, opts: { dataDir?: string; format: string }) => {
      process.exitCode = await exportSubject(subject, opts);
    });
  program
    .command('violations')
    .description('evaluate the compliance monitors over the log and list the violations with their proving events')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .option('--status <status>', 'open or resolved')
    .option('--json', 'print the violations as JSON')
    .action(async (opts: { dataDir?: string; status?: string; json?: boolean }) => {
      process.exitCode = await violations(opts);
    });
  program
    .command('verify')
    .description('recompute every stream chain and the Merkle root; check every checkpoint (exit 0 intact, 1 tampered, 2 usage)')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .option('--public-key <file>', "the ledger's Ed25519 public key (PEM) you trust; default: the data dir's copy")
    .option('--json', 'print the report as JSON')
    .action(async (opts: { dataDir?: string; publicKey?: string; json?: boolean }) => {
      process.exitCode = await verifyCommand(configFor(opts).dataDir, opts);
    });
  program
    .command('verify-proof')
    .description('verify an inclusion or consistency proof file (vector JSON shape); exit 0 accepted, 1 rejected')
    .argument('<file>', 'proof JSON')
    .option('--checkpoint <file>', 'also check the signed checkpoint and that the proof is for its root')
    .option('--public-key <file>', 'public key (PEM) for --checkpoint')
    .action(async (file: string, opts: { checkpoint?: string; publicKey?: string }) => {
      process.exitCode = await verifyProofCommand(file, opts);
    });
  program
    .command('public-key')
    .description("print the ledger's checkpoint public key (PEM)")
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (opts: { dataDir?: string }) => {
      process.exitCode = await publicKeyCommand(configFor(opts).dataDir);
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    process.stderr.write(`ledger: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT.failed;
  }
}

void main(process.argv);
