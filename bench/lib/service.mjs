// The service under load, seen from the load generator: child processes (the real service,
// the bare fastify route) with an IPC channel for their CPU time, API keys made through the
// public API, JSON requests with their latency, and where each follower of the log has got to.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

const here = (file) => new URL(file, import.meta.url).pathname;

/** Starts a child script that prints READY; it answers { id, cmd: 'cpu' } over IPC. */
/**
 * The environment of the service children: this one's, without the checkpoint policy, so the
 * service runs at its default policy whatever the shell has set.
 */
export function serviceEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const name of ['LEDGER_CHECKPOINT_EVERY', 'LEDGER_CHECKPOINT_SECONDS']) if (!(name in extra)) delete env[name];
  return env;
}

export async function startChild(script, args, { env = {} } = {}) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: serviceEnv(env) });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.pending = new Map();
  child.nextId = 1;
  child.on('message', (m) => {
    const waiter = child.pending.get(m?.id);
    if (!waiter) return;
    child.pending.delete(m.id);
    if (m.error) waiter.reject(new Error(m.error));
    else waiter.resolve(m);
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`${script} exited (${code}): ${stderr.slice(-3000)}`)));
  });
  child.stderrText = () => stderr;
  return child;
}

function ask(child, cmd, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const id = child.nextId++;
    const timer = setTimeout(() => {
      child.pending.delete(id);
      reject(new Error(`child did not answer ${cmd} in ${timeoutMs} ms`));
    }, timeoutMs);
    child.pending.set(id, {
      resolve: (m) => (clearTimeout(timer), resolve(m)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    child.send({ id, cmd });
  });
}

/** The child's process.cpuUsage() (user + system), in µs. */
export async function childCpuUs(child) {
  if (!child) return null;
  const { cpu } = await ask(child, 'cpu');
  return cpu.user + cpu.system;
}

export function childPeakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return null;
  }
}

/** Stops a child (SIGTERM, SIGKILL after 15 s); returns its peak RSS (VmHWM) in MB. */
export async function stopChild(child) {
  if (!child) return null;
  const peak = childPeakRssMb(child.pid);
  child.removeAllListeners('exit');
  if (child.exitCode !== null) return peak;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
  return peak;
}

/** POST/GET with a JSON body; returns status, the parsed answer and the latency in ms. */
export async function request(url, { method = 'GET', headers = {}, body } = {}) {
  const t0 = performance.now();
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  const t1 = performance.now();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, json, text, sentAt: t0, doneAt: t1, ms: t1 - t0 };
}

/**
 * The real service (createLedgerApp through bench/lib/service-child.mjs, every follower running)
 * on a fresh data dir under `root`, with an emitter and an auditor key made through the admin key.
 */
export async function startService(root, { monitors = true, env = {} } = {}) {
  const dataDir = mkdtempSync(join(root, 'service-'));
  const port = 38000 + Math.floor(Math.random() * 20000);
  const child = await startChild(here('./service-child.mjs'), [dataDir, String(port), ...(monitors ? [] : ['--no-monitors'])], { env });
  const base = `http://127.0.0.1:${port}`;
  try {
    const adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
    const key = async (role) => {
      const created = await request(`${base}/v1/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ name: `bench-${role}`, role }),
      });
      if (created.status !== 201) throw new Error(`could not create an ${role} key: ${created.status} ${created.text}`);
      return { authorization: `Bearer ${created.json.key}` };
    };
    return { child, port, base, dataDir, monitors, emitter: await key('emitter'), auditor: await key('auditor') };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/**
 * Where the log's followers are, from outside the service. When `GET /health/ready` lists the
 * followers (`followers` or `consumers`: [{ name, position }]), that is all it polls. Otherwise
 * (the service as it was when this was written):
 * - read models: `readModelsAt` of `GET /health/ready`;
 * - the Merkle log: `GET /v1/integrity/proofs/consistency?from=n&to=n` answers once the tree has
 *   integrated n leaves (the endpoint waits for an acknowledged size);
 * - the compliance monitor: its durable checkpoint (`monitor_checkpoint` in compliance.db, read
 *   only), as no endpoint reports it without side effects (`GET /v1/compliance/violations` waits
 *   for the monitor but then runs a deadline sweep); that endpoint is the fallback.
 * `waitFor(n)` resolves when every follower has processed the first n events, with the time
 * (performance.now()) at which each was first seen there; polls every `pollMs`.
 */
export function followerProbe(service, { pollMs = 5 } = {}) {
  let monitorStmt = null;
  let monitorDb = null;
  let healthListsFollowers = null;
  const monitorPosition = () => {
    if (!service.monitors) return Infinity;
    if (!monitorStmt) {
      const file = join(service.dataDir, 'compliance.db');
      if (!existsSync(file)) return null;
      try {
        monitorDb = new Database(file, { readonly: true, fileMustExist: true });
        monitorStmt = monitorDb.prepare('SELECT position FROM monitor_checkpoint WHERE id = 1');
      } catch {
        monitorDb?.close();
        monitorDb = null;
        return null;
      }
    }
    try {
      return monitorStmt.get()?.position ?? 0;
    } catch {
      return null;
    }
  };
  const ready = async () => (await request(`${service.base}/health/ready`)).json;
  /** Positions of the followers /health/ready names: { name: position }. */
  const listedPositions = (body) => {
    const out = {};
    const list = body?.followers ?? body?.consumers;
    const at = (v) => Number(typeof v === 'object' && v !== null ? (v.position ?? v.at ?? v.checkpoint) : v);
    if (Array.isArray(list)) {
      for (const c of list) if (c && typeof c.name === 'string') out[c.name] = at(c);
    } else if (list && typeof list === 'object') {
      for (const [name, v] of Object.entries(list)) out[name] = at(v);
    }
    return out;
  };
  const readyPositions = (body) => {
    const listed = listedPositions(body);
    if (healthListsFollowers === null) healthListsFollowers = Object.keys(listed).length > 0;
    if (healthListsFollowers) return listed;
    return typeof body?.readModelsAt === 'number' ? { readModels: body.readModelsAt } : {};
  };

  async function waitFor(target, { timeoutMs = 600_000 } = {}) {
    const deadline = performance.now() + timeoutMs;
    const reached = {};
    const tasks = [];
    if (healthListsFollowers === null) readyPositions(await ready());
    // Read models (or every follower, when /health/ready names them).
    tasks.push(
      (async () => {
        for (;;) {
          const positions = readyPositions(await ready());
          const now = performance.now();
          for (const [name, p] of Object.entries(positions)) if (p >= target && reached[name] === undefined) reached[name] = now;
          if (Object.keys(positions).length > 0 && Object.keys(positions).every((n) => reached[n] !== undefined)) return;
          if (now > deadline) throw new Error(`followers in /health/ready did not reach ${target}: ${JSON.stringify(positions)}`);
          await sleep(pollMs);
        }
      })(),
    );
    // The Merkle log.
    if (!healthListsFollowers) tasks.push(
      (async () => {
        for (;;) {
          const r = await request(`${service.base}/v1/integrity/proofs/consistency?from=${target}&to=${target}`, { headers: service.emitter });
          if (r.status === 200) return void (reached.merkleLog ??= r.doneAt);
          if (performance.now() > deadline) throw new Error(`the Merkle log did not reach ${target}: ${r.status} ${r.text.slice(0, 300)}`);
          await sleep(pollMs);
        }
      })(),
    );
    // The compliance monitor.
    if (service.monitors && !healthListsFollowers) {
      tasks.push(
        (async () => {
          for (;;) {
            const p = monitorPosition();
            if (p === null) {
              const r = await request(`${service.base}/v1/compliance/violations?subjectId=bench-no-such-subject&limit=1`, { headers: service.auditor });
              if (r.status === 200) return void (reached.complianceMonitor ??= r.doneAt);
            } else if (p >= target) return void (reached.complianceMonitor ??= performance.now());
            if (performance.now() > deadline) throw new Error(`the compliance monitor did not reach ${target} (at ${p})`);
            await sleep(p === null ? 50 : pollMs);
          }
        })(),
      );
    }
    await Promise.all(tasks);
    return { reached, all: Math.max(...Object.values(reached)) };
  }

  const mode = () =>
    healthListsFollowers ? 'the followers listed by /health/ready' : 'readModelsAt of /health/ready, a consistency proof at the size, the monitor checkpoint in compliance.db';
  return { waitFor, ready, mode, close: () => monitorDb?.close() };
}
