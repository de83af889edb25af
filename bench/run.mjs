#!/usr/bin/env node
// Ledger benchmark: in-process ingest (batches of 1, 100, 1000) beside the Emmett SQLite peer,
// a sustained N-event run, projection rebuild, full verify, timeline reads while ingest runs,
// and HTTP ingest (single and batch) against the real service and a bare fastify route.
// Runs the compiled code in dist/ (npm run build first). Everything lives in a temp dir that
// is removed at the end (--keep leaves it).
//
//   node bench/run.mjs --events 10000000 [--json] [--keep] [--skip-peer] [--skip-http]
//
// The table goes to stdout; progress to stderr; with --json the last line on stdout is one
// JSON object with every figure.
import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import { cpus, freemem, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import autocannon from 'autocannon';
import { createWorkload } from './lib/workload.mjs';

// ── arguments ────────────────────────────────────────────────────────────────
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
};
const EVENTS = option('events', 1_000_000);
const QUICK = EVENTS < 5_000_000;
const REPEATS = option('repeats', 3);
const SAMPLE = option('sample', Math.min(200_000, Math.max(20_000, Math.floor(EVENTS / 5))));
const SAMPLE_SECONDS = option('sample-seconds', QUICK ? 3 : 5);
const PEER_SECONDS = option('peer-seconds', QUICK ? 6 : 10);
const HTTP_SECONDS = option('http-seconds', QUICK ? 4 : 8);
const TIMELINE_SECONDS = option('timeline-seconds', QUICK ? 8 : 20);
const BACKGROUND_EPS = option('background-eps', 5000);
const JSON_OUT = flag('json');
const ONLY = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const wants = (name) => !ONLY || ONLY.includes(name);
const KEEP = flag('keep');

const root = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
const progress = (...parts) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${parts.join(' ')}\n`);
const T0 = performance.now();

// ── memory: every ledger phase runs in its own process and reports its peak RSS (VmHWM) ──
const rss = { peak: {} };
const phase = (name) => {
  progress(`— ${name}`);
  // Let the kernel write back what earlier phases left dirty, so each phase starts from a
  // quiet disk (fsync latency otherwise carries the previous phase's writeback).
  try {
    execFileSync('sync');
  } catch {}
};
function childPeakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return null;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
const round = (x, d = 0) => (x === null || x === undefined ? null : Math.round(x * 10 ** d) / 10 ** d);

// ── in-process phases, each in a child process ─────────────────────────────
/** Runs one phase of bench/lib/phases.mjs in a child; returns its result with its peak RSS. */
function runPhase(name, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./lib/phase.mjs', import.meta.url).pathname, name, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const line of String(d).split('\n')) if (line.trim()) progress(line);
    });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop();
      if (code !== 0 || !last) return reject(new Error(`phase ${name} failed (${code}): ${err.slice(-2000)}`));
      const result = JSON.parse(last);
      rss.peak[name] = Math.max(rss.peak[name] ?? 0, result.peakRssMb ?? 0);
      resolve(result);
    });
  });
}

async function repeated(label, config, repeats) {
  const runs = [];
  for (let r = 0; r < repeats; r++) runs.push(await runPhase(config.kind === 'ours' ? 'ingest' : 'peer', { root, sample: SAMPLE, ...config }));
  const eps = median(runs.map((x) => x.eps));
  progress(`${label}: ${Math.round(eps)} events/s (median of ${repeats}: ${runs.map((x) => Math.round(x.eps)).join(', ')}; ${runs[0].events} events each)`);
  return { eps, runs: runs.map((x) => ({ events: x.events, seconds: round(x.seconds, 2), eps: Math.round(x.eps), cpu_us_per_event: round(x.cpuUsPerEvent, 1) })) };
}

// ── HTTP ─────────────────────────────────────────────────────────────────────
async function startChild(script, args) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`${script} exited (${code}): ${stderr}`)));
  });
  return child;
}

async function stopChild(child) {
  if (!child) return null;
  const peak = childPeakRssMb(child.pid);
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
  return peak;
}

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon({ ...options, timeout: 30 }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

const singleTemplate = (() => {
  const w = createWorkload({ events: 100_000, seed: 5 });
  return Array.from({ length: 256 }, () => {
    const { eventId: _e, pii: _p, ...body } = w.next();
    return JSON.stringify({ eventId: '@@ID@@', ...body }).split('@@ID@@');
  });
})();
let singleIndex = 0;
const singleBody = () => singleTemplate[singleIndex++ & 255].join(randomUUID());
const batchBody = (() => {
  const w = createWorkload({ events: 100_000, seed: 6 });
  const parts = JSON.stringify({ events: Array.from({ length: 1000 }, () => ({ ...w.next(), eventId: '@@ID@@' })) }).split('@@ID@@');
  return () => {
    let out = parts[0];
    for (let i = 1; i < parts.length; i++) out += randomUUID() + parts[i];
    return out;
  };
})();

async function loadTest({ url, headers, body, connections, seconds }) {
  const result = await cannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  const ok = result['2xx'];
  return {
    rps: ok / (result.duration || seconds),
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

async function httpPhase(seconds, repeats, { monitors = true, withBare = true } = {}) {
  const dataDir = mkdtempSync(join(root, 'service-'));
  const port = 38000 + Math.floor(Math.random() * 1000);
  const barePort = port + 1;
  const service = await startChild(new URL('./lib/service-child.mjs', import.meta.url).pathname, [dataDir, String(port), ...(monitors ? [] : ['--no-monitors'])]);
  const bare = withBare ? await startChild(new URL('./lib/bare-fastify.mjs', import.meta.url).pathname, [String(barePort)]) : null;
  try {
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const created = await fetch(`http://127.0.0.1:${port}/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench-emitter', role: 'emitter' }),
    });
    if (created.status !== 201) throw new Error(`could not create an emitter key: ${created.status} ${await created.text()}`);
    const emitterKey = (await created.json()).key;
    const auth = { authorization: `Bearer ${emitterKey}` };
    // Warm up both (JIT, connection pools), then alternate so noise hits both alike.
    await loadTest({ url: `http://127.0.0.1:${port}/v1/events`, headers: auth, body: singleBody, connections: 16, seconds: 1 });
    if (bare) await loadTest({ url: `http://127.0.0.1:${barePort}/v1/events`, headers: {}, body: singleBody, connections: 16, seconds: 1 });
    const single = [];
    const bareRuns = [];
    const batch = [];
    for (let r = 0; r < repeats; r++) {
      if (bare) bareRuns.push(await loadTest({ url: `http://127.0.0.1:${barePort}/v1/events`, headers: {}, body: singleBody, connections: 32, seconds }));
      single.push(await loadTest({ url: `http://127.0.0.1:${port}/v1/events`, headers: auth, body: singleBody, connections: 32, seconds }));
      batch.push(await loadTest({ url: `http://127.0.0.1:${port}/v1/events/batch`, headers: auth, body: batchBody, connections: 4, seconds }));
      progress(
        `  http round ${r + 1}${monitors ? '' : ' (no compliance monitor)'}: bare ${bare ? Math.round(bareRuns.at(-1).rps) : '-'} req/s, single ${Math.round(single.at(-1).rps)} req/s (${single.at(-1).non2xx} non-2xx), batch ${Math.round(batch.at(-1).rps * 1000)} events/s (${batch.at(-1).non2xx} non-2xx)`,
      );
    }
    const pick = (runs) => {
      if (runs.length === 0) return null;
      const rps = median(runs.map((x) => x.rps));
      return { rps, p50: median(runs.map((x) => x.p50)), p99: median(runs.map((x) => x.p99)), non2xx: runs.reduce((s, x) => s + x.non2xx + x.errors, 0), runs: runs.map((x) => Math.round(x.rps)) };
    };
    const storedEvents = await countStored(dataDir);
    return { single: pick(single), bare: pick(bareRuns), batch: pick(batch), storedEvents, serviceRssMb: null, dataDir, serviceChild: service, bareChild: bare };
  } catch (error) {
    await stopChild(service);
    if (bare) await stopChild(bare);
    throw error;
  }
}

async function countStored(dataDir) {
  try {
    const db = new Database(join(dataDir, 'events.db'), { readonly: true });
    const n = db.prepare('SELECT MAX(position) AS p FROM events').get().p;
    db.close();
    return (n ?? -1) + 1;
  } catch {
    return null;
  }
}

function dirSizeMb(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      total += statSync(join(dir, name)).size;
    } catch {}
  }
  return total / 2 ** 20;
}

// ── main ─────────────────────────────────────────────────────────────────────
const results = {};
let exitCode = 0;
try {
  const sqliteVersion = new Database(':memory:').prepare('SELECT sqlite_version() AS v').get().v;
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memory_gb: round(totalmem() / 2 ** 30, 1),
    free_memory_gb: round(freemem() / 2 ** 30, 1),
    node: process.version,
    kernel: release(),
    sqlite: sqliteVersion,
    tmpdir: tmpdir(),
  };
  progress(`events ${EVENTS.toLocaleString('en')}, sample ${SAMPLE.toLocaleString('en')}, repeats ${REPEATS}, data in ${root}`);

  phase('batch sizes (ours)');
  const ours = !wants('batches') ? null : {
    b1_serial: await repeated('ours, batch 1, one writer', { kind: 'ours', batch: 1, events: SAMPLE, seconds: SAMPLE_SECONDS }, REPEATS),
    b1_concurrent: await repeated(
      'ours, batch 1, 64 concurrent writers',
      { kind: 'ours', batch: 1, events: SAMPLE, seconds: SAMPLE_SECONDS, mode: 'concurrent', writers: 64 },
      REPEATS,
    ),
    b100: await repeated('ours, batch 100', { kind: 'ours', batch: 100, events: SAMPLE, seconds: SAMPLE_SECONDS * 2 }, REPEATS),
    b1000: await repeated('ours, batch 1000', { kind: 'ours', batch: 1000, events: SAMPLE, seconds: SAMPLE_SECONDS * 2 }, REPEATS),
  };
  results.ours = ours;

  let peer = null;
  if (!flag('skip-peer') && wants('peer')) {
    phase('peer');
    const peerRepeats = QUICK ? 1 : REPEATS;
    peer = {
      b1_serial: await repeated('peer, batch 1, one writer', { kind: 'peer', batch: 1, events: SAMPLE, seconds: PEER_SECONDS / 2 }, peerRepeats),
      b100: await repeated('peer, batch 100', { kind: 'peer', batch: 100, events: SAMPLE, seconds: PEER_SECONDS }, peerRepeats),
      b1000: await repeated('peer, batch 1000', { kind: 'peer', batch: 1000, events: SAMPLE, seconds: PEER_SECONDS }, peerRepeats),
    };
    results.peer = peer;
  }

  phase('sustained ingest');
  const dataDir = mkdtempSync(join(root, 'ledger-'));
  progress(`sustained ingest of ${EVENTS.toLocaleString('en')} events in batches of 1000 ...`);
  const run = await runPhase('sustained', { dataDir, events: EVENTS, batch: 1000 });
  results.sustained = run;
  results.events_db_mb = dirSizeMb(dataDir);
  progress(`sustained: ${Math.round(run.eps)} events/s over ${EVENTS.toLocaleString('en')} (first 10% ${run.first10}, last 10% ${run.last10}), ${round(run.cpuUsPerEvent, 1)} us CPU/event`);

  phase('rebuild');
  progress('projection rebuild from zero ...');
  results.rebuild = await runPhase('rebuild', { dataDir });
  progress(`rebuild: ${Math.round(results.rebuild.eps)} events/s (${round(results.rebuild.seconds, 1)} s); store opened in ${Math.round(results.rebuild.storeOpenMs)} ms`);

  if (wants('verify')) {
    phase('verify');
    progress('full verify ...');
    results.verify = await runPhase('verify', { dataDir });
    progress(`verify: ${Math.round(results.verify.eps)} events/s (${round(results.verify.seconds, 1)} s)`);
  }

  phase('timeline');
  progress(`timeline reads for ${TIMELINE_SECONDS} s with background ingest at ${BACKGROUND_EPS} events/s ...`);
  results.timeline = await runPhase('timeline', { dataDir, subjects: run.subjects, seconds: TIMELINE_SECONDS, backgroundEps: BACKGROUND_EPS });
  progress(
    `timeline: p50 ${round(results.timeline.p50, 2)} ms, p99 ${round(results.timeline.p99, 2)} ms over ${results.timeline.reads} reads ` +
      `(query p50/p99 ${round(results.timeline.queryP50, 2)}/${round(results.timeline.queryP99, 2)} ms, recording the access p50/p99 ${round(results.timeline.recordP50, 2)}/${round(results.timeline.recordP99, 2)} ms)`,
  );
  results.data_dir_mb = dirSizeMb(dataDir);
  if (!KEEP) rmSync(dataDir, { recursive: true, force: true });

  if (!flag('skip-http') && wants('http')) {
    phase('http');
    progress(`HTTP: ${REPEATS} rounds of ${HTTP_SECONDS} s each (bare fastify, single POST, batch POST) on 127.0.0.1 ...`);
    const http = await httpPhase(HTTP_SECONDS, REPEATS);
    http.serviceRssMb = await stopChild(http.serviceChild);
    http.bareRssMb = await stopChild(http.bareChild);
    delete http.serviceChild;
    delete http.bareChild;
    results.http = http;
    progress('HTTP diagnostic: the same service without the compliance monitor, 1 round ...');
    const plain = await httpPhase(HTTP_SECONDS, 1, { monitors: false, withBare: false });
    plain.serviceRssMb = await stopChild(plain.serviceChild);
    delete plain.serviceChild;
    delete plain.bareChild;
    results.httpNoMonitors = plain;
  }
  phase('done');

  // ── report ────────────────────────────────────────────────────────────────
  const peakInProcess = Math.max(...Object.entries(rss.peak).filter(([k]) => k !== 'peer').map(([, v]) => v));
  const peakRss = Math.max(peakInProcess, results.http?.serviceRssMb ?? 0);
  const ratio = (a, b) => (a && b ? a / b : null);
  const out = {
    events: EVENTS,
    subjects: run.subjects,
    ingest_eps: round(run.eps),
    ingest_eps_first_10pct: run.first10,
    ingest_eps_last_10pct: run.last10,
    ingest_last_vs_first: round(ratio(run.last10, run.first10), 2),
    ingest_cpu_us_per_event: round(run.cpuUsPerEvent, 1),
    ingest_deciles_eps: run.deciles.map((d) => d.eps),
    ingest_slowest_append_ms: Math.max(...run.deciles.map((d) => d.slowestAppendMs)),
    sample_events: SAMPLE,
    batch_eps: {
      ours: ours ? Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, round(v.eps)])) : null,
      peer: peer ? Object.fromEntries(Object.entries(peer).map(([k, v]) => [k, round(v.eps)])) : null,
    },
    peer_ingest_eps: peer ? round(peer.b1000.eps) : null,
    peer_ratio: peer && ours ? round(ratio(ours.b1000.eps, peer.b1000.eps), 1) : null,
    peer_ratio_by_batch:
      peer && ours
        ? { b1: round(ratio(ours.b1_serial.eps, peer.b1_serial.eps), 1), b100: round(ratio(ours.b100.eps, peer.b100.eps), 1), b1000: round(ratio(ours.b1000.eps, peer.b1000.eps), 1) }
        : null,
    http_batch_eps: results.http ? round(results.http.batch.rps * 1000) : null,
    http_single_rps: results.http ? round(results.http.single.rps) : null,
    bare_fastify_rps: results.http ? round(results.http.bare.rps) : null,
    http_single_vs_bare: results.http ? round(ratio(results.http.single.rps, results.http.bare.rps), 2) : null,
    http_single_p99_ms: results.http ? results.http.single.p99 : null,
    http_non2xx: results.http ? results.http.single.non2xx + results.http.batch.non2xx : null,
    http_batch_eps_without_compliance_monitor: results.httpNoMonitors ? round(results.httpNoMonitors.batch.rps * 1000) : null,
    http_single_rps_without_compliance_monitor: results.httpNoMonitors ? round(results.httpNoMonitors.single.rps) : null,
    timeline_p50_ms: round(results.timeline.p50, 2),
    timeline_p99_ms: round(results.timeline.p99, 2),
    timeline_max_ms: round(results.timeline.max, 1),
    timeline_query_p50_ms: round(results.timeline.queryP50, 2),
    timeline_query_p99_ms: round(results.timeline.queryP99, 2),
    timeline_record_access_p50_ms: round(results.timeline.recordP50, 2),
    timeline_record_access_p99_ms: round(results.timeline.recordP99, 2),
    timeline_reads: results.timeline.reads,
    timeline_background_eps: round(results.timeline.backgroundEps),
    rebuild_eps: round(results.rebuild.eps),
    verify_eps: results.verify ? round(results.verify.eps) : null,
    store_open_ms: round(results.rebuild.storeOpenMs),
    peak_rss_mb: round(peakRss),
    peak_rss_mb_by_phase: { ...Object.fromEntries(Object.entries(rss.peak).map(([k, v]) => [k, round(v)])), service: results.http ? round(results.http.serviceRssMb) : null },
    service_peak_rss_mb: results.http ? round(results.http.serviceRssMb) : null,
    data_dir_mb: round(results.data_dir_mb),
    machine,
    seconds: round((performance.now() - T0) / 1000),
  };

  const rows = [
    ['figure', 'value', 'what ran'],
    ['sustained ingest', `${out.ingest_eps} ev/s`, `${EVENTS.toLocaleString('en')} events, ${run.subjects.toLocaleString('en')} subjects, batches of 1000, synchronous=FULL, 1 run`],
    ['  first / last 10%', `${out.ingest_eps_first_10pct} / ${out.ingest_eps_last_10pct} ev/s`, `last/first = ${out.ingest_last_vs_first}; CPU ${out.ingest_cpu_us_per_event} us/event`],
  ];
  if (ours) {
    rows.push(['batch 1, one writer', `${round(ours.b1_serial.eps)} ev/s`, `fresh store, <= ${SAMPLE_SECONDS} s, median of ${REPEATS}`]);
    rows.push(['batch 1, 64 writers', `${round(ours.b1_concurrent.eps)} ev/s`, `group commit, <= ${SAMPLE.toLocaleString('en')} events, median of ${REPEATS}`]);
    rows.push(['batch 100', `${round(ours.b100.eps)} ev/s`, `<= ${SAMPLE.toLocaleString('en')} events, median of ${REPEATS}`]);
    rows.push(['batch 1000', `${round(ours.b1000.eps)} ev/s`, `<= ${SAMPLE.toLocaleString('en')} events, median of ${REPEATS}`]);
  }
  if (peer && ours) {
    rows.push(['peer batch 1', `${round(peer.b1_serial.eps)} ev/s`, `Emmett SQLite 0.38.5, ours/peer = ${out.peer_ratio_by_batch.b1}`]);
    rows.push(['peer batch 100', `${round(peer.b100.eps)} ev/s`, `ours/peer = ${out.peer_ratio_by_batch.b100}`]);
    rows.push(['peer batch 1000', `${round(peer.b1000.eps)} ev/s`, `ours/peer = ${out.peer_ratio_by_batch.b1000}`]);
  }
  rows.push(['projection rebuild', `${out.rebuild_eps} ev/s`, `ProjectionRunner.rebuild over ${results.rebuild.events.toLocaleString('en')} events, 1 run`]);
  if (results.verify) {
    rows.push(['verify', `${out.verify_eps} ev/s`, `verifyLedger(readRawLog) over ${results.verify.events.toLocaleString('en')} events, ${results.verify.streams.toLocaleString('en')} streams, 1 run`]);
  }
  rows.push([
    'timeline read p50 / p99',
    `${out.timeline_p50_ms} / ${out.timeline_p99_ms} ms`,
    `query handler + recorded access event, ${out.timeline_reads} reads of random subjects, ingest ${out.timeline_background_eps} ev/s beside`,
  ]);
  if (results.http) {
    rows.push(['HTTP batch', `${out.http_batch_eps} ev/s`, `POST /v1/events/batch x1000, 4 connections, ${HTTP_SECONDS} s, median of ${REPEATS}`]);
    rows.push(['HTTP single', `${out.http_single_rps} req/s`, `POST /v1/events, 32 connections, p99 ${out.http_single_p99_ms} ms, median of ${REPEATS}`]);
    rows.push(['bare fastify', `${out.bare_fastify_rps} req/s`, `same body, same load; single/bare = ${out.http_single_vs_bare}`]);
    if (results.httpNoMonitors) {
      rows.push([
        '  (no compliance monitor)',
        `${out.http_single_rps_without_compliance_monitor} req/s, ${out.http_batch_eps_without_compliance_monitor} ev/s`,
        'diagnostic: single / batch with the compliance monitor not started, 1 round',
      ]);
    }
  }
  rows.push([
    'peak RSS',
    `${out.peak_rss_mb} MB`,
    `VmHWM, max over ${Object.entries(out.peak_rss_mb_by_phase)
      .filter(([k, v]) => k !== 'peer' && v !== null)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => `| ${r.map((cell, c) => String(cell).padEnd(widths[c])).join(' | ')} |`;
  process.stdout.write(`\n${line(rows[0])}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.slice(1).map(line).join('\n')}\n\n`);
  process.stdout.write(`machine: ${machine.cpus} x ${machine.cpu}, ${machine.memory_gb} GB, ${machine.node}, SQLite ${machine.sqlite}; bench took ${out.seconds} s\n`);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (error) {
  exitCode = 1;
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
} finally {
  if (KEEP) process.stderr.write(`kept ${root}\n`);
  else rmSync(root, { recursive: true, force: true });
}
process.exit(exitCode);
