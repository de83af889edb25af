// Dev probe: times `ledger verify`'s engine over a store of N events, with peak RSS.
//   node bench/dev/verify-probe.mjs --events 1000000 [--dir /tmp/verify-1m] [--reuse] [--runs 3]
//        [--workers 2] [--page 2048] [--entries] [--checkpoints 1000] [--memory]
// Builds the store with the real SqliteEventStore from dist (the bench workload: 1 subject per 10
// events, so 10M events give 1M streams), or reuses --dir with --reuse. Each timed run is its own
// child process, so its VmHWM is the verifier's own peak, not the builder's.
// --entries times verifyLedger over readRawLog (the entries API: one thread, a row at a time).
// --memory adds the largest process.memoryUsage() figures seen (main thread).
// --checkpoints K signs a checkpoint every K events with a throw-away key (as the service does
// with LEDGER_CHECKPOINT_EVERY) so signature and root checks are part of the figure.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a, i, all) => (a.startsWith('--') ? [a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true'] : null))
    .filter(Boolean),
);
const events = Number(args.events ?? 1_000_000);
const dir = args.dir ?? `/tmp/verify-probe-${events}`;
const file = join(dir, 'events.db');
/** CPU seconds per thread of this process, the busy ones: `name:tid` → seconds. */
function threadCpu() {
  const out = {};
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    if (seconds >= 0.1) out[`${name}:${tid}`] = seconds;
  }
  return out;
}
const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

if (args.child) {
  // One timed verify run (child process).
  const { publicKeyFromPem } = await import('../../dist/src/integrity/checkpoint-signer.js');
  const publicKey = publicKeyFromPem(readFileSync(join(dir, 'probe-public-key.pem'), 'utf8'));
  const checkpoints = existsSync(join(dir, 'probe-checkpoints.json')) && args.checkpoints ? JSON.parse(readFileSync(join(dir, 'probe-checkpoints.json'), 'utf8')) : [];
  const t0 = performance.now();
  let threads = null;
  const memory = {};
  let report;
  if (args.entries) {
    const { readRawLog } = await import('../../dist/src/event-store/sqlite/sqlite-event-store.js');
    const { verifyLedger } = await import('../../dist/src/integrity/ledger-verifier.js');
    report = verifyLedger(readRawLog(file), checkpoints, publicKey);
  } else {
    const { verifyLedgerFile } = await import('../../dist/src/integrity/ledger-verifier.js');
    report = await verifyLedgerFile(file, checkpoints, publicKey, {
      ...(args.workers ? { workers: Number(args.workers) } : {}),
      ...(args.page ? { pageEvents: Number(args.page) } : {}),
      // CPU seconds of every thread (Linux /proc), sampled near the end while the workers still run.
      onProgress: (n) => {
        if (n + 65536 > events || !threads) threads = threadCpu();
        if (args.memory) {
          const m = process.memoryUsage();
          for (const k of Object.keys(m)) memory[k] = Math.max(memory[k] ?? 0, Math.round(m[k] / 2 ** 20));
        }
      },
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ intact: report.intact, events: report.events, streams: report.streams, checkpoints: report.checkpointsVerified, firstBreak: report.firstBreak, seconds: Number(seconds.toFixed(2)), eps: Math.round(report.events / seconds), peakRssMb: Math.round(peakMb()), cpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)), ...(threads ? { threadCpuS: threads } : {}), ...(args.memory ? { maxMemoryMb: memory } : {}) })}\n`,
  );
  process.exit(0);
}

if (!args.reuse || !existsSync(file)) {
  const { SqliteEventStore } = await import('../../dist/src/event-store/sqlite/sqlite-event-store.js');
  const { createStoreWorkload, toAppendRequests } = await import('../lib/workload.mjs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const store = new SqliteEventStore({ file, synchronous: 'normal' });
  // Sealing is not what is measured here: a stand-in ciphertext of the same shape.
  const seal = (_id, _s, pii) => `v1.${Buffer.from(JSON.stringify(pii)).toString('base64url')}.tag`;
  const workload = createStoreWorkload({ events, seal });
  const t0 = performance.now();
  for (let done = 0; done < events; ) {
    const list = [];
    for (let i = 0; i < 1000 && done + i < events; i++) list.push(workload.next());
    await store.append(toAppendRequests(list));
    done += list.length;
    if (done % 1_000_000 === 0) process.stderr.write(`  built ${done.toLocaleString('en')} events (${Math.round(done / ((performance.now() - t0) / 1000))} ev/s)\n`);
  }
  await store.close();
  process.stderr.write(`built ${events.toLocaleString('en')} events, ${workload.subjects.toLocaleString('en')} subjects in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${file}\n`);
}

// A throw-away signing key and, every --checkpoints events, signed checkpoints over the log.
if (!existsSync(join(dir, 'probe-public-key.pem')) || (args.checkpoints && !existsSync(join(dir, 'probe-checkpoints.json')))) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'probe-public-key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  if (args.checkpoints) {
    const every = Number(args.checkpoints);
    const { default: Database } = await import('better-sqlite3');
    const { CompactRange, rfc6962Hasher, toBase64 } = await import('../../dist/src/integrity/merkle/index.js');
    const { checkpointSigningBytes, keyIdOf } = await import('../../dist/src/integrity/checkpoint-signer.js');
    const { sign } = await import('node:crypto');
    const db = new Database(file, { readonly: true });
    const range = new CompactRange();
    const checkpoints = [];
    const keyId = keyIdOf(publicKey);
    for (const [record] of db.prepare('SELECT CAST(record AS BLOB) FROM events ORDER BY position').raw().iterate()) {
      range.append(rfc6962Hasher.hashLeaf(record));
      if (range.size % every === 0) {
        const body = { treeSize: range.size, rootHash: toBase64(range.root()), timestamp: new Date(0).toISOString(), keyId };
        checkpoints.push({ ...body, signature: sign(null, checkpointSigningBytes(body), privateKey).toString('base64') });
      }
    }
    db.close();
    writeFileSync(join(dir, 'probe-checkpoints.json'), JSON.stringify(checkpoints));
    process.stderr.write(`signed ${checkpoints.length} checkpoints\n`);
  }
}

const runs = Number(args.runs ?? 3);
const self = fileURLToPath(import.meta.url);
const pass = ['entries', 'workers', 'page', 'checkpoints', 'memory'].flatMap((k) => (args[k] ? [`--${k}`, args[k]] : []));
for (let i = 0; i < runs; i++) {
  const child = spawnSync(process.execPath, [self, '--child', '--events', String(events), '--dir', dir, ...pass], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(child.stdout || `run ${i + 1} failed (exit ${child.status})\n`);
}
