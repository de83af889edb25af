#!/usr/bin/env node
// CPU cost of the recording path without HTTP and without the store: JSON.parse of a batch
// body, parseEvent per event (validation, normalisation), and RecordEventsHandler.execute
// (keys, sealing, digests, plan) against a store that answers at once. The workload is
// bench/lib/workload.mjs (5% of the backend's collections carry an e-mail in `pii`).
// Process CPU time per event: the minimum and the median of --rounds (the minimum is the least
// disturbed by other work on a shared machine); steadier than HTTP rates.
//
//   npm run build && node bench/dev/record-path-probe.mjs [--dist /path/to/dist] [--events 200000] [--rounds 5]
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createWorkload } from '../lib/workload.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const DIST = resolve(option('dist', new URL('../../dist', import.meta.url).pathname));
const EVENTS = Number(option('events', 200_000));
const ROUNDS = Number(option('rounds', 5));
const BATCH = 1000;
const load = (path) => import(pathToFileURL(`${DIST}/${path}`).href);

await import('reflect-metadata');
const { parseEvent } = await load('src/ledger/commands/record-events/event-envelope.dto.js');
const { RecordEventsHandler, RecordEventsCommand } = await load('src/ledger/commands/record-events/record-events.handler.js');

/** Answers every append with receipts, as the store would for fresh events. */
const store = {
  position: 0,
  async append(requests) {
    const receipts = [];
    for (const r of requests) for (const e of r.events) receipts.push({ eventId: e.eventId, streamId: r.streamId, streamRevision: 0, globalPosition: this.position++, hash: e.contentDigest, duplicate: false });
    return receipts;
  },
  async readStream() {
    return [];
  },
};
const keys = new Map();
const keyring = {
  async dataKey(subjectId) {
    let key = keys.get(subjectId);
    if (!key) keys.set(subjectId, (key = randomBytes(32)));
    return key;
  },
};
const handler = new RecordEventsHandler(store, keyring);

const workload = createWorkload({ events: EVENTS, seed: 6 });
const bodies = Array.from({ length: EVENTS / BATCH }, () => JSON.stringify({ events: Array.from({ length: BATCH }, () => workload.next()) }));
const now = new Date('2027-01-01T00:00:00Z');

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rounds = { parse: [], validate: [], record: [] };
for (let round = 0; round < ROUNDS + 1; round++) {
  let parseUs = 0;
  let validateUs = 0;
  let recordUs = 0;
  for (const text of bodies) {
    let t = cpu();
    const { events } = JSON.parse(text);
    parseUs += cpu() - t;
    t = cpu();
    const parsed = [];
    for (let i = 0; i < events.length; i++) {
      const result = parseEvent(events[i], `events[${i}]`, now);
      if (!result.parsed) throw new Error(JSON.stringify(result.errors));
      parsed.push(result.parsed);
    }
    validateUs += cpu() - t;
    t = cpu();
    await handler.execute(new RecordEventsCommand(parsed));
    recordUs += cpu() - t;
  }
  if (round === 0) continue; // warm-up
  rounds.parse.push(parseUs / EVENTS);
  rounds.validate.push(validateUs / EVENTS);
  rounds.record.push(recordUs / EVENTS);
}
const line = (name, xs) => `${name.padEnd(30)} min ${Math.min(...xs).toFixed(2).padStart(6)}  median ${median(xs).toFixed(2).padStart(6)} µs/event`;
console.log(`dist ${DIST}, ${EVENTS} events in batches of ${BATCH}, ${ROUNDS} rounds`);
console.log(line('JSON.parse of the body', rounds.parse));
console.log(line('parseEvent (validation)', rounds.validate));
console.log(line('RecordEventsHandler.execute', rounds.record));
console.log(line('total', rounds.parse.map((p, i) => p + rounds.validate[i] + rounds.record[i])));
