#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/ledger-config.js';
import { configFor, EXIT } from './cli-config.js';
import { publicKeyCommand, verifyCommand, verifyProofCommand } from './verify-commands.js';

/** The commands that run the application are loaded on first use (see ledger-commands.ts). */
const app = () => import('./ledger-commands.js');

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
      process.exitCode = await (await app()).demo(opts);
    });
  program
    .command('rebuild')
    .description('drop every read model and rebuild it from the log')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (opts: { dataDir?: string }) => {
      process.exitCode = await (await app()).rebuild(opts);
    });
  program
    .command('shred')
    .description("destroy a subject's data key (crypto-shredding, Art. 17) and record SubjectKeyShredded")
    .argument('<subject>', 'pseudonymous subject id')
    .option('--reason <text>', 'why the key is destroyed', 'erasure (Art. 17) by the operator')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (subject: string, opts: { dataDir?: string; reason: string }) => {
      process.exitCode = await (await app()).shred(subject, opts);
    });
  program
    .command('export')
    .description('Art. 20 portability export of what the subject provided (the read is recorded)')
    .argument('<subject>', 'pseudonymous subject id')
    .option('--format <format>', 'json or csv', 'json')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .action(async (subject: string, opts: { dataDir?: string; format: string }) => {
      process.exitCode = await (await app()).exportSubject(subject, opts);
    });
  program
    .command('violations')
    .description('evaluate the compliance monitors over the log and list the violations with their proving events')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .option('--status <status>', 'open or resolved')
    .option('--json', 'print the violations as JSON')
    .action(async (opts: { dataDir?: string; status?: string; json?: boolean }) => {
      process.exitCode = await (await app()).violations(opts);
    });
  program
    .command('verify')
    .description('recompute every stream chain and the Merkle root; check every checkpoint (exit 0 intact, 1 tampered, 2 usage)')
    .option('--data-dir <dir>', 'data directory (default: LEDGER_DATA_DIR or ./data)')
    .option('--public-key <file>', "the ledger's Ed25519 public key (PEM) you trust; default: the data dir's copy")
    .option('--json', 'print the report as JSON')
    .option('--checkpoint <file...>', 'also check the log against signed checkpoints you kept (JSON from GET /v1/integrity/checkpoint)')
    .action(async (opts: { dataDir?: string; publicKey?: string; json?: boolean; checkpoint?: string[] }) => {
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
