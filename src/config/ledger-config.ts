import { resolve } from 'node:path';

/** Service configuration, read once from the environment and validated at start-up. */
export interface LedgerConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly eventStore: 'sqlite' | 'kurrentdb';
  readonly kurrentdbConnectionString: string | null;
  /** SQLite synchronous mode for the log: 'full' survives power loss, 'normal' a process crash. */
  readonly durability: 'full' | 'normal';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest batch POST /v1/events/batch accepts. */
  readonly maxBatchEvents: number;
  /** 'thread': the log's followers run in a worker thread of their own (the default); 'inline': in the service thread. */
  readonly followers: 'thread' | 'inline';
  /** A signed checkpoint is made every N new events ... */
  readonly checkpointEvery: number;
  /** ... or every T seconds when the log grew (0: only by count and on demand). */
  readonly checkpointSeconds: number;
  /** Compliance monitors (Art. 8, 34): the configurable periods, and the deadline sweep interval. */
  readonly childErasureDays: number;
  readonly breachSubjectNoticeHours: number;
  readonly complianceSweepSeconds: number;
  /** Webhooks that receive newly opened violations, and the HMAC secret that signs them. */
  readonly webhookUrls: readonly string[];
  readonly webhookSecret: string | null;
  readonly webhookBaseDelayMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got '${value}')`);
  }
  return value as T;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got '${value}')`);
  }
  return Number(value);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  const eventStore = oneOf(env, 'LEDGER_EVENT_STORE', ['sqlite', 'kurrentdb'] as const, 'sqlite');
  const kurrentdbConnectionString = env['KURRENTDB_CONNECTION_STRING'] || null;
  if (eventStore === 'kurrentdb' && kurrentdbConnectionString === null) {
    throw new ConfigError('KURRENTDB_CONNECTION_STRING', 'is required when LEDGER_EVENT_STORE=kurrentdb');
  }
  const dataDir = env['LEDGER_DATA_DIR'] || './data';
  if (dataDir.includes('\0')) throw new ConfigError('LEDGER_DATA_DIR', 'must be a path');
  const webhookUrls = (env['LEDGER_WEBHOOK_URLS'] ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const url of webhookUrls) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ConfigError('LEDGER_WEBHOOK_URLS', `must be a comma-separated list of http(s) URLs (got '${url}')`);
    }
  }
  const webhookSecret = env['LEDGER_WEBHOOK_SECRET'] || null;
  if (webhookUrls.length > 0 && (webhookSecret === null || webhookSecret.length < 16)) {
    throw new ConfigError('LEDGER_WEBHOOK_SECRET', 'is required with LEDGER_WEBHOOK_URLS: at least 16 characters');
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env['HOST'] || '0.0.0.0',
    dataDir: resolve(dataDir),
    eventStore,
    kurrentdbConnectionString,
    durability: oneOf(env, 'LEDGER_DURABILITY', ['full', 'normal'] as const, 'full'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    followers: oneOf(env, 'LEDGER_FOLLOWERS', ['thread', 'inline'] as const, 'thread'),
    maxBatchEvents: integer(env, 'LEDGER_MAX_BATCH_EVENTS', 1000, 1, 10_000),
    checkpointEvery: integer(env, 'LEDGER_CHECKPOINT_EVERY', 1000, 1, 100_000_000),
    checkpointSeconds: integer(env, 'LEDGER_CHECKPOINT_SECONDS', 60, 0, 86_400),
    childErasureDays: integer(env, 'LEDGER_CHILD_ERASURE_DAYS', 30, 0, 3650),
    breachSubjectNoticeHours: integer(env, 'LEDGER_BREACH_SUBJECT_NOTICE_HOURS', 72, 0, 8760),
    complianceSweepSeconds: integer(env, 'LEDGER_COMPLIANCE_SWEEP_SECONDS', 30, 0, 86_400),
    webhookUrls,
    webhookSecret,
    webhookBaseDelayMs: integer(env, 'LEDGER_WEBHOOK_BASE_DELAY_MS', 1000, 1, 3_600_000),
  };
}
