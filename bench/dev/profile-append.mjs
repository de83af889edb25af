#!/usr/bin/env node
// What recording costs between the socket and store.append: POST /v1/events and
// POST /v1/events/batch (1000 events) under autocannon against the compiled service with the
// compliance monitor on ("monitored") and off ("plain"), and a bare fastify route ("bare") in
// the same run. For each load window: requests/s, events/s, p50/p99 and the server process's
// CPU time per request and per event (process.cpuUsage for the service, /proc for the bare
// route), which is steadier than rates on a shared machine. With --profile DIR each service
// window also writes a .cpuprofile (sampled only during that window) and prints its top costs.
//
//   npm run build && node bench/dev/profile-append.mjs [--seconds 5] [--profile /tmp/prof]
//     [--targets bare,plain,monitored] [--scenarios single,batch] [--top 25] [--keep]
//
// Everything lives in a temp dir removed at the end; load goes to 127.0.0.1 only.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { createWorkload } from '../lib/workload.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const SECONDS = Number(option('seconds', 5));
const PROFILE_DIR = option('profile', null);
const TARGETS = option('targets', 'bare,plain,monitored').split(',');
const SCENARIOS = option('scenarios', 'single,batch').split(',');
const TOP = Number(option('top', 25));
const KEEP = argv.includes('--keep');
const root = mkdtempSync(join(tmpdir(), 'ledger-profile-'));
if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
const log = (line) => process.stderr.write(`${line}\n`);

// ── bodies: the benchmark workload, a fresh eventId per event ──────────────────
const singleTemplates = (() => {
  const w = createWorkload({ events: 100_000, seed: 5 });
  return Array.from({ length: 256 }, () => {
    const { eventId: _e, pii: _p, ...body } = w.next();
    return JSON.stringify({ eventId: '@@ID@@', ...body }).split('@@ID@@');
  });
})();
let singleIndex = 0;
const singleBody = () => singleTemplates[singleIndex++ & 255].join(randomUUID());
const batchParts = (() => {
  const w = createWorkload({ events: 100_000, seed: 6 });
  return JSON.stringify({ events: Array.from({ length: 1000 }, () => ({ ...w.next(), eventId: '@@ID@@' })) }).split('@@ID@@');
})();
const batchBody = () => {
  let out = batchParts[0];
  for (let i = 1; i < batchParts.length; i++) out += randomUUID() + batchParts[i];
  return out;
};
const SCENARIO = {
  single: { path: '/v1/events', body: singleBody, connections: 32, eventsPerRequest: 1 },
  batch: { path: '/v1/events/batch', body: batchBody, connections: 4, eventsPerRequest: 1000 },
};

// ── processes ──────────────────────────────────────────────────────────────────
const here = (file) => new URL(file, import.meta.url).pathname;

function startService(monitors) {
  const dataDir = mkdtempSync(join(root, monitors ? 'monitored-' : 'plain-'));
  const port = 39000 + Math.floor(Math.random() * 900);
  const child = fork(here('./profiled-service.mjs'), [dataDir, String(port), ...(monitors ? [] : ['--no-monitors'])], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let next = 0;
  const pending = new Map();
  child.on('message', (m) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m);
  });
  const ask = (cmd, extra = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...extra });
    });
  const ready = new Promise((resolve, reject) => {
    child.on('message', (m) => m.ready && resolve());
    child.on('exit', (code) => reject(new Error(`service exited (${code})`)));
  });
  return {
    kind: monitors ? 'monitored' : 'plain',
    port,
    dataDir,
    ready,
    ask,
    cpuUs: async () => {
      const { cpu } = await ask('cpu');
      return cpu.user + cpu.system;
    },
    stop: async () => {
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await ask('close').catch(() => child.kill('SIGKILL'));
      await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

function startBare() {
  const port = 39900 + Math.floor(Math.random() * 90);
  const child = fork(here('../lib/bare-fastify.mjs'), [String(port)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('READY') && resolve());
    child.on('exit', (code) => reject(new Error(`bare fastify exited (${code})`)));
  });
  const ticksPerSecond = 100; // USER_HZ on Linux
  return {
    kind: 'bare',
    port,
    ready,
    cpuUs: async () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
    },
    stop: async () => {
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

async function emitterKey(service) {
  const adminKey = readFileSync(join(service.dataDir, 'admin.key'), 'utf8').trim();
  const res = await fetch(`http://127.0.0.1:${service.port}/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'profile-emitter', role: 'emitter' }),
  });
  if (res.status !== 201) throw new Error(`could not create an emitter key: ${res.status} ${await res.text()}`);
  return (await res.json()).key;
}

// ── load ───────────────────────────────────────────────────────────────────────
function cannon(options) {
  return new Promise((resolve, reject) => autocannon({ ...options, timeout: 30 }, (error, result) => (error ? reject(error) : resolve(result))));
}

async function load(target, scenario, headers, seconds) {
  const s = SCENARIO[scenario];
  const result = await cannon({
    url: `http://127.0.0.1:${target.port}${s.path}`,
    method: 'POST',
    connections: s.connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: s.body() }) }],
  });
  return { ok: result['2xx'], non2xx: result.non2xx + result.errors + result.timeouts, duration: result.duration || seconds, p50: result.latency.p50, p99: result.latency.p99 };
}

/** One request first, so a refused body shows its error instead of a window of non-2xx. */
async function probe(target, scenario, headers) {
  const s = SCENARIO[scenario];
  const res = await fetch(`http://127.0.0.1:${target.port}${s.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: s.body() });
  if (res.status >= 300) throw new Error(`${target.kind} ${scenario}: ${res.status} ${(await res.text()).slice(0, 400)}`);
}

async function settle(service) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ready = await (await fetch(`http://127.0.0.1:${service.port}/health/ready`)).json();
    if (ready.lag === 0) return;
    await sleep(200);
  }
}

// ── profile summary ────────────────────────────────────────────────────────────
function where(frame) {
  const url = frame.url ?? '';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const own = /\/dist\/((?:src|projections)\/.*)$/.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return url;
  return url ? basename(url) : '(native)';
}

function summarise(file, events) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map();
  const total = new Map();
  const area = new Map();
  let busy = 0;
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') return;
    busy += dt;
    add(self, key(n), dt);
    add(area, name === '(garbage collector)' ? '(gc)' : where(n.callFrame), dt);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at));
      if (!seen.has(k)) {
        seen.add(k);
        add(total, k, dt);
      }
    }
  });
  const perEvent = (us) => (us / events).toFixed(2).padStart(8);
  const table = (title, m, n) => {
    log(`  ${title} (µs per event, % of busy)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) log(`  ${perEvent(v)} ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
  };
  log(`  profile ${file}: ${(busy / 1000).toFixed(0)} ms busy, ${(busy / events).toFixed(1)} µs per event`);
  table('self time by area', area, 15);
  table('self time by function', self, TOP);
  table('inclusive time by function', new Map([...total].filter(([k]) => !k.startsWith('(root)'))), TOP);
}

// ── run ────────────────────────────────────────────────────────────────────────
const rows = [];
try {
  for (const kind of TARGETS) {
    const target = kind === 'bare' ? startBare() : startService(kind === 'monitored');
    await target.ready;
    try {
      const headers = kind === 'bare' ? {} : { authorization: `Bearer ${await emitterKey(target)}` };
      for (const scenario of SCENARIOS) {
        if (kind === 'bare' && scenario !== 'single') continue;
        await probe(target, scenario, headers);
        await load(target, scenario, headers, 1); // warm-up: JIT, connections
        if (target.ask) await settle(target);
        const file = PROFILE_DIR && target.ask ? join(PROFILE_DIR, `${kind}-${scenario}.cpuprofile`) : null;
        if (file) await target.ask('profile-start');
        const cpu0 = await target.cpuUs();
        const r = await load(target, scenario, headers, SECONDS);
        const cpu1 = await target.cpuUs();
        if (file) await target.ask('profile-stop', { file });
        const events = r.ok * SCENARIO[scenario].eventsPerRequest;
        let catchUpUs = 0;
        if (target.ask) {
          await settle(target);
          catchUpUs = (await target.cpuUs()) - cpu1;
        }
        const row = {
          target: kind,
          scenario,
          rps: r.ok / r.duration,
          eps: events / r.duration,
          p50: r.p50,
          p99: r.p99,
          non2xx: r.non2xx,
          cpuUsPerRequest: (cpu1 - cpu0) / r.ok,
          cpuUsPerEvent: (cpu1 - cpu0) / events,
          catchUpUsPerEvent: catchUpUs / events,
        };
        rows.push(row);
        log(
          `${kind.padEnd(9)} ${scenario.padEnd(6)} ${Math.round(row.rps)} req/s, ${Math.round(row.eps)} events/s, p50/p99 ${row.p50}/${row.p99} ms, ` +
            `CPU ${row.cpuUsPerEvent.toFixed(1)} µs/event (+${row.catchUpUsPerEvent.toFixed(1)} catching up), ${row.non2xx} non-2xx`,
        );
        if (file) summarise(file, events);
      }
    } finally {
      await target.stop();
    }
  }
} finally {
  if (!KEEP) rmSync(root, { recursive: true, force: true });
}

const bare = rows.find((r) => r.target === 'bare');
process.stdout.write(`\n| target | scenario | req/s | events/s | p50 / p99 ms | CPU µs/event (load) | + catch-up | vs bare |\n|---|---|---|---|---|---|---|---|\n`);
for (const r of rows) {
  const vsBare = bare && r.scenario === 'single' ? (r.rps / bare.rps).toFixed(2) : '';
  process.stdout.write(
    `| ${r.target} | ${r.scenario} | ${Math.round(r.rps)} | ${Math.round(r.eps)} | ${r.p50} / ${r.p99} | ${r.cpuUsPerEvent.toFixed(1)} | ${r.catchUpUsPerEvent.toFixed(1)} | ${vsBare} |\n`,
  );
}
process.stdout.write(`${JSON.stringify({ seconds: SECONDS, rows })}\n`);
