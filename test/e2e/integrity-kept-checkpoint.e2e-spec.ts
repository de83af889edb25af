import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { accessedBody, startLedger } from '../support/ledger-app.js';
import { copyDataDir, verifyDataDir } from '../support/integrity-cli.js';

/**
 * An auditor who kept a signed checkpoint still detects a cut-off tail when the operator also
 * deleted the data dir's own checkpoint store: `ledger verify --checkpoint FILE`.
 */
describe('ledger verify against a checkpoint the auditor kept', () => {
  it('reports the truncation that the data dir alone no longer shows', async () => {
    const ledger = await startLedger({ env: { LEDGER_CHECKPOINT_EVERY: '1000000', LEDGER_CHECKPOINT_SECONDS: '0' } });
    const emitter = await ledger.key('emitter');
    const auditor = await ledger.key('auditor');
    const events = Array.from({ length: 12 }, (_, i) => accessedBody(`kept-${i % 3}`));
    expect((await ledger.http().post('/v1/events/batch').set('authorization', `Bearer ${emitter}`).send({ events })).status).toBe(201);
    const made = await ledger.http().post('/v1/integrity/checkpoints').set('authorization', `Bearer ${ledger.adminKey}`);
    expect(made.status).toBe(201);
    const kept = (await ledger.http().get('/v1/integrity/checkpoint').set('authorization', `Bearer ${auditor}`)).body as { treeSize: number };
    expect(kept.treeSize).toBe(12);
    await ledger.close();

    const dir = copyDataDir(ledger.dataDir);
    const keptFile = join(dir, '..', `kept-checkpoint-${process.pid}.json`);
    writeFileSync(keptFile, JSON.stringify(kept));
    try {
      for (const f of ['integrity.db', 'integrity.db-wal', 'integrity.db-shm']) rmSync(join(dir, f), { force: true });
      const db = new Database(join(dir, 'events.db'));
      db.prepare('DELETE FROM events WHERE position >= 9').run();
      db.close();

      const alone = verifyDataDir(dir);
      expect(alone.status).toBe(0);
      expect(alone.report.intact).toBe(true);

      const withKept = verifyDataDir(dir, ['--checkpoint', keptFile]);
      expect(withKept.status).toBe(1);
      expect(withKept.report.firstBreak).toMatchObject({ kind: 'truncated', position: 9 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(keptFile, { force: true });
      await ledger.destroy();
    }
  });
});
