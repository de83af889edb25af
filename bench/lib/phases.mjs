// In-process phases of the benchmark. Each runs in its own child process (bench/lib/phase.mjs),
// so its peak RSS (VmHWM) is its own and one phase's garbage does not inflate the next.
import 'reflect-metadata';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { sealPersonalValues } from '../../dist/src/crypto/personal-values-cipher.js';
import { createStoreWorkload, subjectName, toAppendRequests } from './workload.mjs';

// Loaded only by the phases that use them, so each phase's RSS holds what it runs.
const runnerModules = async () => ({
  ...(await import('../../dist/src/read-models/projection-runner.js')),
  ...(await import('../../dist/projections/index.js')),
});

const progress = (...parts) => process.stderr.write(`${parts.join(' ')}\n`);
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);

const KEY = Buffer.alloc(32, 7);
const seal = (eventId, subjectId, pii) => sealPersonalValues(KEY, eventId, subjectId, pii);

// ── in-process ingest, one configuration ─────────────────────────────────────
/**
 * Appends up to `events` (or for `seconds`) into a fresh store of `kind` ('ours' | 'peer'):
 * mode 'serial' awaits each append of `batch` events; 'concurrent' runs `writers` callers each
 * appending single events (our group commit merges them into shared transactions).
 */
export async function ingestRun({ root, kind, batch, events, sample, seconds, mode = 'serial', writers = 1, seed = 7 }) {
  const dir = mkdtempSync(join(root, `${kind}-b${batch}-`));
  const file = join(dir, kind === 'ours' ? 'events.db' : 'peer.db');
  const sink = kind === 'ours' ? new SqliteEventStore({ file }) : await (await import('./peer-emmett.mjs')).openPeer(file);
  const workload = createStoreWorkload({ events: Math.max(events, sample), seed, seal });
  const deadline = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  if (mode === 'concurrent') {
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (done < events && performance.now() < deadline) {
          done++;
          await sink.append(toAppendRequests([workload.next()]));
        }
      }),
    );
  } else {
    while (done < events && performance.now() < deadline) {
      const list = [];
      for (let i = 0; i < batch && done + i < events; i++) list.push(workload.next());
      await sink.append(toAppendRequests(list));
      done += list.length;
    }
  }
  const secondsTaken = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (kind === 'ours') await sink.close();
  else sink.close();
  rmSync(dir, { recursive: true, force: true });
  return { events: done, seconds: secondsTaken, eps: done / secondsTaken, cpuUsPerEvent: (cpu.user + cpu.system) / done };
}

// ── sustained run ────────────────────────────────────────────────────────────
export async function sustained({ dataDir, events, batch }) {
  const store = new SqliteEventStore({ file: join(dataDir, 'events.db') });
  const workload = createStoreWorkload({ events, seed: 42, seal });
  const slice = Math.floor(events / 10);
  const deciles = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sliceStart = t0;
  let slowest = 0;
  let done = 0;
  while (done < events) {
    const list = [];
    for (let i = 0; i < batch && done + i < events; i++) list.push(workload.next());
    const a = performance.now();
    await store.append(toAppendRequests(list));
    slowest = Math.max(slowest, performance.now() - a);
    done += list.length;
    if (done >= slice * (deciles.length + 1) || done === events) {
      const now = performance.now();
      deciles.push({ upTo: done, eps: Math.round((done - (deciles.at(-1)?.upTo ?? 0)) / ((now - sliceStart) / 1000)), slowestAppendMs: Math.round(slowest) });
      progress(`  sustained: ${done.toLocaleString('en')} events, last slice ${deciles.at(-1).eps} events/s, slowest append ${Math.round(slowest)} ms, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MB`);
      sliceStart = now;
      slowest = 0;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const closeStart = performance.now();
  await store.close();
  const closeMs = performance.now() - closeStart;
  return {
    events,
    seconds,
    eps: events / seconds,
    first10: deciles[0]?.eps ?? null,
    last10: deciles.at(-1)?.eps ?? null,
    deciles,
    cpuUsPerEvent: (cpu.user + cpu.system) / events,
    closeMs,
    subjects: workload.subjects,
  };
}

// ── rebuild, verify ──────────────────────────────────────────────────────────
export async function rebuild({ dataDir }) {
  const { ProjectionRunner, LEDGER_PROJECTIONS } = await runnerModules();
  const openStart = performance.now();
  const store = new SqliteEventStore({ file: join(dataDir, 'events.db') });
  const openMs = performance.now() - openStart;
  const head = await store.headPosition();
  // What `ledger rebuild` runs: the log file read directly, pages folded in worker threads.
  const runner = new ProjectionRunner({ file: join(dataDir, 'projections.db'), store, projections: LEDGER_PROJECTIONS, logFile: join(dataDir, 'events.db') });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await runner.rebuild();
  const seconds = (performance.now() - t0) / 1000;
  // process.cpuUsage counts every thread of the process, the rebuild's workers included.
  const cpu = process.cpuUsage(cpu0);
  await runner.close();
  await store.close();
  return {
    events: head,
    seconds,
    eps: head / seconds,
    storeOpenMs: openMs,
    cpuUsPerEvent: (cpu.user + cpu.system) / head,
    reader: report.reader,
    workers: report.workers,
    loadSeconds: report.loadSeconds,
    indexSeconds: report.indexSeconds,
  };
}

export async function verify({ dataDir }) {
  // What `ledger verify` runs: pages read and hashed by one worker thread per core, streams followed on the main thread.
  const { verifyLedgerFile } = await import('../../dist/src/integrity/ledger-verifier.js');
  const { publicKey } = generateKeyPairSync('ed25519');
  const t0 = performance.now();
  const report = await verifyLedgerFile(join(dataDir, 'events.db'), [], publicKey);
  const seconds = (performance.now() - t0) / 1000;
  if (!report.intact) throw new Error(`verify found a break: ${JSON.stringify(report.firstBreak)}`);
  return { events: report.events, streams: report.streams, seconds, eps: report.events / seconds };
}

// ── timeline reads while ingest runs ─────────────────────────────────────────
export async function timelineReads({ dataDir, subjects, seconds, backgroundEps }) {
  const { ProjectionRunner, LEDGER_PROJECTIONS } = await runnerModules();
  const { GetSubjectTimelineHandler, GetSubjectTimelineQuery } = await import('../../dist/src/ledger/queries/subject-timeline/subject-timeline.query.js');
  const { RecordEventsCommand, RecordEventsHandler } = await import('../../dist/src/ledger/commands/record-events/record-events.handler.js');
  const store = new SqliteEventStore({ file: join(dataDir, 'events.db') });
  const runner = new ProjectionRunner({ file: join(dataDir, 'projections.db'), store, projections: LEDGER_PROJECTIONS });
  runner.start();
  await runner.waitForPosition(await store.headPosition(), 600_000);
  const keyring = {
    dataKey: async () => {
      throw new Error('no personal values in timeline reads');
    },
  };
  // The handler waits for the read models before it reads (read-your-writes). In the service it
  // waits through the log feed; here the runner follows the log itself, so the feed it is given
  // (third argument, ignored by a handler that takes only the store and the runner) answers the
  // same waits from the runner.
  const readModelsFeed = {
    caughtUp: (position, _names, timeoutMs = 10_000) => runner.waitForPosition(position, timeoutMs),
    caughtUpToHead: async (_names, timeoutMs = 10_000) => {
      const head = await store.headPosition();
      await runner.waitForPosition(head, timeoutMs);
      return head;
    },
  };
  const query = new GetSubjectTimelineHandler(store, runner, readModelsFeed);
  const commands = new RecordEventsHandler(store, keyring);

  // Background ingest: batches of 100 at a fixed rate, as other services keep writing.
  const workload = createStoreWorkload({ events: subjects * 10, seed: 99, seal });
  let background = 0;
  let stopping = false;
  const backgroundLoop = (async () => {
    const interval = (100 / backgroundEps) * 1000;
    let next = performance.now();
    while (!stopping) {
      const list = Array.from({ length: 100 }, () => workload.next());
      await store.append(toAppendRequests(list));
      background += 100;
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();

  const rand = (() => {
    let s = 12345;
    return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  })();
  // Warm up (JIT, page cache of the read model) for a second before measuring.
  const warmUntil = performance.now() + 1000;
  while (performance.now() < warmUntil) {
    await query.execute(new GetSubjectTimelineQuery(subjectName(Math.floor(Math.random() * subjects)), { order: 'asc', limit: 50 }));
  }
  const latencies = [];
  const queryLatencies = [];
  const recordLatencies = [];
  let entries = 0;
  const background0 = background;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  while (performance.now() < deadline) {
    const subjectId = subjectName(Math.floor(rand() * subjects));
    const start = performance.now();
    const page = await query.execute(new GetSubjectTimelineQuery(subjectId, { order: 'asc', limit: 50 }));
    const answered = performance.now();
    // Reads are processing too: recorded as the controller does, before the answer is returned.
    const categories = new Set(['user.unique_id']);
    for (const entry of page.entries) for (const c of entry.what.categories) categories.add(c);
    await commands.execute(
      new RecordEventsCommand([
        {
          event: {
            eventId: randomUUID(),
            type: 'PersonalDataAccessed',
            occurredAt: new Date().toISOString(),
            subjectId,
            actor: { id: 'key-bench-auditor', kind: 'auditor', system: 'privacy-ledger' },
            data: {
              categories: [...categories],
              purpose: 'essential.service.audit',
              legalBasis: 'legal_obligation',
              reasonCode: 'audit',
              justification: 'subject timeline read through the ledger API',
            },
            metadata: { emitter: 'privacy-ledger' },
          },
        },
      ]),
    );
    const end = performance.now();
    latencies.push(end - start);
    queryLatencies.push(answered - start);
    recordLatencies.push(end - answered);
    entries += page.entries.length;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const backgroundInWindow = background - background0;
  stopping = true;
  await backgroundLoop;
  await runner.close();
  await store.close();
  latencies.sort((a, b) => a - b);
  queryLatencies.sort((a, b) => a - b);
  recordLatencies.sort((a, b) => a - b);
  return {
    queryP50: percentile(queryLatencies, 50),
    queryP99: percentile(queryLatencies, 99),
    recordP50: percentile(recordLatencies, 50),
    recordP99: percentile(recordLatencies, 99),
    reads: latencies.length,
    seconds: elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? null,
    avgEntries: entries / Math.max(1, latencies.length),
    backgroundEps: backgroundInWindow / elapsed,
    // CPU of the whole phase process over the measured window (reads, recorded accesses, the
    // background writer and the projection runner following it), per read and per appended event.
    cpuUsPerRead: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    cpuUsPerEvent: (cpu.user + cpu.system) / Math.max(1, latencies.length + backgroundInWindow),
  };
}

