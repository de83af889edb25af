// Dev check: kill -9 while ids are being sealed and heads snapshotted (small intervals so that
// both happen many times), three times; then every acknowledged receipt must be found by its
// eventId, answer a retry with the same receipt, and every chain must recompute.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { verifyStreamChain } from '../../dist/src/integrity/chain.js';

const OPTIONS = { checkpointEvery: 700, headSnapshotEvery: 1900 };
const event = (eventId, subject) => ({
  eventId,
  type: 'PersonalDataAccessed',
  occurredAt: '2026-11-01T10:00:00.000Z',
  subjectId: subject,
  actor: { id: 'a', kind: 'employee', system: 'x' },
  data: { categories: ['user.contact.email'], purpose: 'p', reasonCode: 'r' },
  metadata: {},
  contentDigest: 'ab'.repeat(32),
});

if (process.argv[2] === 'child') {
  const store = new SqliteEventStore({ file: process.argv[3], ...OPTIONS });
  let n = 0;
  for (let w = 0; w < 16; w++) {
    void (async () => {
      for (;;) {
        const size = 1 + (n++ % 40);
        const subject = `c${n % 300}`;
        const events = Array.from({ length: size }, () => event(randomUUID(), subject));
        const receipts = await store.append([{ streamId: `subject-${subject}`, expectedRevision: 'any', events }]);
        for (const r of receipts) process.stdout.write(`${JSON.stringify(r)}\n`);
      }
    })();
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-crashcheck-'));
  const file = join(dir, 'events.db');
  const acknowledged = [];
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'child', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    child.stdout.on('data', (d) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const l of lines) acknowledged.push(JSON.parse(l));
    });
    await new Promise((r) => setTimeout(r, 1500 + Math.random() * 2000));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
  }
  const store = new SqliteEventStore({ file, ...OPTIONS });
  let checked = 0;
  for (const r of acknowledged) {
    const stored = await store.findByEventId(r.eventId);
    if (!stored || stored.globalPosition !== r.globalPosition || stored.hash !== r.hash) throw new Error(`lost or changed: ${JSON.stringify(r)}`);
    checked++;
  }
  const sample = acknowledged.filter((_, i) => i % 97 === 0);
  for (const r of sample) {
    const [again] = await store.append([{ streamId: r.streamId, expectedRevision: 'any', events: [event(r.eventId, r.streamId.slice(8))] }]);
    if (!again.duplicate || again.globalPosition !== r.globalPosition) throw new Error(`retry not idempotent: ${JSON.stringify(r)}`);
  }
  const head = await store.headPosition();
  const streams = new Set(acknowledged.map((r) => r.streamId));
  for (const s of streams) if (verifyStreamChain(await store.readStream(s)) !== null) throw new Error(`chain broken: ${s}`);
  const [next] = await store.append([{ streamId: 'subject-c1', expectedRevision: 'any', events: [event(randomUUID(), 'c1')] }]);
  if (next.globalPosition !== head) throw new Error('positions not contiguous after recovery');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`crash check: ${checked} acknowledged events over 3 kills all found, ${sample.length} retries idempotent, ${streams.size} chains intact, log head ${head}`);
}
