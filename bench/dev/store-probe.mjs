// Dev probe: appends N events in batches through the compiled store and prints the rate per slice.
// node bench/dev/store-probe.mjs --events 1000000 --batch 1000 [--sync normal] [--projections]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { createStoreWorkload, toAppendRequests } from '../lib/workload.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => a.startsWith('--') ? [a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true'] : null).filter(Boolean));
const events = Number(args.events ?? 1_000_000);
const batch = Number(args.batch ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'ledger-probe-'));
const store = new SqliteEventStore({ file: join(dir, 'events.db'), synchronous: args.sync ?? 'full' });
let runner = null;
if (args.projections) {
  const { ProjectionRunner } = await import('../../dist/src/read-models/projection-runner.js');
  const { LEDGER_PROJECTIONS } = await import('../../dist/projections/index.js');
  runner = new ProjectionRunner({ file: join(dir, 'projections.db'), store, projections: LEDGER_PROJECTIONS });
  runner.start();
}
const seal = (id, s, pii) => 'v1.' + Buffer.from(JSON.stringify(pii)).toString('base64url') + '.tag';
const w = createStoreWorkload({ events, seal, ...(args.subjects ? { subjectsPerEvent: Number(args.subjects) / events } : {}) });
const slice = Math.max(batch, Math.floor(events / 10));
let t0 = performance.now();
const start = t0;
const cpuStart = process.cpuUsage();
let appendMs = 0;
let cpu0 = process.cpuUsage();
let slowest = 0;
for (let done = 0; done < events; ) {
  const list = [];
  for (let i = 0; i < batch && done + i < events; i++) list.push(w.next());
  const a = performance.now();
  await store.append(toAppendRequests(list));
  const took = performance.now() - a;
  appendMs += took;
  slowest = Math.max(slowest, took);
  done += list.length;
  if (done % slice === 0) {
    const t = performance.now();
    const lag = runner ? done - runner.position() : 0;
    const cpu = process.cpuUsage(cpu0);
    const m = process.memoryUsage();
    console.log(`${done}\t${Math.round(slice / ((t - t0) / 1000))} ev/s\tcpu ${((cpu.user + cpu.system) / slice).toFixed(1)} us/ev\tslowest append ${Math.round(slowest)} ms\trss ${Math.round(m.rss / 2 ** 20)} heap ${Math.round(m.heapUsed / 2 ** 20)} ext ${Math.round(m.external / 2 ** 20)} MB\tproj lag ${lag}`);
    t0 = t;
    cpu0 = process.cpuUsage();
    slowest = 0;
  }
}
if (runner) await runner.waitForPosition(events, 600_000);
const total = (performance.now() - start) / 1000;
const cpuAll = process.cpuUsage(cpuStart);
console.log(`total ${events} in ${total.toFixed(1)} s = ${Math.round(events / total)} ev/s (append calls ${Math.round(events / (appendMs / 1000))} ev/s) cpu ${((cpuAll.user + cpuAll.system) / events).toFixed(1)} us/ev (user ${(cpuAll.user / events).toFixed(1)} sys ${(cpuAll.system / events).toFixed(1)})`);
if (global.gc) {
  global.gc();
  const m = process.memoryUsage();
  console.log(`after gc: rss ${Math.round(m.rss / 2 ** 20)} heapUsed ${Math.round(m.heapUsed / 2 ** 20)} heapTotal ${Math.round(m.heapTotal / 2 ** 20)} external ${Math.round(m.external / 2 ** 20)} arrayBuffers ${Math.round(m.arrayBuffers / 2 ** 20)} MB`);
}
if (runner) await runner.close();
await store.close();
if (!args.keep) rmSync(dir, { recursive: true, force: true }); else console.log(dir);
