// Child process for the crash test: appends forever and prints each receipt only after the
// store acknowledged it. Runs on the compiled service (npm test builds first).
import { randomUUID, createHash } from 'node:crypto';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';

const file = process.argv[2];
const store = new SqliteEventStore({ file, synchronous: process.argv[3] ?? 'full' });
let n = 0;

async function appendOne() {
  const subject = `crash-${n++ % 50}`;
  const body = {
    type: 'PersonalDataAccessed',
    occurredAt: new Date().toISOString(),
    subjectId: subject,
    actor: { id: 'agent-1', kind: 'employee', system: 'support-console' },
    data: { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', reasonCode: 'customer_initiated_support' },
    metadata: {},
  };
  const eventId = randomUUID();
  const contentDigest = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  const [receipt] = await store.append([{ streamId: `subject-${subject}`, expectedRevision: 'any', events: [{ eventId, ...body, contentDigest }] }]);
  process.stdout.write(`${JSON.stringify(receipt)}\n`);
}

// Eight concurrent writers, so acknowledged appends come from shared group commits.
for (let w = 0; w < 8; w++) {
  void (async () => {
    for (;;) await appendOne();
  })();
}
