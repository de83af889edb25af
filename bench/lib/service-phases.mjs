// Phases against the real service (every follower running: projections, Merkle log and
// checkpoints, compliance monitor, alerts), driven over its public HTTP API from this process.
//
// hotSubject: POST /v1/events/batch of 100 events onto one subject with a long history against
//   the same batch onto a fresh subject, interleaved in one service process.
// integrated: sustained batch load; when each acknowledged event first shows up in a signed
//   checkpoint (GET /v1/integrity/checkpoint polled every 20 ms).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { childCpuUs, followerProbe, request, startService, stopChild } from './service.mjs';
import { createWorkload, subjectName } from './workload.mjs';

const progress = (...parts) => process.stderr.write(`${parts.join(' ')}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);

/** Batches of workload events (the usual mix of types, categories, actors) for one subject. */
function subjectBatches(seed) {
  const w = createWorkload({ events: 1_000_000, seed });
  return (subjectId, size) => JSON.stringify({ events: Array.from({ length: size }, () => ({ ...w.next(), subjectId, eventId: randomUUID() })) });
}

/**
 * Batches of `size` workload events over `subjects` subjects drawn uniformly (1 per 10 events at
 * 10M): 8 bodies are generated once, each event then gets a fresh eventId and a random subject.
 */
function uniformBatches(size, subjects) {
  const w = createWorkload({ events: 100_000, seed: 29 });
  const templates = Array.from({ length: 8 }, () =>
    JSON.stringify({ events: Array.from({ length: size }, () => ({ ...w.next(), eventId: '@@ID@@', subjectId: '@@SUBJECT@@' })) }).split(/@@ID@@|@@SUBJECT@@/),
  );
  let n = 0;
  return () => {
    const parts = templates[n++ & 7];
    let out = parts[0];
    for (let i = 1; i < parts.length; i++) out += (i & 1 ? randomUUID() : subjectName(Math.floor(Math.random() * subjects))) + parts[i];
    return out;
  };
}

async function postBatch(service, body) {
  const r = await request(`${service.base}/v1/events/batch`, { method: 'POST', headers: service.emitter, body });
  if (r.status !== 201) throw new Error(`POST /v1/events/batch answered ${r.status}: ${r.text.slice(0, 500)}`);
  let last = -1;
  for (const receipt of r.json.receipts) if (receipt.globalPosition > last) last = receipt.globalPosition;
  return { ...r, last, count: r.json.receipts.length };
}

/**
 * Builds `history` events on one subject (batches of 1000 through the service, bounded by
 * `buildSeconds`), waits until every follower has caught up, then times `samples` batches of
 * `batch` events onto that subject and as many onto fresh subjects (one new subject per sample,
 * the same shape: one stream), interleaved, alternating which goes first. Before each sample
 * every follower has caught up; each sample reports the POST's latency and the time from the
 * POST until every follower (read models, Merkle log, compliance monitor) has processed it.
 */
export async function hotSubject({ root, history = 100_000, batch = 100, samples = 9, rounds = 1, buildSeconds = 300, sampleTimeoutSeconds = 60, monitors = true }) {
  const service = await startService(root, { monitors });
  const probe = followerProbe(service);
  const bodies = subjectBatches(17);
  const hotId = `hot-${randomUUID().slice(0, 8)}`;
  try {
    // ── history ──
    const buildStart = performance.now();
    const buildDeadline = buildStart + buildSeconds * 1000;
    let built = 0;
    let lastPos = -1;
    let slowestPost = 0;
    const buildPosts = [];
    let lastReport = buildStart;
    while (built < history && performance.now() < buildDeadline) {
      const r = await postBatch(service, bodies(hotId, Math.min(1000, history - built)));
      built += r.count;
      lastPos = r.last;
      slowestPost = Math.max(slowestPost, r.ms);
      buildPosts.push(r.ms);
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        progress(`  hot subject: ${built.toLocaleString('en')} events posted in ${((lastReport - buildStart) / 1000).toFixed(0)} s (last POST ${Math.round(r.ms)} ms)`);
      }
    }
    const postedAt = performance.now();
    const caught = await probe.waitFor(lastPos + 1, { timeoutMs: Math.max(120_000, buildSeconds * 1000) }).catch((error) => {
      throw new Error(`after ${built.toLocaleString('en')} events onto one subject the followers did not catch up in ${Math.max(120, buildSeconds)} s: ${error.message}`);
    });
    const buildSecondsTaken = (postedAt - buildStart) / 1000;
    const catchUpSeconds = (caught.all - postedAt) / 1000;
    progress(
      `  hot subject: ${built.toLocaleString('en')} events in ${buildSecondsTaken.toFixed(1)} s (${Math.round(built / buildSecondsTaken)} ev/s acknowledged, slowest POST ${Math.round(slowestPost)} ms); ` +
        `followers caught up ${catchUpSeconds.toFixed(1)} s later (${Object.entries(caught.reached).map(([n, t]) => `${n} +${((t - postedAt) / 1000).toFixed(1)} s`).join(', ')})`,
    );

    // ── samples, interleaved ──
    let head = lastPos + 1;
    const one = async (kind, subjectId) => {
      await probe.waitFor(head);
      await sleep(20);
      const cpu0 = await childCpuUs(service.child);
      const r = await postBatch(service, bodies(subjectId, batch));
      const caughtUp = await probe.waitFor(r.last + 1, { timeoutMs: sampleTimeoutSeconds * 1000 }).catch((error) => {
        throw new Error(`a batch of ${batch} onto the ${kind} subject was not followed within ${sampleTimeoutSeconds} s: ${error.message}`);
      });
      const cpu1 = await childCpuUs(service.child);
      head = r.last + 1;
      return {
        postMs: r.ms,
        catchUpMs: caughtUp.all - r.sentAt,
        followersMs: Object.fromEntries(Object.entries(caughtUp.reached).map(([n, t]) => [n, Math.round((t - r.sentAt) * 10) / 10])),
        cpuUsPerEvent: (cpu1 - cpu0) / r.count,
      };
    };
    const fresh = () => `fresh-${randomUUID().slice(0, 8)}`;
    // One untimed warm-up of each (JIT of the paths a 100-event batch takes).
    await one('fresh', fresh());
    await one('hot', hotId);
    const summary = (xs) => ({
      postMs: median(xs.map((x) => x.postMs)),
      catchUpMs: median(xs.map((x) => x.catchUpMs)),
      cpuUsPerEvent: median(xs.map((x) => x.cpuUsPerEvent)),
      followersMs: Object.fromEntries(Object.keys(xs[0]?.followersMs ?? {}).map((n) => [n, median(xs.map((x) => x.followersMs[n]))])),
      postMsAll: xs.map((x) => Math.round(x.postMs * 10) / 10),
      catchUpMsAll: xs.map((x) => Math.round(x.catchUpMs * 10) / 10),
    });
    const all = { hot: [], fresh: [] };
    const perRound = [];
    for (let round = 0; round < rounds; round++) {
      const runs = { hot: [], fresh: [] };
      for (let s = 0; s < samples; s++) {
        const order = s % 2 === 0 ? ['hot', 'fresh'] : ['fresh', 'hot'];
        for (const kind of order) runs[kind].push(await one(kind, kind === 'hot' ? hotId : fresh()));
        const h = runs.hot.at(-1);
        const f = runs.fresh.at(-1);
        progress(
          `  round ${round + 1} sample ${s + 1}: hot POST ${h.postMs.toFixed(1)} ms, caught up ${h.catchUpMs.toFixed(1)} ms; fresh POST ${f.postMs.toFixed(1)} ms, caught up ${f.catchUpMs.toFixed(1)} ms`,
        );
      }
      const hot = summary(runs.hot);
      const fr = summary(runs.fresh);
      perRound.push({ hot, fresh: fr, postRatio: hot.postMs / fr.postMs, catchUpRatio: hot.catchUpMs / fr.catchUpMs, cpuRatio: hot.cpuUsPerEvent / fr.cpuUsPerEvent });
      all.hot.push(...runs.hot);
      all.fresh.push(...runs.fresh);
    }
    const hot = summary(all.hot);
    const fr = summary(all.fresh);
    return {
      history: built,
      historyTarget: history,
      batch,
      samples,
      rounds,
      buildSeconds: buildSecondsTaken,
      buildEps: built / buildSecondsTaken,
      buildPostMsFirst: median(buildPosts.slice(0, 10)),
      buildPostMsLast: median(buildPosts.slice(-10)),
      buildCatchUpSeconds: catchUpSeconds,
      hot,
      fresh: fr,
      postRatio: hot.postMs / fr.postMs,
      catchUpRatio: hot.catchUpMs / fr.catchUpMs,
      cpuRatio: hot.cpuUsPerEvent / fr.cpuUsPerEvent,
      perRound,
      probe: probe.mode(),
      service: service.child,
    };
  } catch (error) {
    await stopChild(service.child);
    throw error;
  } finally {
    probe.close();
  }
}

/**
 * Sustained batch load (`connections` callers each POSTing `batch` events, back to back) for
 * warm-up + `seconds` + `tailSeconds`; GET /v1/integrity/checkpoint every `pollMs` records the
 * time each new treeSize is first seen. integrated_eps: growth of the signed tree size over the
 * measured window (the size last seen at its end minus the size last seen at its start). Latency: for every event acknowledged in the window, from its
 * acknowledgement to the first time a checkpoint with treeSize > its globalPosition was seen
 * (the load keeps running for the tail so the checkpoint policy acts as under load; events still
 * not covered `drainSeconds` after the load stopped count as not covered).
 */
export async function integrated({ root, subjects = 1_000_000, seconds = 10, warmupSeconds = 2, tailSeconds = 3, drainSeconds = 10, connections = 4, batch = 1000, pollMs = 20 }) {
  const service = await startService(root);
  const body = uniformBatches(batch, subjects);
  try {
    const seen = []; // { t, treeSize } in order of first sight
    let polling = true;
    let pollErrors = 0;
    const poller = (async () => {
      let next = performance.now();
      while (polling) {
        const r = await request(`${service.base}/v1/integrity/checkpoint`, { headers: service.emitter });
        if (r.status === 200) {
          const size = r.json.treeSize;
          if (!seen.length || size > seen.at(-1).treeSize) seen.push({ t: r.doneAt, treeSize: size, timestamp: r.json.timestamp });
        } else if (r.status !== 404) pollErrors++;
        next += pollMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        else next = performance.now();
      }
    })();
    const t0 = performance.now();
    const windowStart = t0 + warmupSeconds * 1000;
    const windowEnd = windowStart + seconds * 1000;
    const loadEnd = windowEnd + tailSeconds * 1000;
    const acks = []; // { t, first, last } per acknowledged batch
    let failed = 0;
    let cpuStart = null;
    let cpuEnd = null;
    const cpuAt = (async () => {
      await sleep(windowStart - performance.now());
      cpuStart = await childCpuUs(service.child);
      await sleep(windowEnd - performance.now());
      cpuEnd = await childCpuUs(service.child);
    })();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < loadEnd) {
          const r = await request(`${service.base}/v1/events/batch`, { method: 'POST', headers: service.emitter, body: body() });
          if (r.status !== 201) {
            failed++;
            continue;
          }
          let first = Infinity;
          let last = -1;
          for (const receipt of r.json.receipts) {
            if (receipt.globalPosition < first) first = receipt.globalPosition;
            if (receipt.globalPosition > last) last = receipt.globalPosition;
          }
          acks.push({ t: r.doneAt, first, last, count: r.json.receipts.length });
        }
      }),
    );
    await cpuAt;
    const stoppedAt = performance.now();
    const inWindow = acks.filter((a) => a.t >= windowStart && a.t < windowEnd);
    const needed = Math.max(-1, ...inWindow.map((a) => a.last)) + 1;
    while (performance.now() < stoppedAt + drainSeconds * 1000 && (seen.at(-1)?.treeSize ?? 0) < needed) await sleep(pollMs);
    polling = false;
    await poller;

    // Signed tree growth over the window.
    // The signed tree size at time t: the last treeSize seen at or before t.
    const signedAt = (t) => seen.filter((s) => s.t <= t).at(-1)?.treeSize ?? 0;
    const windowIntegrated = signedAt(windowEnd) - signedAt(windowStart);
    const integratedEps = windowIntegrated / seconds;
    const inSeen = seen.filter((s) => s.t >= windowStart && s.t <= windowEnd);
    const ackedEvents = inWindow.reduce((s, a) => s + a.count, 0);
    // Per event: the first checkpoint seen whose treeSize > position.
    const firstCovering = (position) => {
      let lo = 0;
      let hi = seen.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (seen[mid].treeSize > position) hi = mid;
        else lo = mid + 1;
      }
      return lo < seen.length ? seen[lo] : null;
    };
    const latencies = [];
    let uncovered = 0;
    let coveredBeforeAck = 0;
    for (const a of inWindow) {
      // Receipts of one batch are contiguous positions [first, last] (one atomic append).
      for (let p = a.first; p <= a.last; p++) {
        const c = firstCovering(p);
        if (!c) {
          uncovered++;
          continue;
        }
        const ms = c.t - a.t;
        if (ms < 0) coveredBeforeAck++;
        latencies.push(Math.max(0, ms));
      }
    }
    latencies.sort((x, y) => x - y);
    // Uncovered events sort above every covered one: they are in the tail of the distribution.
    const all = latencies.length + uncovered;
    const pct = (p) => {
      const i = Math.min(all - 1, Math.floor((p / 100) * all));
      return i < latencies.length ? latencies[i] : Infinity;
    };
    const gaps = [];
    for (let i = 1; i < inSeen.length; i++) gaps.push(inSeen[i].t - inSeen[i - 1].t);
    const cpuUs = cpuStart !== null && cpuEnd !== null ? cpuEnd - cpuStart : null;
    return {
      seconds,
      connections,
      batch,
      pollMs,
      ackedEps: ackedEvents / seconds,
      integratedEps,
      checkpointsSeen: inSeen.length,
      checkpointGapP50Ms: median(gaps),
      checkpointGapMaxMs: gaps.length ? Math.max(...gaps) : null,
      latencyP50Ms: all ? pct(50) : null,
      latencyP99Ms: all ? pct(99) : null,
      latencyMaxMs: uncovered ? Infinity : (latencies.at(-1) ?? null),
      latencyEvents: all,
      uncovered,
      coveredBeforeAck,
      failedPosts: failed,
      pollErrors,
      // Not yet signed when the window ended: acknowledged head minus the signed tree size.
      backlogAtWindowEnd: Math.max(-1, ...acks.filter((a) => a.t < windowEnd).map((a) => a.last)) + 1 - signedAt(windowEnd),
      // The service's CPU over the window per event acknowledged in it (and per event signed).
      cpuUsPerEvent: cpuUs !== null && ackedEvents > 0 ? cpuUs / ackedEvents : null,
      cpuUsPerSignedEvent: cpuUs !== null && windowIntegrated > 0 ? cpuUs / windowIntegrated : null,
      service: service.child,
    };
  } catch (error) {
    await stopChild(service.child);
    throw error;
  }
}
