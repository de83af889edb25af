#!/usr/bin/env node
// Ledger benchmark: in-process ingest (batches of 1, 100, 1000) beside the Emmett SQLite peer,
// a sustained N-event run, projection rebuild, full verify, timeline reads while ingest runs,
// HTTP ingest (single and batch) against the real service and a bare fastify route, events per
// second reaching a signed checkpoint through the service, and a batch onto a subject with a
// long history against the same batch onto a fresh subject. Runs the compiled code in dist/
// (npm run build first). Everything lives in a temp dir that is removed at the end (--keep
// leaves it).
//
//   node bench/run.mjs --events 10000000 [--json] [--keep] [--skip-peer] [--skip-http] [--repeats N]
//                      [--only batches,peer,sustained,rebuild,verify,timeline,http,integrated,hot]
//
// The table goes to stdout; progress to stderr; with --json the last line on stdout is one
// JSON object with every figure.
import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import autocannon from 'autocannon';
import { createWorkload } from './lib/workload.mjs';
import { machineInfo, fsyncProbe } from './lib/machine.mjs';
import { childCpuUs, serviceEnv, startChild, startService, stopChild } from './lib/service.mjs';
import { hotSubject, integrated } from './lib/service-phases.mjs';

// ── arguments ────────────────────────────────────────────────────────────────
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
};
const EVENTS = option('events', 1_000_000);
const QUICK = EVENTS < 5_000_000;
/** Runs of each headline phase (sustained, timeline, integrated, hot-subject rounds); at least 2 by default. */
const REPEATS = Math.max(1, option('repeats', 2));
/** Short phases (batch sizes, HTTP rounds) keep their median of 3. */
const SHORT_REPEATS = Math.max(3, REPEATS);
const SAMPLE = option('sample', Math.min(200_000, Math.max(20_000, Math.floor(EVENTS / 5))));
const SAMPLE_SECONDS = option('sample-seconds', QUICK ? 3 : 5);
const PEER_SECONDS = option('peer-seconds', QUICK ? 6 : 10);
const HTTP_SECONDS = option('http-seconds', QUICK ? 4 : 8);
const TIMELINE_SECONDS = option('timeline-seconds', QUICK ? 8 : 20);
const BACKGROUND_EPS = option('background-eps', 5000);
const INTEGRATED_SECONDS = option('integrated-seconds', QUICK ? 8 : 12);
const HOT_HISTORY = option('hot-history', 100_000);
const HOT_SAMPLES = option('hot-samples', QUICK ? 5 : 7);
const HOT_BUILD_SECONDS = option('hot-build-seconds', QUICK ? 120 : 180);
const JSON_OUT = flag('json');
const ONLY = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : null;
const wants = (name) => !ONLY || ONLY.includes(name);
const KEEP = flag('keep');

const root = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
const progress = (...parts) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${parts.join(' ')}\n`);
const T0 = performance.now();

// ── memory: every ledger phase runs in its own process and reports its peak RSS (VmHWM) ──
const rss = { peak: {} };
const notePeak = (name, mb) => {
  if (mb !== null && mb !== undefined) rss.peak[name] = Math.max(rss.peak[name] ?? 0, mb);
};
const phase = (name) => {
  progress(`— ${name}`);
  // Let the kernel write back what earlier phases left dirty, so each phase starts from a
  // quiet disk (fsync latency otherwise carries the previous phase's writeback).
  try {
    execFileSync('sync');
  } catch {}
};

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 0) => (x === null || x === undefined ? null : !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d);
/** min, max and (max - min) / median of the runs of one figure. */
const spread = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
  if (s.length === 0) return null;
  const m = median(s);
  return { runs: s.length, min: Math.min(...s), max: Math.max(...s), relative: m ? (Math.max(...s) - Math.min(...s)) / m : null };
};

// ── in-process phases, each in a child process ─────────────────────────────
/** Runs one phase of bench/lib/phases.mjs in a child; returns its result with its peak RSS. */
function runPhase(name, args, rssName = name) {
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
      notePeak(rssName, result.peakRssMb ?? 0);
      resolve(result);
    });
  });
}

async function repeated(label, config, repeats) {
  const runs = [];
  for (let r = 0; r < repeats; r++) runs.push(await runPhase(config.kind === 'ours' ? 'ingest' : 'peer', { root, sample: SAMPLE, ...config }));
  const eps = median(runs.map((x) => x.eps));
  progress(`${label}: ${Math.round(eps)} events/s (median of ${repeats}: ${runs.map((x) => Math.round(x.eps)).join(', ')}; ${runs[0].events} events each)`);
  return {
    eps,
    cpuUsPerEvent: median(runs.map((x) => x.cpuUsPerEvent)),
    runs: runs.map((x) => ({ events: x.events, seconds: round(x.seconds, 2), eps: Math.round(x.eps), cpu_us_per_event: round(x.cpuUsPerEvent, 1) })),
  };
}

// ── HTTP ─────────────────────────────────────────────────────────────────────
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

/** One autocannon run; `child` (the process answering) gives the CPU time it spent. */
async function loadTest({ url, headers, body, connections, seconds, child, perRequest = 1 }) {
  const cpu0 = await childCpuUs(child);
  const result = await cannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  const cpu1 = await childCpuUs(child);
  const ok = result['2xx'];
  return {
    rps: ok / (result.duration || seconds),
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUsPerEvent: cpu0 !== null && ok > 0 ? (cpu1 - cpu0) / (ok * perRequest) : null,
  };
}

async function httpPhase(seconds, repeats, { monitors = true, withBare = true } = {}) {
  const service = await startService(root, { monitors });
  const barePort = service.port + 1;
  const bare = withBare ? await startChild(new URL('./lib/bare-fastify.mjs', import.meta.url).pathname, [String(barePort)]) : null;
  try {
    const auth = service.emitter;
    const url = `${service.base}/v1/events`;
    const bareUrl = `http://127.0.0.1:${barePort}/v1/events`;
    // Warm up (JIT, connection pools: single, bare, batch), then alternate so noise hits all alike.
    await loadTest({ url, headers: auth, body: singleBody, connections: 16, seconds: 1 });
    if (bare) await loadTest({ url: bareUrl, headers: {}, body: singleBody, connections: 16, seconds: 1 });
    await loadTest({ url: `${url}/batch`, headers: auth, body: batchBody, connections: 4, seconds: 1 });
    const single = [];
    const bareRuns = [];
    const batch = [];
    for (let r = 0; r < repeats; r++) {
      if (bare) bareRuns.push(await loadTest({ url: bareUrl, headers: {}, body: singleBody, connections: 32, seconds, child: bare }));
      single.push(await loadTest({ url, headers: auth, body: singleBody, connections: 32, seconds, child: service.child }));
      batch.push(await loadTest({ url: `${url}/batch`, headers: auth, body: batchBody, connections: 4, seconds, child: service.child, perRequest: 1000 }));
      progress(
        `  http round ${r + 1}${monitors ? '' : ' (no compliance monitor)'}: bare ${bare ? Math.round(bareRuns.at(-1).rps) : '-'} req/s, single ${Math.round(single.at(-1).rps)} req/s (${single.at(-1).non2xx} non-2xx, ${round(single.at(-1).cpuUsPerEvent)} us CPU/event), batch ${Math.round(batch.at(-1).rps * 1000)} events/s (${batch.at(-1).non2xx} non-2xx, ${round(batch.at(-1).cpuUsPerEvent)} us CPU/event)`,
      );
    }
    const pick = (runs, scale = 1) => {
      if (runs.length === 0) return null;
      const rps = median(runs.map((x) => x.rps));
      return {
        rps,
        p50: median(runs.map((x) => x.p50)),
        p99: median(runs.map((x) => x.p99)),
        non2xx: runs.reduce((s, x) => s + x.non2xx + x.errors, 0),
        cpuUsPerEvent: median(runs.map((x) => x.cpuUsPerEvent)),
        runs: runs.map((x) => Math.round(x.rps * scale)),
      };
    };
    const storedEvents = await countStored(service.dataDir);
    return { single: pick(single), bare: pick(bareRuns), batch: pick(batch, 1000), storedEvents, serviceRssMb: null, dataDir: service.dataDir, serviceChild: service.child, bareChild: bare };
  } catch (error) {
    await stopChild(service.child);
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

/** The checkpoint policy the service children run at: the defaults (LEDGER_CHECKPOINT_* are not passed on). */
async function checkpointPolicy() {
  try {
    const { loadConfig } = await import('../dist/src/config/ledger-config.js');
    const c = loadConfig({ ...serviceEnv(), LEDGER_DATA_DIR: root });
    return { every: c.checkpointEvery, seconds: c.checkpointSeconds };
  } catch {
    return null;
  }
}

// ── main ─────────────────────────────────────────────────────────────────────
const results = {};
let exitCode = 0;
try {
  const machine = machineInfo(root);
  const fsyncStart = fsyncProbe(root);
  progress(
    `events ${EVENTS.toLocaleString('en')}, sample ${SAMPLE.toLocaleString('en')}, repeats ${REPEATS} (short phases ${SHORT_REPEATS}), data in ${root}; ` +
      `fsync (4 KB + fdatasync) p50 ${fsyncStart.p50_us} us, p99 ${fsyncStart.p99_us} us`,
  );

  let ours = null;
  if (wants('batches')) {
    phase('batch sizes (ours)');
    ours = {
      b1_serial: await repeated('ours, batch 1, one writer', { kind: 'ours', batch: 1, events: SAMPLE, seconds: SAMPLE_SECONDS }, SHORT_REPEATS),
      b1_concurrent: await repeated(
        'ours, batch 1, 64 concurrent writers',
        { kind: 'ours', batch: 1, events: SAMPLE, seconds: SAMPLE_SECONDS, mode: 'concurrent', writers: 64 },
        SHORT_REPEATS,
      ),
      b100: await repeated('ours, batch 100', { kind: 'ours', batch: 100, events: SAMPLE, seconds: SAMPLE_SECONDS * 2 }, SHORT_REPEATS),
      b1000: await repeated('ours, batch 1000', { kind: 'ours', batch: 1000, events: SAMPLE, seconds: SAMPLE_SECONDS * 2 }, SHORT_REPEATS),
    };
    results.ours = ours;
  }

  let peer = null;
  if (!flag('skip-peer') && wants('peer')) {
    phase('peer');
    const peerRepeats = QUICK ? 1 : SHORT_REPEATS;
    peer = {
      b1_serial: await repeated('peer, batch 1, one writer', { kind: 'peer', batch: 1, events: SAMPLE, seconds: PEER_SECONDS / 2 }, peerRepeats),
      b100: await repeated('peer, batch 100', { kind: 'peer', batch: 100, events: SAMPLE, seconds: PEER_SECONDS }, peerRepeats),
      b1000: await repeated('peer, batch 1000', { kind: 'peer', batch: 1000, events: SAMPLE, seconds: PEER_SECONDS }, peerRepeats),
    };
    results.peer = peer;
  }

  // ── the N-event store: sustained ingest, then rebuild, verify and timeline reads on it ──
  const storeWanted = ['sustained', 'rebuild', 'verify', 'timeline'].some(wants);
  const sustainedRuns = [];
  if (storeWanted) {
    phase('sustained ingest');
    const dataDir = mkdtempSync(join(root, 'ledger-'));
    progress(`sustained ingest of ${EVENTS.toLocaleString('en')} events in batches of 1000 (run 1 of ${REPEATS}) ...`);
    const run = await runPhase('sustained', { dataDir, events: EVENTS, batch: 1000 });
    sustainedRuns.push(run);
    results.events_db_mb = dirSizeMb(dataDir);
    progress(`sustained: ${Math.round(run.eps)} events/s over ${EVENTS.toLocaleString('en')} (first 10% ${run.first10}, last 10% ${run.last10}), ${round(run.cpuUsPerEvent, 1)} us CPU/event`);

    if (wants('rebuild')) {
      phase('rebuild');
      progress('projection rebuild from zero ...');
      results.rebuild = await runPhase('rebuild', { dataDir });
      progress(`rebuild: ${Math.round(results.rebuild.eps)} events/s (${round(results.rebuild.seconds, 1)} s); store opened in ${Math.round(results.rebuild.storeOpenMs)} ms`);
    }

    if (wants('verify')) {
      phase('verify');
      progress('full verify ...');
      results.verify = await runPhase('verify', { dataDir });
      progress(`verify: ${Math.round(results.verify.eps)} events/s (${round(results.verify.seconds, 1)} s)`);
    }

    if (wants('timeline')) {
      results.timelineRuns = [];
      for (let r = 0; r < REPEATS; r++) {
        phase(`timeline (run ${r + 1} of ${REPEATS})`);
        progress(`timeline reads for ${TIMELINE_SECONDS} s with background ingest at ${BACKGROUND_EPS} events/s ...`);
        const t = await runPhase('timeline', { dataDir, subjects: run.subjects, seconds: TIMELINE_SECONDS, backgroundEps: BACKGROUND_EPS });
        results.timelineRuns.push(t);
        progress(
          `timeline: p50 ${round(t.p50, 2)} ms, p99 ${round(t.p99, 2)} ms over ${t.reads} reads ` +
            `(query p50/p99 ${round(t.queryP50, 2)}/${round(t.queryP99, 2)} ms, recording the access p50/p99 ${round(t.recordP50, 2)}/${round(t.recordP99, 2)} ms)`,
        );
      }
    }
    results.data_dir_mb = dirSizeMb(dataDir);
    if (!KEEP) rmSync(dataDir, { recursive: true, force: true });

    // The other sustained runs: each a fresh store of N events, removed right after.
    for (let r = 1; r < REPEATS; r++) {
      phase(`sustained ingest (run ${r + 1} of ${REPEATS})`);
      const again = mkdtempSync(join(root, 'ledger-'));
      const more = await runPhase('sustained', { dataDir: again, events: EVENTS, batch: 1000 });
      sustainedRuns.push(more);
      rmSync(again, { recursive: true, force: true });
      progress(`sustained: ${Math.round(more.eps)} events/s (first 10% ${more.first10}, last 10% ${more.last10}), ${round(more.cpuUsPerEvent, 1)} us CPU/event`);
    }
  }

  // ── the service ──
  if (!flag('skip-http') && wants('http')) {
    phase('http');
    progress(`HTTP: ${SHORT_REPEATS} rounds of ${HTTP_SECONDS} s each (bare fastify, single POST, batch POST) on 127.0.0.1 ...`);
    const http = await httpPhase(HTTP_SECONDS, SHORT_REPEATS);
    http.serviceRssMb = await stopChild(http.serviceChild);
    http.bareRssMb = await stopChild(http.bareChild);
    notePeak('service_http', http.serviceRssMb);
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

  results.checkpointPolicy = await checkpointPolicy();
  if (!flag('skip-http') && wants('integrated')) {
    results.integratedRuns = [];
    for (let r = 0; r < REPEATS; r++) {
      phase(`integrated (run ${r + 1} of ${REPEATS})`);
      progress(`batches of 1000 from 4 callers for ${INTEGRATED_SECONDS} s (+2 s warm-up, +3 s tail), GET /v1/integrity/checkpoint every 20 ms ...`);
      const x = await integrated({ root, subjects: Math.max(1000, Math.round(EVENTS / 10)), seconds: INTEGRATED_SECONDS }).catch((error) => {
        results.integratedError = error.message;
        progress(`integrated failed: ${error.message}`);
        return null;
      });
      if (!x) break;
      x.serviceRssMb = await stopChild(x.service);
      notePeak('service_integrated', x.serviceRssMb);
      delete x.service;
      results.integratedRuns.push(x);
      progress(
        `integrated: ${Math.round(x.integratedEps)} events/s signed (${Math.round(x.ackedEps)} acknowledged), checkpoint latency p50 ${round(x.latencyP50Ms)} ms, p99 ${round(x.latencyP99Ms)} ms ` +
          `(${x.checkpointsSeen} checkpoints seen, ${x.uncovered} events not covered), ${round(x.cpuUsPerEvent)} us CPU/event`,
      );
    }
  }

  if (!flag('skip-http') && wants('hot')) {
    phase('hot subject');
    progress(
      `hot subject: ${HOT_HISTORY.toLocaleString('en')} events onto one subject (batches of 1000, <= ${HOT_BUILD_SECONDS} s), then ${REPEATS} rounds of ${HOT_SAMPLES} interleaved samples of 100 events (hot / fresh) ...`,
    );
    const h = await hotSubject({ root, history: HOT_HISTORY, samples: HOT_SAMPLES, rounds: REPEATS, buildSeconds: HOT_BUILD_SECONDS }).catch((error) => {
      results.hotError = error.message;
      progress(`hot subject failed: ${error.message}`);
      return null;
    });
    if (h) {
      h.serviceRssMb = await stopChild(h.service);
      notePeak('service_hot', h.serviceRssMb);
      delete h.service;
      results.hot = h;
      progress(
        `hot subject at ${h.history.toLocaleString('en')}: POST ${round(h.hot.postMs, 1)} vs ${round(h.fresh.postMs, 1)} ms (x${round(h.postRatio, 2)}), ` +
          `followers caught up ${round(h.hot.catchUpMs, 1)} vs ${round(h.fresh.catchUpMs, 1)} ms (x${round(h.catchUpRatio, 2)})`,
      );
    }
  }
  const fsyncEnd = fsyncProbe(root);
  phase('done');

  // ── figures ───────────────────────────────────────────────────────────────
  const ratio = (a, b) => (a && b ? a / b : null);
  const run = sustainedRuns[0] ?? null;
  const sustainedEps = sustainedRuns.map((r) => r.eps);
  const timelineRuns = results.timelineRuns ?? [];
  const tl = (key) => median(timelineRuns.map((t) => t[key]));
  const ints = results.integratedRuns ?? [];
  const int = (key) => median(ints.map((x) => x[key]));
  const hot = results.hot ?? null;
  const inProcessPeak = Object.entries(rss.peak).filter(([k]) => !k.startsWith('service') && k !== 'peer');
  const servicePeaks = Object.entries(rss.peak).filter(([k]) => k.startsWith('service'));
  const peakRss = Math.max(0, ...[...inProcessPeak, ...servicePeaks].map(([, v]) => v));
  const verifyCpu = results.verify ? results.verify.phaseCpuUs / results.verify.events : null;
  const hotPerRound = hot ? hot.perRound.map((r) => Math.max(r.postRatio, r.catchUpRatio)) : [];

  const out = {
    events: EVENTS,
    subjects: run?.subjects ?? null,
    repeats: REPEATS,
    ingest_eps: run ? round(median(sustainedEps)) : null,
    ingest_eps_runs: sustainedEps.map((x) => round(x)),
    ingest_eps_spread: spread(sustainedEps),
    ingest_eps_first_10pct: run?.first10 ?? null,
    ingest_eps_last_10pct: run?.last10 ?? null,
    ingest_last_vs_first: run ? round(ratio(run.last10, run.first10), 2) : null,
    ingest_last_vs_first_runs: sustainedRuns.map((r) => round(ratio(r.last10, r.first10), 2)),
    ingest_cpu_us_per_event: run ? round(median(sustainedRuns.map((r) => r.cpuUsPerEvent)), 1) : null,
    ingest_deciles_eps: run ? run.deciles.map((d) => d.eps) : null,
    ingest_slowest_append_ms: run ? Math.max(...run.deciles.map((d) => d.slowestAppendMs)) : null,
    sample_events: SAMPLE,
    batch_eps: {
      ours: ours ? Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, round(v.eps)])) : null,
      peer: peer ? Object.fromEntries(Object.entries(peer).map(([k, v]) => [k, round(v.eps)])) : null,
    },
    batch_eps_runs: {
      ours: ours ? Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, v.runs.map((x) => x.eps)])) : null,
      peer: peer ? Object.fromEntries(Object.entries(peer).map(([k, v]) => [k, v.runs.map((x) => x.eps)])) : null,
    },
    batch_cpu_us_per_event: {
      ours: ours ? Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, round(v.cpuUsPerEvent, 1)])) : null,
      peer: peer ? Object.fromEntries(Object.entries(peer).map(([k, v]) => [k, round(v.cpuUsPerEvent, 1)])) : null,
    },
    peer_ingest_eps: peer ? round(peer.b1000.eps) : null,
    peer_ratio: peer && ours ? round(ratio(ours.b1000.eps, peer.b1000.eps), 1) : null,
    peer_ratio_by_batch:
      peer && ours
        ? { b1: round(ratio(ours.b1_serial.eps, peer.b1_serial.eps), 1), b100: round(ratio(ours.b100.eps, peer.b100.eps), 1), b1000: round(ratio(ours.b1000.eps, peer.b1000.eps), 1) }
        : null,
    http_batch_eps: results.http ? round(results.http.batch.rps * 1000) : null,
    http_batch_eps_runs: results.http ? results.http.batch.runs : null,
    http_batch_eps_spread: results.http ? spread(results.http.batch.runs) : null,
    http_batch_cpu_us_per_event: results.http ? round(results.http.batch.cpuUsPerEvent, 1) : null,
    http_single_rps: results.http ? round(results.http.single.rps) : null,
    http_single_rps_runs: results.http ? results.http.single.runs : null,
    http_single_rps_spread: results.http ? spread(results.http.single.runs) : null,
    http_single_cpu_us_per_event: results.http ? round(results.http.single.cpuUsPerEvent, 1) : null,
    bare_fastify_rps: results.http ? round(results.http.bare.rps) : null,
    bare_fastify_rps_runs: results.http ? results.http.bare.runs : null,
    bare_fastify_cpu_us_per_request: results.http ? round(results.http.bare.cpuUsPerEvent, 1) : null,
    http_single_vs_bare: results.http ? round(ratio(results.http.single.rps, results.http.bare.rps), 2) : null,
    http_single_p99_ms: results.http ? results.http.single.p99 : null,
    http_non2xx: results.http ? results.http.single.non2xx + results.http.batch.non2xx : null,
    http_batch_eps_without_compliance_monitor: results.httpNoMonitors ? round(results.httpNoMonitors.batch.rps * 1000) : null,
    http_single_rps_without_compliance_monitor: results.httpNoMonitors ? round(results.httpNoMonitors.single.rps) : null,
    http_cpu_us_per_event_without_compliance_monitor: results.httpNoMonitors
      ? { single: round(results.httpNoMonitors.single.cpuUsPerEvent, 1), batch: round(results.httpNoMonitors.batch.cpuUsPerEvent, 1) }
      : null,
    integrated_eps: ints.length ? round(int('integratedEps')) : null,
    integrated_eps_runs: ints.map((x) => round(x.integratedEps)),
    integrated_eps_spread: ints.length ? spread(ints.map((x) => x.integratedEps)) : null,
    integrated_acknowledged_eps: ints.length ? round(int('ackedEps')) : null,
    integrated_cpu_us_per_event: ints.length ? round(int('cpuUsPerEvent'), 1) : null,
    checkpoint_latency_p50_ms: ints.length ? round(int('latencyP50Ms')) : null,
    checkpoint_latency_p99_ms: ints.length ? round(int('latencyP99Ms')) : null,
    checkpoint_latency_p50_ms_runs: ints.map((x) => round(x.latencyP50Ms)),
    checkpoint_latency_p99_ms_runs: ints.map((x) => round(x.latencyP99Ms)),
    checkpoint_latency_p99_spread: ints.length ? spread(ints.map((x) => x.latencyP99Ms)) : null,
    checkpoint_latency_max_ms: ints.length ? round(Math.max(...ints.map((x) => x.latencyMaxMs))) : null,
    checkpoint_events_not_covered: ints.length ? ints.reduce((s, x) => s + x.uncovered, 0) : null,
    checkpoint_backlog_at_window_end: ints.map((x) => x.backlogAtWindowEnd),
    checkpoints_seen_per_run: ints.map((x) => x.checkpointsSeen),
    checkpoint_gap_p50_ms: ints.length ? round(int('checkpointGapP50Ms')) : null,
    checkpoint_policy: results.checkpointPolicy,
    integrated_seconds: ints.length ? INTEGRATED_SECONDS : null,
    hot_subject_ratio: hot ? round(Math.max(hot.postRatio, hot.catchUpRatio), 2) : null,
    hot_subject_ratio_runs: hotPerRound.map((x) => round(x, 2)),
    hot_subject_ratio_spread: hot ? spread(hotPerRound) : null,
    hot_subject_post_ratio: hot ? round(hot.postRatio, 2) : null,
    hot_subject_catch_up_ratio: hot ? round(hot.catchUpRatio, 2) : null,
    hot_subject_cpu_ratio: hot ? round(hot.cpuRatio, 2) : null,
    hot_subject_history: hot ? hot.history : null,
    hot_subject_batch: hot ? hot.batch : null,
    hot_subject_samples: hot ? hot.samples * hot.rounds : null,
    hot_subject_post_ms: hot ? { hot: round(hot.hot.postMs, 1), fresh: round(hot.fresh.postMs, 1) } : null,
    hot_subject_catch_up_ms: hot ? { hot: round(hot.hot.catchUpMs, 1), fresh: round(hot.fresh.catchUpMs, 1) } : null,
    hot_subject_followers_ms: hot ? { hot: hot.hot.followersMs, fresh: hot.fresh.followersMs } : null,
    hot_subject_cpu_us_per_event: hot ? { hot: round(hot.hot.cpuUsPerEvent, 1), fresh: round(hot.fresh.cpuUsPerEvent, 1) } : null,
    hot_subject_build: hot
      ? {
          events: hot.history,
          seconds: round(hot.buildSeconds, 1),
          acknowledged_eps: round(hot.buildEps),
          first_posts_ms: round(hot.buildPostMsFirst),
          last_posts_ms: round(hot.buildPostMsLast),
          followers_caught_up_after_s: round(hot.buildCatchUpSeconds, 1),
        }
      : null,
    hot_subject_probe: hot ? hot.probe : null,
    hot_subject_error: results.hotError ?? null,
    integrated_error: results.integratedError ?? null,
    timeline_p50_ms: timelineRuns.length ? round(tl('p50'), 2) : null,
    timeline_p99_ms: timelineRuns.length ? round(tl('p99'), 2) : null,
    timeline_p99_ms_runs: timelineRuns.map((t) => round(t.p99, 2)),
    timeline_p99_spread: timelineRuns.length ? spread(timelineRuns.map((t) => t.p99)) : null,
    timeline_max_ms: timelineRuns.length ? round(Math.max(...timelineRuns.map((t) => t.max)), 1) : null,
    timeline_query_p50_ms: timelineRuns.length ? round(tl('queryP50'), 2) : null,
    timeline_query_p99_ms: timelineRuns.length ? round(tl('queryP99'), 2) : null,
    timeline_record_access_p50_ms: timelineRuns.length ? round(tl('recordP50'), 2) : null,
    timeline_record_access_p99_ms: timelineRuns.length ? round(tl('recordP99'), 2) : null,
    timeline_reads: timelineRuns.length ? timelineRuns.reduce((s, t) => s + t.reads, 0) : null,
    timeline_background_eps: timelineRuns.length ? round(tl('backgroundEps')) : null,
    timeline_cpu_us_per_read: timelineRuns.length ? round(tl('cpuUsPerRead'), 1) : null,
    timeline_cpu_us_per_event: timelineRuns.length ? round(tl('cpuUsPerEvent'), 1) : null,
    rebuild_eps: results.rebuild ? round(results.rebuild.eps) : null,
    rebuild_cpu_us_per_event: results.rebuild ? round(results.rebuild.cpuUsPerEvent, 1) : null,
    verify_eps: results.verify ? round(results.verify.eps) : null,
    verify_cpu_us_per_event: results.verify ? round(verifyCpu, 1) : null,
    store_open_ms: results.rebuild ? round(results.rebuild.storeOpenMs) : null,
    peak_rss_mb: round(peakRss),
    peak_rss_mb_by_phase: Object.fromEntries(Object.entries(rss.peak).map(([k, v]) => [k, round(v)])),
    service_peak_rss_mb: servicePeaks.length ? round(Math.max(...servicePeaks.map(([, v]) => v))) : null,
    service_without_compliance_monitor_rss_mb: results.httpNoMonitors ? round(results.httpNoMonitors.serviceRssMb) : null,
    data_dir_mb: results.data_dir_mb !== undefined ? round(results.data_dir_mb) : null,
    fsync_us: { start: fsyncStart, end: fsyncEnd },
    machine,
    seconds: round((performance.now() - T0) / 1000),
  };

  // ── targets of the issue ──────────────────────────────────────────────────
  const at10M = EVENTS >= 10_000_000;
  const scaleNote = at10M ? '' : '*';
  const target = (name, text, value, ok, note = '') => ({ name, text, value, met: value === null || value === undefined ? null : ok, note });
  const peakTarget = Object.entries(out.peak_rss_mb_by_phase).filter(([k]) => k !== 'peer');
  const targets = [
    target('sustained ingest', '>= 50,000 ev/s', out.ingest_eps, out.ingest_eps >= 50_000, scaleNote),
    target('vs the peer', '>= 3x at every batch size', out.peer_ratio_by_batch ? Math.min(...Object.values(out.peer_ratio_by_batch)) : null, out.peer_ratio_by_batch && Math.min(...Object.values(out.peer_ratio_by_batch)) >= 3),
    target('HTTP batch', '>= 30,000 ev/s', out.http_batch_eps, out.http_batch_eps >= 30_000),
    target('HTTP single', '>= 40% of bare fastify', out.http_single_vs_bare, out.http_single_vs_bare >= 0.4),
    target(
      'hot subject ratio',
      '<= 1.3 at 100,000',
      out.hot_subject_ratio,
      out.hot_subject_ratio <= 1.3 && (out.hot_subject_history ?? 0) >= 100_000,
      hot && hot.history < 100_000 ? ` (history reached ${hot.history.toLocaleString('en')} only)` : '',
    ),
    target('integrated_eps', '>= 30,000 ev/s', out.integrated_eps, out.integrated_eps >= 30_000),
    target('checkpoint latency p99', '<= 1,000 ms', out.checkpoint_latency_p99_ms, out.checkpoint_latency_p99_ms <= 1000),
    target('timeline p99', '< 5 ms at 10M / 1M subjects', out.timeline_p99_ms, out.timeline_p99_ms < 5, scaleNote),
    target('verify', '>= 300,000 ev/s', out.verify_eps, out.verify_eps >= 300_000),
    target('rebuild', '>= 100,000 ev/s', out.rebuild_eps, out.rebuild_eps >= 100_000),
    target('peak RSS', '< 300 MB in every phase', out.peak_rss_mb, peakTarget.every(([, v]) => v < 300)),
  ];
  // A phase that failed misses its targets.
  for (const t of targets) {
    const failed = (t.name === 'hot subject ratio' && results.hotError) || ((t.name === 'integrated_eps' || t.name === 'checkpoint latency p99') && results.integratedError);
    if (failed && t.met === null) Object.assign(t, { met: false, note: ' (phase failed)' });
  }
  out.targets = Object.fromEntries(targets.map((t) => [t.name, { target: t.text, value: t.value, met: t.met }]));
  const status = (t) => (t.met === null ? 'not run' : `${t.met ? 'met' : 'MISSED'}${t.note}`);
  const targetOf = (name) => targets.find((t) => t.name === name);

  // ── table ─────────────────────────────────────────────────────────────────
  const fmtSpread = (s, unit = '', d = 0) => (s && s.runs > 1 ? `${round(s.min, d)}-${round(s.max, d)}${unit} (${round(s.relative * 100)}%)` : s ? '1 run' : '');
  const cpu = (x) => (x === null || x === undefined ? '' : typeof x === 'string' ? x : String(round(x, x < 10 ? 1 : 0)));
  const rows = [['figure', 'value', 'runs min-max (spread)', 'CPU us/ev', 'target', 'status', 'what ran']];
  const row = (figure, value, runs, cpuUs, t, what) => rows.push([figure, value, runs ?? '', cpu(cpuUs), t ? t.text : '', t ? status(t) : '', what]);
  if (run) {
    row(
      'sustained ingest',
      `${out.ingest_eps} ev/s`,
      fmtSpread(out.ingest_eps_spread),
      out.ingest_cpu_us_per_event,
      targetOf('sustained ingest'),
      `${EVENTS.toLocaleString('en')} events, ${run.subjects.toLocaleString('en')} subjects, batches of 1000, synchronous=FULL, ${sustainedRuns.length} runs (median)`,
    );
    row('  first / last 10%', `${out.ingest_eps_first_10pct} / ${out.ingest_eps_last_10pct} ev/s`, `last/first ${out.ingest_last_vs_first_runs.join(', ')}`, null, null, 'run 1 (the store the phases below read)');
  }
  if (ours) {
    const o = (k) => spread(ours[k].runs.map((x) => x.eps));
    row('batch 1, one writer', `${round(ours.b1_serial.eps)} ev/s`, fmtSpread(o('b1_serial')), ours.b1_serial.cpuUsPerEvent, null, `fresh store, <= ${SAMPLE_SECONDS} s, median of ${SHORT_REPEATS}`);
    row('batch 1, 64 writers', `${round(ours.b1_concurrent.eps)} ev/s`, fmtSpread(o('b1_concurrent')), ours.b1_concurrent.cpuUsPerEvent, null, `group commit, <= ${SAMPLE.toLocaleString('en')} events, median of ${SHORT_REPEATS}`);
    row('batch 100', `${round(ours.b100.eps)} ev/s`, fmtSpread(o('b100')), ours.b100.cpuUsPerEvent, null, `<= ${SAMPLE.toLocaleString('en')} events, median of ${SHORT_REPEATS}`);
    row('batch 1000', `${round(ours.b1000.eps)} ev/s`, fmtSpread(o('b1000')), ours.b1000.cpuUsPerEvent, null, `<= ${SAMPLE.toLocaleString('en')} events, median of ${SHORT_REPEATS}`);
  }
  if (peer && ours) {
    const p = (k) => spread(peer[k].runs.map((x) => x.eps));
    const peerRuns = peer.b1000.runs.length;
    row('peer batch 1', `${round(peer.b1_serial.eps)} ev/s`, fmtSpread(p('b1_serial')), peer.b1_serial.cpuUsPerEvent, null, `Emmett SQLite 0.38.5, ours/peer = ${out.peer_ratio_by_batch.b1}, ${peerRuns} run(s)`);
    row('peer batch 100', `${round(peer.b100.eps)} ev/s`, fmtSpread(p('b100')), peer.b100.cpuUsPerEvent, null, `ours/peer = ${out.peer_ratio_by_batch.b100}`);
    row('peer batch 1000', `${round(peer.b1000.eps)} ev/s`, fmtSpread(p('b1000')), peer.b1000.cpuUsPerEvent, targetOf('vs the peer'), `ours/peer = ${out.peer_ratio_by_batch.b1000}`);
  }
  if (results.rebuild) {
    row('projection rebuild', `${out.rebuild_eps} ev/s`, '1 run', out.rebuild_cpu_us_per_event, targetOf('rebuild'), `ProjectionRunner.rebuild (read by ${results.rebuild.reader}, ${results.rebuild.workers} worker threads: load ${round(results.rebuild.loadSeconds, 1)} s, indexes ${round(results.rebuild.indexSeconds, 1)} s) over ${results.rebuild.events.toLocaleString('en')} events, 1 run`);
  }
  if (results.verify) {
    row(
      'verify',
      `${out.verify_eps} ev/s`,
      '1 run',
      out.verify_cpu_us_per_event,
      targetOf('verify'),
      `full verify (verify() in bench/lib/phases.mjs) over ${results.verify.events.toLocaleString('en')} events, ${results.verify.streams.toLocaleString('en')} streams, 1 run; CPU of every thread`,
    );
  }
  if (timelineRuns.length) {
    row(
      'timeline read p50 / p99',
      `${out.timeline_p50_ms} / ${out.timeline_p99_ms} ms`,
      fmtSpread(out.timeline_p99_spread, ' ms', 2),
      out.timeline_cpu_us_per_read,
      targetOf('timeline p99'),
      `query + recorded access, ${out.timeline_reads} reads in ${timelineRuns.length} runs of ${TIMELINE_SECONDS} s, ingest ${out.timeline_background_eps} ev/s beside (CPU per read, incl. that ingest)`,
    );
    row('  query / recording p99', `${out.timeline_query_p99_ms} / ${out.timeline_record_access_p99_ms} ms`, '', null, null, 'the two parts of a read apart');
  }
  if (results.http) {
    const h = results.http;
    row('HTTP batch', `${out.http_batch_eps} ev/s`, fmtSpread(out.http_batch_eps_spread), out.http_batch_cpu_us_per_event, targetOf('HTTP batch'), `POST /v1/events/batch x1000, 4 connections, ${HTTP_SECONDS} s, median of ${SHORT_REPEATS} rounds`);
    row(
      'HTTP single',
      `${out.http_single_rps} req/s`,
      fmtSpread(out.http_single_rps_spread),
      out.http_single_cpu_us_per_event,
      targetOf('HTTP single'),
      `POST /v1/events, 32 connections, p99 ${out.http_single_p99_ms} ms; single/bare = ${out.http_single_vs_bare}`,
    );
    row('bare fastify', `${out.bare_fastify_rps} req/s`, fmtSpread(spread(h.bare.runs)), out.bare_fastify_cpu_us_per_request, null, 'same body, same load, alternated with the service');
    if (results.httpNoMonitors) {
      row(
        '  (no compliance monitor)',
        `${out.http_single_rps_without_compliance_monitor} req/s, ${out.http_batch_eps_without_compliance_monitor} ev/s`,
        '1 run',
        results.httpNoMonitors.batch.cpuUsPerEvent,
        null,
        'diagnostic, not a headline: single / batch with the monitor not started (CPU: batch)',
      );
    }
  }
  if (ints.length) {
    const pol = out.checkpoint_policy;
    row(
      'integrated_eps',
      `${out.integrated_eps} ev/s`,
      fmtSpread(out.integrated_eps_spread),
      out.integrated_cpu_us_per_event,
      targetOf('integrated_eps'),
      `HTTP batch x1000, 4 callers, ${INTEGRATED_SECONDS} s, ${ints.length} runs; signed tree growth (acknowledged ${out.integrated_acknowledged_eps} ev/s)`,
    );
    row(
      'checkpoint latency p50 / p99',
      `${out.checkpoint_latency_p50_ms} / ${out.checkpoint_latency_p99_ms} ms`,
      fmtSpread(out.checkpoint_latency_p99_spread, ' ms'),
      null,
      targetOf('checkpoint latency p99'),
      `ack -> first checkpoint covering it (20 ms polls), policy every ${pol?.every} events / ${pol?.seconds} s; ${out.checkpoint_events_not_covered} not covered`,
    );
  }
  if (results.integratedError && !ints.length) row('integrated_eps', 'failed', '', null, targetOf('integrated_eps'), results.integratedError.slice(0, 200));
  if (results.hotError) row('hot subject ratio', 'failed', '', null, targetOf('hot subject ratio'), results.hotError.slice(0, 200));
  if (hot) {
    row(
      'hot subject ratio',
      `x${out.hot_subject_ratio}`,
      fmtSpread(out.hot_subject_ratio_spread, '', 2),
      `${cpu(hot.hot.cpuUsPerEvent)} / ${cpu(hot.fresh.cpuUsPerEvent)}`,
      targetOf('hot subject ratio'),
      `100 events onto 1 subject with ${hot.history.toLocaleString('en')} events vs onto a fresh one, ${hot.rounds} rounds x ${hot.samples} interleaved samples; max of the 2 ratios below (CPU hot / fresh)`,
    );
    row('  POST latency', `${out.hot_subject_post_ms.hot} / ${out.hot_subject_post_ms.fresh} ms`, `x${out.hot_subject_post_ratio}`, null, null, 'hot / fresh, medians');
    row('  until followers caught up', `${out.hot_subject_catch_up_ms.hot} / ${out.hot_subject_catch_up_ms.fresh} ms`, `x${out.hot_subject_catch_up_ratio}`, null, null, 'hot / fresh: POST sent -> read models, Merkle log, monitor past it');
    row(
      '  building the history',
      `${out.hot_subject_build.acknowledged_eps} ev/s`,
      `POST ${out.hot_subject_build.first_posts_ms} -> ${out.hot_subject_build.last_posts_ms} ms`,
      null,
      null,
      `${hot.history.toLocaleString('en')} events in batches of 1000 in ${out.hot_subject_build.seconds} s; first vs last 10 POSTs`,
    );
  }
  row(
    'peak RSS',
    `${out.peak_rss_mb} MB`,
    '',
    null,
    targetOf('peak RSS'),
    `VmHWM per process: ${Object.entries(out.peak_rss_mb_by_phase)
      .filter(([k]) => k !== 'peer')
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => `| ${r.map((cell, c) => String(cell).padEnd(widths[c])).join(' | ')} |`;
  process.stdout.write(`\n${line(rows[0])}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.slice(1).map(line).join('\n')}\n\n`);
  if (!at10M) process.stdout.write(`* the target is stated at 10,000,000 events / 1,000,000 subjects; this run had ${EVENTS.toLocaleString('en')} events.\n`);
  const d = machine.disk;
  process.stdout.write(
    `machine: ${machine.cpus} x ${machine.cpu}, ${machine.memory_gb} GB RAM, Linux ${machine.kernel}, Node ${machine.node}, SQLite ${machine.sqlite} (better-sqlite3 ${machine.better_sqlite3}); ` +
      `disk ${d.device ?? '?'} (${d.model ?? '?'}, ${d.size_gb ?? '?'} GB, ${d.fstype ?? '?'}); load average at start ${machine.load_average_at_start.join(' ')}\n` +
      `fsync (4 KB write + fdatasync, 200 times, in ${root.replace(/\/ledger-bench-.*/, '')}): start p50 ${fsyncStart.p50_us} us / p99 ${fsyncStart.p99_us} us, end p50 ${fsyncEnd.p50_us} us / p99 ${fsyncEnd.p99_us} us; bench took ${out.seconds} s\n`,
  );
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (error) {
  exitCode = 1;
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
} finally {
  if (KEEP) process.stderr.write(`kept ${root}\n`);
  else rmSync(root, { recursive: true, force: true });
}
process.exit(exitCode);
