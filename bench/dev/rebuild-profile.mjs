// Dev probe for projection rebuild speed, run from dist/ (npm run build first).
//
//   node bench/dev/rebuild-profile.mjs build <dir> [events=1000000]   builds a store with the bench workload
//   node bench/dev/rebuild-profile.mjs rebuild <dir> [repeats=1] [--workers N] [--via-store]
//                                                                       drops projections.db and rebuilds it
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/dev/rebuild-profile.mjs rebuild <dir>
//
// A rebuild reads events.db directly (logFile) with the runner's default worker threads, or
// --workers N of them (0: decoded on the main thread), or through store.readAll (--via-store).
// The store is built with the real SqliteEventStore in batches of 1000 (as the bench's sustained
// phase, synchronous=NORMAL so building is quick); each rebuild prints events/s, CPU per event and
// this process's peak RSS (VmHWM), which includes the rebuild's and any earlier repeat's peak.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { ProjectionRunner } from '../../dist/src/read-models/projection-runner.js';
import { LEDGER_PROJECTIONS } from '../../dist/projections/index.js';
import { sealPersonalValues } from '../../dist/src/crypto/personal-values-cipher.js';
import { createStoreWorkload, toAppendRequests } from '../lib/workload.mjs';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  return value;
};
const viaStore = args.includes('--via-store') ? (args.splice(args.indexOf('--via-store'), 1), true) : false;
const workersFlag = flag('--workers');
const workers = workersFlag === undefined ? undefined : Number(workersFlag);
const [command, dir, arg] = args;
if (!dir || (command !== 'build' && command !== 'rebuild')) {
  console.error('usage: rebuild-profile.mjs build <dir> [events] | rebuild <dir> [repeats]');
  process.exit(2);
}
const mb = (bytes) => Math.round(bytes / 2 ** 20);
const peakRssMb = () => Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

/** CPU seconds [user, system] of each live thread of this process, by thread id. */
function threadCpu() {
  const tick = 100; // USER_HZ on Linux
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(Number(tid), [Number(fields[11]) / tick, Number(fields[12]) / tick]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

if (command === 'build') {
  const events = Number(arg ?? 1_000_000);
  const file = join(dir, 'events.db');
  if (existsSync(file)) throw new Error(`${file} exists; remove it or use another dir`);
  const key = Buffer.alloc(32, 7);
  const store = new SqliteEventStore({ file, synchronous: 'normal' });
  const workload = createStoreWorkload({ events, seed: 42, seal: (eventId, subjectId, pii) => sealPersonalValues(key, eventId, subjectId, pii) });
  const t0 = performance.now();
  for (let done = 0; done < events; ) {
    const list = [];
    for (let i = 0; i < 1000 && done + i < events; i++) list.push(workload.next());
    await store.append(toAppendRequests(list));
    done += list.length;
    if (done % 500_000 === 0) console.error(`  ${done.toLocaleString('en')} events, rss ${mb(process.memoryUsage.rss())} MB`);
  }
  await store.close();
  console.log(`built ${events} events (${workload.subjects} subjects) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else {
  const repeats = Number(arg ?? 1);
  for (let r = 0; r < repeats; r++) {
    for (const s of ['', '-wal', '-shm']) rmSync(join(dir, `projections.db${s}`), { force: true });
    const store = new SqliteEventStore({ file: join(dir, 'events.db') });
    const runner = new ProjectionRunner({
      file: join(dir, 'projections.db'),
      store,
      projections: LEDGER_PROJECTIONS,
      ...(viaStore ? {} : { logFile: join(dir, 'events.db') }),
      ...(workers === undefined ? {} : { rebuildWorkers: workers }),
    });
    const head = await store.headPosition();
    // Threads end during the rebuild (workers, SQLite sorter helpers): sample them as it runs.
    const seen = new Map();
    const before = threadCpu();
    const sampler = setInterval(() => {
      for (const [tid, s] of threadCpu()) seen.set(tid, s);
    }, 100);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await runner.rebuild();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    for (const [tid, s] of threadCpu()) seen.set(tid, s);
    const main = [0, 0];
    const other = [0, 0];
    for (const [tid, [user, system]] of seen) {
      const [user0, system0] = before.get(tid) ?? [0, 0];
      const sum = tid === process.pid ? main : other;
      sum[0] += user - user0;
      sum[1] += system - system0;
    }
    const perEvent = ([user, system]) => `${(((user + system) * 1e6) / head).toFixed(2)} (sys ${((system * 1e6) / head).toFixed(2)})`;
    await runner.close();
    await store.close();
    console.log(
      `rebuild ${head} events in ${seconds.toFixed(2)} s = ${Math.round(head / seconds)} ev/s ` +
        `(${report.reader}, ${report.workers} workers; load ${report.loadSeconds.toFixed(1)} s, indexes ${report.indexSeconds.toFixed(1)} s), ` +
        `cpu ${((cpu.user + cpu.system) / head).toFixed(2)} us/ev (main thread ${perEvent(main)}, other threads ~${perEvent(other)}), ` +
        `peak rss ${peakRssMb()} MB`,
    );
  }
}
