import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import { verifyStreamChain } from '../../src/integrity/chain.js';
import type { Receipt } from '../../src/event-store/event-store.port.js';
import { startLedger } from '../support/ledger-app.js';
import { verifyDataDir } from '../support/integrity-cli.js';

const CHILD = join(process.cwd(), 'test/support/append-loop.mjs');
const SERVICE_CHILD = join(process.cwd(), 'test/support/service-append-loop.mjs');

/** Runs an append loop in a child, kills it with SIGKILL once it has acknowledged `after` appends. */
async function appendUntilKilled(target: string, after: number, child_ = CHILD): Promise<Receipt[]> {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [child_, target], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const receipts: Receipt[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not acknowledge ${after} appends in time: ${stderr}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) receipts.push(JSON.parse(line) as Receipt);
      if (receipts.length >= after && child.exitCode === null && !child.killed) {
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited without being killed: ${stderr}`));
    });
  });
  return receipts;
}

describe('durability: an acknowledged append survives kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-crash-'));
  const file = join(dir, 'events.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged receipt and every chain after SIGKILL, twice', async () => {
    if (!existsSync(join(process.cwd(), 'dist/src/event-store/sqlite/sqlite-event-store.js'))) {
      throw new Error('the crash test runs the compiled store: run `npm run build` first (npm test does)');
    }
    const acknowledged = [...(await appendUntilKilled(file, 2000)), ...(await appendUntilKilled(file, 1000))];
    expect(acknowledged.length).toBeGreaterThanOrEqual(3000);

    const store = new SqliteEventStore({ file });
    try {
      for (const receipt of acknowledged) {
        const stored = await store.findByEventId(receipt.eventId);
        expect(stored).not.toBeNull();
        expect({
          streamId: stored!.streamId,
          streamRevision: stored!.streamRevision,
          globalPosition: stored!.globalPosition,
          hash: stored!.hash,
        }).toEqual({ streamId: receipt.streamId, streamRevision: receipt.streamRevision, globalPosition: receipt.globalPosition, hash: receipt.hash });
      }
      const all = await store.readAll();
      expect(all.map((e) => e.globalPosition)).toEqual([...all.keys()]);
      const streams = new Set(all.map((e) => e.streamId));
      for (const streamId of streams) expect(verifyStreamChain(await store.readStream(streamId))).toBeNull();
      // The log keeps accepting appends after the crash, continuing the chains.
      expect(await store.headPosition()).toBe(all.length);
    } finally {
      await store.close();
    }
  }, 120_000);
});

describe('durability with every follower running: kill -9 of the service mid-load', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-crash-service-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps every acknowledged receipt; after restart every follower catches up from its checkpoint and the whole log verifies', async () => {
    if (!existsSync(join(process.cwd(), 'dist/src/http-app.js'))) {
      throw new Error('the crash test runs the compiled service: run `npm run build` first (npm test does)');
    }
    const acknowledged = [...(await appendUntilKilled(dataDir, 600, SERVICE_CHILD)), ...(await appendUntilKilled(dataDir, 300, SERVICE_CHILD))];
    expect(acknowledged.length).toBeGreaterThanOrEqual(900);

    const ledger = await startLedger({ dataDir });
    try {
      // Every follower resumes from its own checkpoint and reaches the head.
      let ready: { status: string; logHead: number; followers: Array<{ name: string; state: string; lag: number }> } | null = null;
      for (let i = 0; i < 200; i++) {
        const res = await ledger.http().get('/health/ready');
        ready = res.body as typeof ready;
        if (res.status === 200 && ready!.followers.every((f) => f.lag === 0)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(ready!.status).toBe('ok');
      expect(ready!.followers.map((f) => [f.name, f.state, f.lag])).toEqual([
        ['projections', 'following', 0],
        ['merkle-log', 'following', 0],
        ['compliance', 'following', 0],
      ]);
      expect(ready!.logHead).toBeGreaterThanOrEqual(Math.max(...acknowledged.map((r) => r.globalPosition)) + 1);

      // Each acknowledged event is in its subject's timeline, with the receipt it was given.
      const bySubject = new Map<string, Receipt[]>();
      for (const r of acknowledged) bySubject.set(r.streamId, [...(bySubject.get(r.streamId) ?? []), r]);
      const [streamId, receipts] = [...bySubject.entries()][0]!;
      const timeline = await ledger.http().get(`/v1/subjects/${streamId.slice('subject-'.length)}/timeline?order=asc&limit=100`).set('authorization', `Bearer ${ledger.adminKey}`);
      expect(timeline.status).toBe(200);
      const entries = new Map((timeline.body as { entries: Array<{ eventId: string; receipt: { hash: string; globalPosition: number } }> }).entries.map((e) => [e.eventId, e.receipt]));
      for (const r of receipts) expect(entries.get(r.eventId)).toEqual(expect.objectContaining({ hash: r.hash, globalPosition: r.globalPosition }));

      // A checkpoint after the restart covers everything, proven consistent with the ones before the kills.
      const signed = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
      expect(signed.status).toBe(201);
      // (the log head then, plus the timeline read, which was recorded as an access)
      expect((signed.body as { treeSize: number }).treeSize).toBe(ready!.logHead + 1);
    } finally {
      await ledger.close();
    }

    // Chains, the Merkle root and every stored checkpoint (some signed just before a kill) verify offline.
    const { status, report } = verifyDataDir(dataDir);
    expect(report.firstBreak).toBeNull();
    expect(status).toBe(0);
    expect(report.checkpointsVerified).toBeGreaterThan(1);
  }, 180_000);
});
