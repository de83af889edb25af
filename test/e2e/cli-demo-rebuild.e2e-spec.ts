import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LEDGER_PROJECTIONS } from '../../projections/index.js';
import { demoStory } from '../../src/cli/demo-story.js';
import { ledgerCli } from '../support/cli.js';

/** Every read-model table, rows in primary-key order: what "identical read models" means. */
function dumpReadModels(dataDir: string): Record<string, unknown[]> {
  const db = new Database(join(dataDir, 'projections.db'), { readonly: true });
  try {
    const dump: Record<string, unknown[]> = {};
    for (const p of LEDGER_PROJECTIONS) {
      for (const table of p.tables) dump[table] = db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all();
    }
    dump['projection_checkpoints'] = db.prepare('SELECT * FROM projection_checkpoints ORDER BY name').all();
    return dump;
  } finally {
    db.close();
  }
}

describe('ledger demo and ledger rebuild', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('seeds the story from the privacy statement and prints a who/when/why timeline', () => {
    const run = ledgerCli(['demo', '--data-dir', dataDir]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`demo story: ${demoStory().length} events recorded, 0 already present`);
    expect(run.stdout).toContain("Who touched cust-1001's data, when, and why");
    expect(run.stdout).toMatch(/agent-17\s+accessed .*\n.*customer_initiated_support \| SUP-1042/);
    expect(run.stdout).toMatch(/legal-desk-2\s+disclosed/);
    // No personal value of the story is printed.
    expect(run.stdout).not.toContain('alice@example.org');
  });

  it('seeding again records nothing new (event ids are the idempotency keys)', () => {
    const run = ledgerCli(['demo', '--data-dir', dataDir]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`0 events recorded, ${demoStory().length} already present`);
  });

  it('rebuilds identical read models from zero', () => {
    const before = dumpReadModels(dataDir);
    expect((before['subject_timeline'] ?? []).length).toBeGreaterThan(30);
    // Damage the read model: a rebuild must recompute it from the log, not keep what is there.
    const db = new Database(join(dataDir, 'projections.db'));
    db.prepare('DELETE FROM subject_timeline WHERE position % 2 = 0').run();
    db.prepare("UPDATE subject_timeline SET purposes = '[]'").run();
    db.close();
    expect(dumpReadModels(dataDir)).not.toEqual(before);
    const run = ledgerCli(['rebuild', '--data-dir', dataDir]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/rebuilt every read model from \d+ events/);
    expect(dumpReadModels(dataDir)).toEqual(before);
  });

  it('verifies the seeded log', () => {
    const run = ledgerCli(['verify', '--data-dir', dataDir]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^intact: \d+ events in \d+ streams/);
  });

  it('exits 2 with a message naming the variable on bad configuration', () => {
    const run = ledgerCli(['rebuild', '--data-dir', dataDir], { LEDGER_EVENT_STORE: 'postgres' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('LEDGER_EVENT_STORE');
  });
});
