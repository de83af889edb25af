import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoStory, type DemoEvent } from '../../src/cli/demo-story.js';
import { ComplianceMonitor, type Violation } from '../../src/compliance/compliance-monitor.js';
import { monitorConfig } from '../../src/compliance/monitor-config.js';
import { addDuration, hoursAfter } from '../../src/compliance/rule.js';
import { readRawLog, SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store.js';
import { addCalendarMonths } from '../../src/ledger/domain/workflow.js';
import { ledgerCli } from '../support/cli.js';
import { TestClock } from '../support/compliance-clock.js';

/*
 * `ledger demo` then `ledger violations`: the monitors judge the demo story (the privacy
 * statement's register, customers, a breach, a child) and list exactly its deliberate
 * violations, each proven by the story's own events. Expected ids, times and evidence are
 * computed from `demoStory()`; positions are read from the log the demo wrote.
 *
 * `ledger violations` judges deadlines by the wall clock, so the rights requests and the
 * 90-day IP retention of the story (due in December 2026) join the list once their dates pass;
 * the expectation below adds them when they have, and the last test judges the same log on a
 * fixed later date to show they do.
 */

type Data = Record<string, unknown>;
const data = (e: DemoEvent) => e['data'] as Data;
const subject = (e: DemoEvent) => e['subjectId'] as string | undefined;
const iso = (t: unknown) => new Date(String(t)).toISOString();

function one(story: readonly DemoEvent[], what: string, match: (e: DemoEvent) => boolean): DemoEvent {
  const found = story.filter(match);
  if (found.length !== 1) throw new Error(`the demo story has ${found.length} events that are ${what}`);
  return found[0]!;
}

interface Expected {
  id: string;
  rule: string;
  scope: 'subject' | 'breach';
  scopeId: string;
  status: 'open' | 'resolved';
  resolution: 'cured' | null;
  openedAt: string;
  resolvedAt: string | null;
  evidence: Array<{ eventId: string; globalPosition: number }>;
  resolvedBy: Array<{ eventId: string; globalPosition: number }>;
}

function summary(v: Violation): Expected {
  return { id: v.id, rule: v.rule, scope: v.scope, scopeId: v.scopeId, status: v.status, resolution: v.resolution as 'cured' | null, openedAt: v.openedAt, resolvedAt: v.resolvedAt, evidence: [...v.evidence], resolvedBy: [...v.resolvedBy] };
}

const byId = (list: Expected[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));

describe('ledger violations after ledger demo', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-cli-violations-'));
  const story = demoStory();
  let positions: Map<string, number>;
  let firstRun: Violation[] = [];
  const proof = (e: DemoEvent) => {
    const globalPosition = positions.get(e.eventId);
    if (globalPosition === undefined) throw new Error(`${e.type} ${e.eventId} is not in the log`);
    return { eventId: e.eventId, globalPosition };
  };

  function violationsJson(args: string[] = []): Violation[] {
    const run = ledgerCli(['violations', '--json', '--data-dir', dataDir, ...args]);
    if (run.status !== 0) throw new Error(`ledger violations exited ${run.status}: ${run.stderr}`);
    return JSON.parse(run.stdout) as Violation[];
  }

  /** What the story deliberately does wrong, with the proving events — and what time has since made overdue. */
  function expected(now: number): Expected[] {
    const open = (rule: string, scopeId: string, key: string, openedAt: string, evidence: DemoEvent[]): Expected => ({
      id: `${rule}:subject:${scopeId}:${key}`,
      rule,
      scope: 'subject',
      scopeId,
      status: 'open',
      resolution: null,
      openedAt,
      resolvedAt: null,
      evidence: evidence.map(proof),
      resolvedBy: [],
    });
    const register = (activityId: string) => one(story, `the registration of ${activityId}`, (e) => e.type === 'ProcessingActivityRegistered' && data(e)['activityId'] === activityId);
    const retention = (activityId: string, category: string) => ((data(register(activityId))['retention'] as Array<{ category: string; period: string }>).find((r) => r.category === category))!.period;

    const cnExport = one(story, "Bob's export to China", (e) => e.type === 'PersonalDataTransferred' && subject(e) === 'cust-1002');
    const bobVideo = one(story, "Bob's camera recording", (e) => e.type === 'PersonalDataCollected' && subject(e) === 'cust-1002' && (data(e)['categories'] as string[]).includes('user.sensor.video'));
    const withdrawal = one(story, "Alice's consent withdrawal", (e) => e.type === 'ConsentWithdrawn' && subject(e) === 'cust-1001');
    const staleCampaign = one(story, 'the campaign after the withdrawal', (e) => e.type === 'PersonalDataAccessed' && subject(e) === 'cust-1001' && data(e)['purpose'] === 'marketing.communications.email' && iso(e['occurredAt']) > iso(withdrawal['occurredAt']));
    const childFlag = one(story, "Carla's age flag", (e) => e.type === 'SubjectAgeFlagged');
    const assessed = one(story, 'the high-risk assessment', (e) => e.type === 'BreachAssessed');
    const notified = one(story, 'the communication to the subjects', (e) => e.type === 'BreachSubjectsNotified');
    const breachId = String(data(assessed)['breachId']);

    const list: Expected[] = [
      open('disclosure-to-unregistered-recipient', 'cust-1002', cnExport.eventId, iso(cnExport['occurredAt']), [cnExport]),
      open('transfer-without-safeguard', 'cust-1002', cnExport.eventId, iso(cnExport['occurredAt']), [cnExport]),
      open('retention-exceeded', 'cust-1002', `${bobVideo.eventId}:user.sensor.video:act-recording`, addDuration(iso(bobVideo['occurredAt']), retention('act-recording', 'user.sensor.video'))!, [bobVideo]),
      open('processing-after-consent-withdrawal', 'cust-1001', staleCampaign.eventId, iso(staleCampaign['occurredAt']), [withdrawal, staleCampaign]),
      open('child-data-not-erased', 'cust-1003', 'child-erasure', hoursAfter(iso(childFlag['occurredAt']), 30 * 24), [childFlag]),
      {
        id: `breach-subjects-not-notified:breach:${breachId}:subject-notice`,
        rule: 'breach-subjects-not-notified',
        scope: 'breach',
        scopeId: breachId,
        status: 'resolved',
        resolution: 'cured',
        openedAt: hoursAfter(iso(assessed['occurredAt']), 72),
        resolvedAt: iso(notified['occurredAt']),
        evidence: [proof(assessed)],
        resolvedBy: [proof(notified)],
      },
    ];

    // Deadlines of the story that lie after its last day: overdue only once the wall clock passes them.
    for (const received of story.filter((e) => e.type === 'SubjectRequestReceived')) {
      const requestId = String(data(received)['requestId']);
      const closed = story.some((e) => (e.type === 'SubjectRequestFulfilled' || e.type === 'SubjectRequestRejected') && data(e)['requestId'] === requestId);
      const due = addCalendarMonths(iso(received['occurredAt']), 1);
      if (!closed && new Date(due).getTime() < now) list.push(open('rights-request-overdue', subject(received)!, requestId, due, [received]));
    }
    const aliceLogin = one(story, "Alice's login data", (e) => e.type === 'PersonalDataCollected' && data(e)['purpose'] === 'essential.service.authentication');
    const ipDue = addDuration(iso(aliceLogin['occurredAt']), retention('act-login', 'user.device.ip_address'))!;
    if (new Date(ipDue).getTime() < now) list.push(open('retention-exceeded', 'cust-1001', `${aliceLogin.eventId}:user.device.ip_address:act-login`, ipDue, [aliceLogin]));
    return list;
  }

  beforeAll(() => {
    const run = ledgerCli(['demo', '--data-dir', dataDir]);
    if (run.status !== 0) throw new Error(`ledger demo exited ${run.status}: ${run.stderr}`);
    positions = new Map();
    for (const entry of readRawLog(join(dataDir, 'events.db'))) {
      const record = JSON.parse(Buffer.from(entry.record).toString('utf8')) as { eventId: string; globalPosition: number };
      positions.set(record.eventId, record.globalPosition);
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("lists exactly the demo's deliberate violations, each with the story events that prove it", () => {
    const before = Date.now();
    const found = violationsJson();
    const after = Date.now();
    firstRun = found;

    // A deadline passing during the run would make the expectation ambiguous; it does not happen in practice.
    expect(byId(expected(before))).toEqual(byId(expected(after)));
    expect(byId(found.map(summary))).toEqual(byId(expected(before)));
    for (const v of found) {
      expect(v.article).not.toBe('');
      expect(v.detail).not.toBe('');
    }
    const detail = (rule: string) => found.find((v) => v.rule === rule)!.detail;
    expect(detail('transfer-without-safeguard')).toContain('CN');
    expect(detail('disclosure-to-unregistered-recipient')).toContain('vendor-telemetry-cn');
    expect(detail('processing-after-consent-withdrawal')).toContain('marketing.communications.email');
    expect(detail('retention-exceeded')).toContain('user.sensor.video');
  });

  it('a second run finds the same violations, stored once (detection time unchanged)', () => {
    const second = violationsJson();
    expect(second).toEqual(firstRun);
    expect(new Set(second.map((v) => v.id)).size).toBe(second.length);
  });

  it('--status filters, and the text listing names rule, article, scope and proving positions', () => {
    const resolved = violationsJson(['--status', 'resolved']);
    const open = firstRun.filter((v) => v.status === 'open');
    expect(resolved.map((v) => [v.rule, v.resolution])).toEqual([['breach-subjects-not-notified', 'cured']]);

    const text = ledgerCli(['violations', '--data-dir', dataDir]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`${open.length + resolved.length} violations (${open.length} open)`);
    const withdrawal = open.find((v) => v.rule === 'processing-after-consent-withdrawal')!;
    expect(text.stdout).toMatch(new RegExp(`open\\s+Art\\. 7\\(3\\)\\s+processing-after-consent-withdrawal\\s+subject cust-1001`));
    expect(text.stdout).toContain(`evidence: ${withdrawal.evidence.map((e) => `#${e.globalPosition}`).join(' ')}`);
    expect(text.stdout).toMatch(/resolved\s+Art\. 34\s+breach-subjects-not-notified\s+breach br-2026-007\n.*resolved 2026-11-01T09:00:00\.000Z \(cured\)/);
  });

  it("judged on 2027-01-15 the same log also shows the story's unanswered requests and Alice's IP address kept past 90 days", async () => {
    const asOf = '2027-01-15T00:00:00.000Z';
    const scratch = mkdtempSync(join(tmpdir(), 'ledger-cli-asof-'));
    const store = new SqliteEventStore({ file: join(dataDir, 'events.db') });
    const monitor = new ComplianceMonitor({ file: join(scratch, 'compliance.db'), store, clock: new TestClock(asOf).now, config: monitorConfig({ childErasureDays: 30, breachSubjectNoticeHours: 72 }), sweepSeconds: 0 });
    try {
      monitor.start();
      await monitor.waitForPosition(await store.headPosition());
      await monitor.sweep();
      const found = monitor.list({ limit: 1000 });

      const later = expected(new Date(asOf).getTime());
      expect(later.filter((v) => v.rule === 'rights-request-overdue').map((v) => v.scopeId).sort()).toEqual(['cust-1001', 'cust-1002']);
      expect(later.filter((v) => v.rule === 'retention-exceeded').map((v) => v.scopeId).sort()).toEqual(['cust-1001', 'cust-1002']);
      expect(byId(found.map(summary))).toEqual(byId(later));
    } finally {
      await monitor.close();
      await store.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('refuses an unknown --status with exit code 2', () => {
    const run = ledgerCli(['violations', '--status', 'closed', '--data-dir', dataDir]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--status');
  });
});
