import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { loadConfig, type LedgerConfig } from '../../src/config/ledger-config.js';
import { createLedgerApp } from '../../src/http-app.js';
import { LedgerLogger } from '../../src/observability/ledger-logger.js';
import type { Clock } from '../../src/clock.js';

/**
 * A real ledger service on the embedded store in a temp data dir, for e2e tests.
 * Nothing is mocked: the same files, keys and projections as in production.
 */
export interface TestLedger {
  readonly app: NestFastifyApplication;
  readonly dataDir: string;
  readonly config: LedgerConfig;
  readonly adminKey: string;
  http(): ReturnType<typeof request>;
  /** Creates an API key with the role and returns it. */
  key(role: 'emitter' | 'auditor' | 'admin'): Promise<string>;
  /** Closes the service (files stay) so a test can start it again on the same data dir. */
  close(): Promise<void>;
  /** Closes and removes the data dir. */
  destroy(): Promise<void>;
}

export async function startLedger(options: { dataDir?: string; env?: Record<string, string>; clock?: Clock } = {}): Promise<TestLedger> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ledger-e2e-'));
  const config = loadConfig({ LEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...options.env });
  const app = await createLedgerApp(config, new LedgerLogger('silent'), options.clock);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  let closed = false;
  const ledger: TestLedger = {
    app,
    dataDir,
    config,
    adminKey,
    http: () => request(app.getHttpServer()),
    key: async (role) => {
      const res = await request(app.getHttpServer())
        .post('/v1/api-keys')
        .set('authorization', `Bearer ${adminKey}`)
        .send({ name: `test-${role}-${randomUUID().slice(0, 6)}`, role });
      if (res.status !== 201) throw new Error(`could not create key: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as { key: string }).key;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
    destroy: async () => {
      await ledger.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return ledger;
}

/** A valid PersonalDataAccessed body; override any field. */
export function accessedBody(subjectId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: randomUUID(),
    type: 'PersonalDataAccessed',
    occurredAt: '2026-11-01T10:00:00Z',
    subjectId,
    actor: { id: 'agent-17', kind: 'employee', system: 'support-console' },
    data: {
      categories: ['user.contact.email', 'user.device.serial_number'],
      purpose: 'essential.service.operations.support',
      legalBasis: 'contract',
      reasonCode: 'customer_initiated_support',
      ticketRef: 'SUP-1042',
    },
    ...overrides,
  };
}
