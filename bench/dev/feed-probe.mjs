#!/usr/bin/env node
// How fast the followers keep up: builds a log of N workload events with the real store, then
// starts the real service on it with empty read models, Merkle log and monitor, and times the
// log feed catching up (every follower, one core), with the time each follower spent in apply.
//
//   npm run build && node [--cpu-prof --cpu-prof-dir=/tmp/prof] bench/dev/feed-probe.mjs [--events 200000]
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { loadConfig } from '../../dist/src/config/ledger-config.js';
import { createLedgerApp } from '../../dist/src/http-app.js';
import { LedgerLogger } from '../../dist/src/observability/ledger-logger.js';
import { Followers } from '../../dist/src/followers/followers.js';
import { createStoreWorkload, toAppendRequests } from '../lib/workload.mjs';

const argv = process.argv.slice(2);
const N = Number(argv[argv.indexOf('--events') + 1] || 200_000);
const dir = mkdtempSync(join(tmpdir(), 'ledger-feed-probe-'));
const key = randomBytes(32);
const seal = (eventId, subjectId, pii) => {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(JSON.stringify(pii)), c.final()]);
  return `v1.${iv.toString('base64')}.${Buffer.concat([ct, c.getAuthTag()]).toString('base64')}`;
};
try {
  const store = new SqliteEventStore({ file: join(dir, 'events.db') });
  const w = createStoreWorkload({ events: N, seal });
  for (let done = 0; done < N; done += 1000) await store.append(toAppendRequests(Array.from({ length: Math.min(1000, N - done) }, w.next)));
  await store.close();

  // --inline: the followers in the service thread, with the time each spends in apply.
  const inline = argv.includes('--inline');
  const config = loadConfig({ LEDGER_DATA_DIR: dir, LOG_LEVEL: 'silent', LEDGER_FOLLOWERS: inline ? 'inline' : 'thread' });
  const app = await createLedgerApp(config, new LedgerLogger('silent'));
  const feed = app.get(Followers);
  const spent = new Map();
  for (const c of feed.feed?.options.consumers ?? []) {
    const apply = c.apply.bind(c);
    c.apply = async (batch) => {
      const t = performance.now();
      await apply(batch);
      spent.set(c.name, (spent.get(c.name) ?? 0) + performance.now() - t);
    };
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  await app.init();
  await feed.caughtUp(N, null, 3_600_000);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(`${inline ? 'inline' : 'follower thread'}: feed caught up ${N} events in ${seconds.toFixed(2)} s: ${Math.round(N / seconds)} ev/s, CPU ${((used.user + used.system) / N).toFixed(1)} us/event`);
  for (const [name, ms] of spent) console.log(`  ${name.padEnd(12)} ${(ms / 1000).toFixed(2)} s in apply (${((ms * 1000) / N).toFixed(1)} us/event)`);
  if (inline) console.log(`  reading + decoding + the rest: ${(seconds - [...spent.values()].reduce((a, b) => a + b, 0) / 1000).toFixed(2)} s`);
  await app.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
