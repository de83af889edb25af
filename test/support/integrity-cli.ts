import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs the compiled `ledger` CLI (dist/src/cli/main.js) the way an auditor would: a separate
 * node process on files, nothing shared with the test's process.
 */

export const CLI = join(process.cwd(), 'dist/src/cli/main.js');

/** The CLI's path; throws a clear error when the project was not built. */
export function cliPath(): string {
  if (!existsSync(CLI)) {
    throw new Error(`the ledger CLI is not built: ${CLI} is missing — run \`npm run build\` first (npm test does)`);
  }
  return CLI;
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The child's environment: no data dir, signing key or jest NODE_OPTIONS leaking in. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete env['NODE_OPTIONS'];
  delete env['LEDGER_DATA_DIR'];
  delete env['LEDGER_SIGNING_KEY'];
  return { ...env, ...extra };
}

/** `ledger ...args`, synchronously. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', env: childEnv(env), timeout: 120_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `ledger ...args` without blocking the test's event loop. */
export function runCliAsync(args: readonly string[]): Promise<CliResult> {
  const cli = cliPath();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs many CLI invocations, at most `concurrency` at a time; results in input order. */
export async function runCliPool(argLists: readonly (readonly string[])[], concurrency: number): Promise<CliResult[]> {
  const results: CliResult[] = new Array<CliResult>(argLists.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < argLists.length) {
      const i = next++;
      results[i] = await runCliAsync(argLists[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, argLists.length)) }, worker));
  return results;
}

/** The JSON report `ledger verify --json` prints as its last line. */
export interface VerifyReportJson {
  readonly intact: boolean;
  readonly events: number;
  readonly streams: number;
  readonly rootHash: string;
  readonly checkpointsVerified: number;
  readonly firstBreak: { readonly kind: string; readonly position: number; readonly detail: string } | null;
  readonly seconds: number;
}

/** `ledger verify --data-dir DIR --json [...extra]`: exit status and the parsed report. */
export function verifyDataDir(dataDir: string, extra: readonly string[] = []): { status: number | null; report: VerifyReportJson } & CliResult {
  const result = runCli(['verify', '--data-dir', dataDir, '--json', ...extra]);
  const last = result.stdout.trim().split('\n').pop() ?? '';
  let report: VerifyReportJson;
  try {
    report = JSON.parse(last) as VerifyReportJson;
  } catch {
    throw new Error(`ledger verify printed no JSON report (exit ${result.status})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return { ...result, report };
}

/** A fresh copy of a (closed) data dir, to tamper with. */
export function copyDataDir(source: string, prefix = 'ledger-tamper-'): string {
  const target = mkdtempSync(join(tmpdir(), prefix));
  cpSync(source, target, { recursive: true });
  return target;
}
