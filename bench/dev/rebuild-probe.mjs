// Dev probe: rebuilds the read models of a kept store dir (node bench/dev/rebuild-probe.mjs <dir>) and verifies it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { SqliteEventStore, readRawLog } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { ProjectionRunner } from '../../dist/src/read-models/projection-runner.js';
import { LEDGER_PROJECTIONS } from '../../dist/projections/index.js';
import { verifyLedger } from '../../dist/src/integrity/ledger-verifier.js';

const dir = process.argv[2];
const what = process.argv[3] ?? 'both';
if (what !== 'verify') {
  for (const s of ['', '-wal', '-shm']) rmSync(join(dir, `projections.db${s}`), { force: true });
  const t0 = performance.now();
  const store = new SqliteEventStore({ file: join(dir, 'events.db') });
  const t1 = performance.now();
  const runner = new ProjectionRunner({ file: join(dir, 'projections.db'), store, projections: LEDGER_PROJECTIONS });
  const head = await store.headPosition();
  const c0 = process.cpuUsage();
  await runner.rebuild();
  const t2 = performance.now();
  const c = process.cpuUsage(c0);
  console.log(`store open ${Math.round(t1 - t0)} ms; rebuild ${head} events in ${((t2 - t1) / 1000).toFixed(1)} s = ${Math.round(head / ((t2 - t1) / 1000))} ev/s, cpu ${((c.user + c.system) / head).toFixed(1)} us/ev, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB`);
  await runner.close();
  await store.close();
}
if (what !== 'rebuild') {
  const { publicKey } = generateKeyPairSync('ed25519');
  const t = performance.now();
  const report = verifyLedger(readRawLog(join(dir, 'events.db')), [], publicKey);
  const s = (performance.now() - t) / 1000;
  console.log(`verify ${report.events} events intact=${report.intact} in ${s.toFixed(1)} s = ${Math.round(report.events / s)} ev/s`);
}
