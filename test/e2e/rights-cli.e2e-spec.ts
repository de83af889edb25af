import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countEvents } from '../../src/event-store/sqlite/sqlite-event-store.js';
import type { PortabilityExport } from '../../src/ledger/queries/subject-data/portability.js';
import { ledgerCli } from '../support/cli.js';
import { startLedger } from '../support/ledger-app.js';
import { filesContaining } from '../support/ledger-http.js';
import { parseCsv, timelineOf } from '../support/rights-http.js';

/*
 * `ledger shred SUBJECT` and `ledger export SUBJECT --format json|csv` as an operator runs
 * them: the compiled CLI in its own process, on a data dir seeded by `ledger demo`, where
 * cust-1001 (Alice) and cust-1002 (Bob) gave their name and e-mail address when signing up.
 * Exit codes: 0 done, 1 failed (e.g. already shredded), 2 usage.
 */

const HEADER = ['eventId', 'providedAt', 'categories', 'field', 'value', 'status'];
const ALICE = { name: 'Alice Example', email: 'alice@example.org' };
const BOB_EMAIL = 'bob@example.net';

function exportJson(dataDir: string, subjectId: string): PortabilityExport {
  const run = ledgerCli(['export', subjectId, '--format', 'json', '--data-dir', dataDir]);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return JSON.parse(run.stdout) as PortabilityExport;
}

function exportCsv(dataDir: string, subjectId: string): string[][] {
  const run = ledgerCli(['export', subjectId, '--format', 'csv', '--data-dir', dataDir]);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return parseCsv(run.stdout);
}

describe('ledger shred and ledger export on a demo data dir', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-rights-cli-'));
  const log = join(dataDir, 'events.db');
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  beforeAll(() => {
    const run = ledgerCli(['demo', '--data-dir', dataDir]);
    if (run.status !== 0) throw new Error(`ledger demo failed: ${run.stderr}`);
  }, 60_000);

  it('export --format json: what the subject provided, with the values, readable', () => {
    const data = exportJson(dataDir, 'cust-1001');
    expect(data).toMatchObject({ subjectId: 'cust-1001', format: 'privacy-ledger-portability/1' });
    expect(data.records.length).toBeGreaterThan(0);
    expect(data.records.every((r) => r.status === 'readable' && r.values !== null)).toBe(true);
    expect(data.records).toContainEqual(expect.objectContaining({ values: ALICE, categories: expect.arrayContaining(['user.name', 'user.contact.email']) as string[] }));
  }, 60_000);

  it('export --format csv: a header and one row per provided value', () => {
    const data = exportJson(dataDir, 'cust-1001');
    const rows = exportCsv(dataDir, 'cust-1001');
    expect(rows[0]).toEqual(HEADER);
    const expected = data.records.flatMap((r) => Object.entries(r.values ?? {}).map(([field, value]) => [r.eventId, r.providedAt, r.categories.join(' '), field, value, 'readable']));
    expect(rows.slice(1).sort()).toEqual(expected.sort());
    expect(rows.slice(1)).toContainEqual(expect.arrayContaining(['email', ALICE.email]));
  }, 60_000);

  it('shred: exit 0 and a message naming the subject and the position of SubjectKeyShredded', () => {
    const before = countEvents(log);
    const run = ledgerCli(['shred', 'cust-1002', '--data-dir', dataDir]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^shredded the key of cust-1002; SubjectKeyShredded recorded at position ${before}\\n$`));
    expect(countEvents(log)).toBe(before + 1);
  }, 60_000);

  it('shred again: exit 1 with a message that the key is already shredded; nothing recorded', () => {
    const before = countEvents(log);
    const run = ledgerCli(['shred', 'cust-1002', '--data-dir', dataDir]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ledger: .*already shredded/);
    expect(run.stdout).toBe('');
    expect(countEvents(log)).toBe(before);
  }, 60_000);

  it("after shredding: the export shows the subject's records as erased, without values, in JSON and CSV", () => {
    const data = exportJson(dataDir, 'cust-1002');
    expect(data.records.length).toBeGreaterThan(0);
    expect(data.records.map((r) => [r.status, r.values])).toEqual(data.records.map(() => ['erased', null]));
    const rows = exportCsv(dataDir, 'cust-1002');
    expect(rows[0]).toEqual(HEADER);
    expect(rows.slice(1)).toEqual(data.records.map((r) => [r.eventId, r.providedAt, r.categories.join(' '), '', '', 'erased']));
    expect(JSON.stringify(data) + JSON.stringify(rows)).not.toContain(BOB_EMAIL);
  }, 60_000);

  it('after shredding: no file of the data dir holds the shredded values; the other subject is still readable', () => {
    expect(filesContaining(dataDir, BOB_EMAIL)).toEqual([]);
    expect(filesContaining(dataDir, 'Bob Sample')).toEqual([]);
    expect(exportJson(dataDir, 'cust-1001').records).toContainEqual(expect.objectContaining({ status: 'readable', values: ALICE }));
  }, 60_000);

  it('after shredding: ledger verify exits 0 (intact)', () => {
    const run = ledgerCli(['verify', '--data-dir', dataDir]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^intact: /);
  }, 60_000);

  it.each([
    ['export without a subject', ['export'], /subject/],
    ['export with an unknown format', ['export', 'cust-1001', '--format', 'xml'], /usage: ledger export SUBJECT \[--format json\|csv\]/],
    ['export of an e-mail address instead of a subject id', ['export', 'alice@example.org'], /usage: ledger export/],
    ['shred without a subject', ['shred'], /subject/],
    ['shred of an e-mail address instead of a subject id', ['shred', BOB_EMAIL], /pseudonymous subject id/],
    ['shred with an unknown option', ['shred', 'cust-1001', '--force'], /unknown option/],
  ])('bad usage → exit 2 with a message, nothing recorded: %s', (_case, args, message) => {
    const before = countEvents(log);
    const run = ledgerCli([...args, '--data-dir', dataDir]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(countEvents(log)).toBe(before);
  }, 60_000);

  it('the CLI reads and the shredding are on the subjects\' timelines, by ledger-cli; the shredded values show as erased', async () => {
    const ledger = await startLedger({ dataDir });
    try {
      const auditor = await ledger.key('auditor');
      const alice = await timelineOf(ledger, auditor, 'cust-1001');
      const exports = alice.filter((e) => e.type === 'PersonalDataAccessed' && e.who.actorId === 'ledger-cli' && e.why.justification === 'Art. 20 portability export (ledger export)');
      expect(exports.length).toBeGreaterThanOrEqual(3);
      expect(exports[0]!.why).toMatchObject({ purposes: ['essential.legal_obligation.data_subject_request'], reasonCode: 'subject_request_fulfilment' });
      expect(alice.filter((e) => e.personalValues === 'erased')).toEqual([]);

      const bob = await timelineOf(ledger, auditor, 'cust-1002');
      expect(bob.filter((e) => e.type === 'SubjectKeyShredded').map((e) => [e.who.actorId, e.what.action])).toEqual([['ledger-cli', 'key_shredded']]);
      const withValues = bob.filter((e) => e.personalValues !== 'none');
      expect(withValues.length).toBeGreaterThan(0);
      expect(withValues.every((e) => e.personalValues === 'erased')).toBe(true);
    } finally {
      await ledger.close();
    }
  }, 60_000);
});
