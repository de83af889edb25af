// What the figures ran on, measured in the same run: CPU model, cores, RAM, Node and SQLite,
// the disk under the bench's temp dir, and that disk's fsync latency (4 KB write + fdatasync).
import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';

const read = (file) => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
};

/** The block device and filesystem holding `dir`. */
function diskOf(dir) {
  const out = { dir };
  try {
    const [source, fstype] = execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '-T', dir], { encoding: 'utf8' }).trim().split(/\s+/);
    Object.assign(out, { device: source, fstype });
    const dev = basename(source);
    const block = read(`/sys/class/block/${dev}/partition`) ? basename(join(`/sys/class/block/${dev}`, '..')) : dev;
    const sys = `/sys/block/${block}`;
    const sectors = Number(read(`${sys}/size`));
    const vendor = read(`${sys}/device/vendor`);
    Object.assign(out, {
      size_gb: sectors ? Math.round((sectors * 512) / 2 ** 30) : null,
      model: read(`${sys}/device/model`) || (vendor === '0x1af4' ? 'virtio' : vendor),
      rotational: read(`${sys}/queue/rotational`) === '1',
      scheduler: /\[(\w[\w-]*)\]/.exec(read(`${sys}/queue/scheduler`) ?? '')?.[1] ?? null,
    });
  } catch {}
  return out;
}

export function machineInfo(dir) {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const sqlite = new Database(':memory:');
  const sqliteVersion = sqlite.prepare('SELECT sqlite_version() AS v').get().v;
  sqlite.close();
  let betterSqlite = null;
  try {
    betterSqlite = JSON.parse(readFileSync(new URL('../../node_modules/better-sqlite3/package.json', import.meta.url), 'utf8')).version;
  } catch {}
  return {
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    free_memory_gb: Math.round((freemem() / 2 ** 30) * 10) / 10,
    load_average_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    kernel: release(),
    sqlite: sqliteVersion,
    better_sqlite3: betterSqlite,
    disk: diskOf(dir),
  };
}

/** 4 KB write + fdatasync, `n` times, on a file in `dir`: p50 / p99 / max in µs. */
export function fsyncProbe(dir, n = 200) {
  const file = join(dir, `fsync-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 0x5a);
  const us = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, block, 0, block.length, i * block.length);
      fdatasyncSync(fd);
      us.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  us.sort((a, b) => a - b);
  const at = (p) => Math.round(us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))]);
  return { writes: n, p50_us: at(50), p99_us: at(99), max_us: Math.round(us.at(-1)) };
}
