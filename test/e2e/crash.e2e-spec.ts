import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import { verifyStreamChain } from '../../src/integrity/chain.js';
import type { Receipt } from '../../src/event-store/event-store.port.js';

const CHILD = join(process.cwd(), 'test/support/append-loop.mjs');

/** Runs the append loop in a child, kills it with SIGKILL once it has acknowledged `after` appends. */
async function appendUntilKilled(file: string, after: number): Promise<Receipt[]> {
  const child = spawn(process.execPath, [CHILD, file], { stdio: ['ignore', 'pipe', 'pipe'] });
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
