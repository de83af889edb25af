import { loadConfig, type LedgerConfig } from '../config/ledger-config.js';

/** Exit codes shared by every command: 0 done / intact, 1 failed check, 2 usage or configuration error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function configFor(options: { dataDir?: string }): LedgerConfig {
  return loadConfig({ ...process.env, ...(options.dataDir ? { LEDGER_DATA_DIR: options.dataDir } : {}), LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn' });
}
