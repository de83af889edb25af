import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(process.cwd(), 'dist/src/cli/main.js');

/** Runs the compiled `ledger` command (npm test builds first). */
export function ledgerCli(args: readonly string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(CLI)) throw new Error('the CLI tests run the compiled command: run `npm run build` first (npm test does)');
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
