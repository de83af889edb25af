// Child process for the service crash test: the whole compiled service (the log and every
// follower: read models, Merkle log with checkpoints, compliance monitor) on a data dir, with
// eight HTTP clients appending to it in the same process. A receipt is printed only after the
// service acknowledged it (201), so the parent knows what was promised before it kills us.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../dist/src/config/ledger-config.js';
import { createLedgerApp } from '../../dist/src/http-app.js';
import { LedgerLogger } from '../../dist/src/observability/ledger-logger.js';

const dataDir = process.argv[2];
// Checkpoints every 64 events, so kills land between a leaf's integration and its checkpoint too.
const config = loadConfig({ LEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'silent', LEDGER_CHECKPOINT_EVERY: '64' });
const app = await createLedgerApp(config, new LedgerLogger('silent'));
await app.listen({ port: 0, host: '127.0.0.1' });
const { port } = app.getHttpServer().address();
const auth = { authorization: `Bearer ${readFileSync(join(dataDir, 'admin.key'), 'utf8').trim()}`, 'content-type': 'application/json' };
const key = await (await fetch(`http://127.0.0.1:${port}/v1/api-keys`, { method: 'POST', headers: auth, body: JSON.stringify({ name: `crash-${randomUUID().slice(0, 8)}`, role: 'emitter' }) })).json();
const headers = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' };

let n = 0;
async function appendBatch() {
  const events = Array.from({ length: 10 }, () => {
    const subject = `crash-${n++ % 50}`;
    return {
      eventId: randomUUID(),
      type: 'PersonalDataAccessed',
      occurredAt: new Date(Date.now() - 1000).toISOString(),
      subjectId: subject,
      actor: { id: 'agent-1', kind: 'employee', system: 'support-console' },
      data: { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', legalBasis: 'contract', reasonCode: 'customer_initiated_support', justification: 'crash drill' },
      metadata: {},
    };
  });
  const res = await fetch(`http://127.0.0.1:${port}/v1/events/batch`, { method: 'POST', headers, body: JSON.stringify({ events }) });
  if (res.status !== 201) throw new Error(`append answered ${res.status}: ${await res.text()}`);
  const { receipts } = await res.json();
  process.stdout.write(receipts.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

for (let w = 0; w < 8; w++) {
  void (async () => {
    for (;;) await appendBatch();
  })().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(3);
  });
}
