import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ComplianceMonitor, type Violation } from '../../../src/compliance/compliance-monitor.js';
import type { ComplianceRule } from '../../../src/compliance/rule.js';
import { COMPLIANCE_RULES } from '../../../src/compliance/rules/index.js';
import type { AppendedReceipt } from '../../../src/event-store/event-store.port.js';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import { canonicalDigest } from '../../../src/integrity/chain.js';
import type { ActorRef, LedgerEventDataMap, LedgerEventType, ProcessingActivityRegistered } from '../../../src/ledger/domain/events.js';
import { streamOf } from '../../../src/ledger/domain/streams.js';
import { TestClock } from '../../support/compliance-clock.js';
import { activity, DPO, HOUR_MS, shift, SPEC_CONFIG, SUPPORT_AGENT } from '../../support/compliance-context.js';

/*
 * The monitor over a real SQLite log in a temp folder: it follows the log with its own
 * checkpoint, folds touched scopes' events against the register as it stood at each event and
 * judges them, sweeps deadlines on a clock the test drives, stores each violation once, and
 * resolves it as cured or superseded. Nothing of the store is mocked.
 */

const IMPROVE = 'essential.service.operations.improve';
const AWARE = '2026-03-10T08:00:00.000Z';
const AUTHORITY_DEADLINE = '2026-03-13T08:00:00.000Z';
const SECOPS: ActorRef = { id: 'secops-3', kind: 'employee', system: 'security-console' };
const CN_VENDOR = { id: 'vendor-telemetry-cn', kind: 'processor', country: 'CN' };

interface Recorded {
  readonly eventId: string;
  readonly occurredAt: string;
  readonly receipt: AppendedReceipt;
}

describe('ComplianceMonitor over a real SQLite log', () => {
  let dir: string;
  let store: SqliteEventStore;
  let clock: TestClock;
  let monitor: ComplianceMonitor;
  let opened: Violation[];
  const running: ComplianceMonitor[] = [];

  function openMonitor(rules: readonly ComplianceRule[] = COMPLIANCE_RULES): ComplianceMonitor {
    const m = new ComplianceMonitor({ file: join(dir, 'compliance.db'), store, clock: clock.now, config: SPEC_CONFIG, rules, sweepSeconds: 0, onOpened: (v) => opened.push(v) });
    m.start();
    running.push(m);
    return m;
  }

  async function closeMonitor(m: ComplianceMonitor): Promise<void> {
    running.splice(running.indexOf(m), 1);
    await m.close();
  }

  async function record<T extends LedgerEventType>(type: T, occurredAt: string, data: LedgerEventDataMap[T], subjectId: string | null, actor: ActorRef = SUPPORT_AGENT): Promise<Recorded> {
    const event = { eventId: randomUUID(), type, occurredAt: new Date(occurredAt).toISOString(), subjectId, actor, data, metadata: {} };
    const streamId = streamOf(event as never);
    const [receipt] = await store.append([
      {
        streamId,
        expectedRevision: 'any',
        events: [{ ...event, data: data as unknown as Record<string, unknown>, contentDigest: canonicalDigest({ ...event, piiDigest: null }) }],
      },
    ]);
    return { eventId: event.eventId, occurredAt: event.occurredAt, receipt: receipt! };
  }

  const register = (a: ProcessingActivityRegistered) => record('ProcessingActivityRegistered', '2026-03-01T08:00:00Z', a, null, DPO);
  const evidence = (r: Recorded) => ({ eventId: r.eventId, globalPosition: r.receipt.globalPosition });

  async function caughtUp(m: ComplianceMonitor = monitor): Promise<void> {
    await m.waitForPosition(await store.headPosition(), 5000);
  }

  function transferToChina(subjectId: string, at = '2026-03-18T02:00:00Z') {
    return record(
      'PersonalDataTransferred',
      at,
      { categories: ['user.device.firmware_version'], purpose: IMPROVE, legalBasis: 'legitimate_interests', recipient: CN_VENDOR, destinationCountry: 'CN', mechanism: 'none' },
      subjectId,
      { id: 'analytics-nightly', kind: 'service', system: 'analytics' },
    );
  }

  function breachDetected(breachId: string) {
    return record('BreachDetected', shift(AWARE, HOUR_MS), { breachId, awareAt: AWARE, nature: ['confidentiality'], categories: ['user.contact.email'], approximateSubjects: 40, description: 'exposed export' }, null, SECOPS);
  }

  function reported(breachId: string, at: string) {
    return record('BreachReportedToAuthority', at, { breachId, authority: 'CZ-UOOU', reportRef: `UOOU-${breachId}` }, null, DPO);
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-monitor-'));
    store = new SqliteEventStore({ file: join(dir, 'events.db'), synchronous: 'normal' });
    clock = new TestClock('2026-03-01T00:00:00.000Z');
    opened = [];
    // The analytics export is registered (purpose, category and recipient), so a transfer to it
    // without a safeguard is the only thing wrong with it.
    await register(activity({ activityId: 'act-improve', purpose: IMPROVE, legalBasis: 'legitimate_interests', categories: ['user.device.firmware_version'], recipients: [CN_VENDOR] }));
    monitor = openMonitor();
  });

  afterEach(async () => {
    for (const m of running.splice(0)) await m.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a violation once, with the event that proves it (id and global position), however often the scope is evaluated', async () => {
    clock.set('2026-03-18T03:00:00.000Z');
    const transfer = await transferToChina('cust-9001');
    await caughtUp();

    await monitor.evaluate('subject', 'cust-9001');
    await monitor.evaluate('subject', 'cust-9001');

    const violations = monitor.list({ limit: 100 });
    expect(violations).toEqual([
      {
        id: `transfer-without-safeguard:subject:cust-9001:${transfer.eventId}`,
        rule: 'transfer-without-safeguard',
        article: 'Art. 44-46',
        title: expect.any(String),
        scope: 'subject',
        scopeId: 'cust-9001',
        status: 'open',
        openedAt: '2026-03-18T02:00:00.000Z',
        detectedAt: '2026-03-18T03:00:00.000Z',
        resolvedAt: null,
        evidence: [{ eventId: transfer.eventId, globalPosition: 1 }],
        resolvedBy: [],
        resolution: null,
        detail: expect.stringContaining('CN'),
      },
    ]);
    expect(evidence(transfer)).toEqual({ eventId: transfer.eventId, globalPosition: 1 });
    expect(monitor.get(violations[0]!.id)).toEqual(violations[0]);
    expect(opened.map((v) => v.id)).toEqual([violations[0]!.id]);
  });

  it('opens a deadline violation on sweep() once the clock passes the deadline, with no new event in the log', async () => {
    clock.set(shift(AWARE, 2 * HOUR_MS));
    const detected = await breachDetected('br-sweep');
    await caughtUp();
    expect(monitor.list({ limit: 100 })).toEqual([]);

    clock.set(shift(AUTHORITY_DEADLINE, -60_000));
    expect(await monitor.sweep()).toBe(0);
    expect(monitor.list({ limit: 100 })).toEqual([]);

    const head = await store.headPosition();
    clock.set(shift(AUTHORITY_DEADLINE, 60_000));
    expect(await monitor.sweep()).toBe(1);

    expect(await store.headPosition()).toBe(head);
    expect(monitor.list({ limit: 100 })).toEqual([
      expect.objectContaining({
        id: 'breach-authority-notice-late:breach:br-sweep:authority-notice',
        scope: 'breach',
        scopeId: 'br-sweep',
        status: 'open',
        openedAt: AUTHORITY_DEADLINE,
        detectedAt: shift(AUTHORITY_DEADLINE, 60_000),
        evidence: [evidence(detected)],
      }),
    ]);

    // The deadline is spent: a second sweep finds nothing due and opens nothing new.
    clock.advance(HOUR_MS);
    expect(await monitor.sweep()).toBe(0);
    expect(monitor.list({ limit: 100 })).toHaveLength(1);
    expect(opened).toHaveLength(1);
  });

  it('cures an open violation when the late notice arrives, keeping when it opened and when it was resolved', async () => {
    clock.set(shift(AWARE, 2 * HOUR_MS));
    await breachDetected('br-cured');
    await caughtUp();
    clock.set(shift(AUTHORITY_DEADLINE, 60_000));
    await monitor.sweep();
    const id = 'breach-authority-notice-late:breach:br-cured:authority-notice';
    expect(monitor.get(id)?.status).toBe('open');

    clock.set(shift(AUTHORITY_DEADLINE, 9 * HOUR_MS));
    const late = await reported('br-cured', shift(AUTHORITY_DEADLINE, 8 * HOUR_MS));
    await caughtUp();

    expect(monitor.get(id)).toMatchObject({
      status: 'resolved',
      resolution: 'cured',
      openedAt: AUTHORITY_DEADLINE,
      detectedAt: shift(AUTHORITY_DEADLINE, 60_000),
      resolvedAt: shift(AUTHORITY_DEADLINE, 8 * HOUR_MS),
      resolvedBy: [evidence(late)],
    });
    expect(opened.map((v) => v.id)).toEqual([id]);
  });

  it('supersedes an open violation when a notice sent in time is recorded after it opened', async () => {
    clock.set(shift(AWARE, 2 * HOUR_MS));
    await breachDetected('br-backdated');
    await caughtUp();
    clock.set(shift(AUTHORITY_DEADLINE, 60_000));
    await monitor.sweep();
    const id = 'breach-authority-notice-late:breach:br-backdated:authority-notice';
    expect(monitor.get(id)?.status).toBe('open');

    clock.set(shift(AUTHORITY_DEADLINE, 5 * HOUR_MS));
    await reported('br-backdated', shift(AUTHORITY_DEADLINE, -2 * HOUR_MS));
    await caughtUp();

    expect(monitor.get(id)).toMatchObject({
      status: 'resolved',
      resolution: 'superseded',
      openedAt: AUTHORITY_DEADLINE,
      detectedAt: shift(AUTHORITY_DEADLINE, 60_000),
      resolvedAt: shift(AUTHORITY_DEADLINE, 5 * HOUR_MS),
    });
    // Never reopened by later evaluations.
    await monitor.evaluate('breach', 'br-backdated');
    expect(monitor.get(id)?.status).toBe('resolved');
    expect(opened).toHaveLength(1);
  });

  it('a late violation recorded after the fact opens already resolved (cured), and is announced once', async () => {
    clock.set('2026-04-01T00:00:00.000Z');
    await breachDetected('br-late-story');
    const late = await reported('br-late-story', shift(AUTHORITY_DEADLINE, 30 * HOUR_MS));
    await caughtUp();

    const v = monitor.get('breach-authority-notice-late:breach:br-late-story:authority-notice');
    expect(v).toMatchObject({ status: 'resolved', resolution: 'cured', openedAt: AUTHORITY_DEADLINE, resolvedAt: late.occurredAt, resolvedBy: [evidence(late)] });
    expect(opened.map((o) => o.id)).toEqual([v!.id]);
  });

  it('judges each event against the register as it stood then: a later registration neither clears nor supersedes', async () => {
    clock.set('2026-03-20T00:00:00.000Z');
    const supportRead = { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', legalBasis: 'contract', reasonCode: 'customer_initiated_support', ticketRef: 'SUP-5' };
    const early = await record('PersonalDataAccessed', '2026-03-19T10:00:00Z', supportRead, 'cust-9002');
    await caughtUp();
    await register(activity({ activityId: 'act-support', purpose: 'essential.service.operations.support', categories: ['user.contact.email'] }));
    await record('PersonalDataAccessed', '2026-03-19T11:00:00Z', supportRead, 'cust-9002');
    await caughtUp();

    const violations = monitor.list({ subjectId: 'cust-9002', limit: 100 });
    expect(violations.map((v) => [v.rule, v.status, v.evidence])).toEqual([['purpose-limitation', 'open', [evidence(early)]]]);
  });

  it('sees every registration even when two reads sweep at once (two auditors, or the sweep timer beside the log follower)', async () => {
    // BUG: loadRegister() is not serialised — concurrent callers read the register stream from
    // the same revision and both add the count, so the monitor skips later registrations.
    clock.set('2026-03-20T00:00:00.000Z');
    await register(activity({ activityId: 'act-support', purpose: 'essential.service.operations.support', categories: ['user.contact.email'] }));
    await Promise.all([monitor.sweep(), monitor.sweep()]);
    await caughtUp();

    const HELPDESK = { id: 'helpdesk-saas', kind: 'processor', country: 'IE' };
    await register(activity({ activityId: 'act-support', purpose: 'essential.service.operations.support', categories: ['user.contact.email'], recipients: [HELPDESK] }));
    await record(
      'PersonalDataDisclosed',
      '2026-03-19T11:30:00Z',
      { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', legalBasis: 'contract', recipient: HELPDESK, ticketRef: 'SUP-8' },
      'cust-9010',
    );
    await caughtUp();

    expect(monitor.list({ subjectId: 'cust-9010', limit: 100 }).map((v) => v.rule)).toEqual([]);
  });

  it('resumes from its checkpoint after a restart: nothing re-folded or re-judged, nothing duplicated, only new events judged', async () => {
    clock.set('2026-03-20T00:00:00.000Z');
    await transferToChina('cust-9003');
    await transferToChina('cust-9004');
    await caughtUp();
    const before = monitor.list({ limit: 100 });
    expect(before).toHaveLength(2);
    await closeMonitor(monitor);

    // Written while the monitor is down.
    const whileDown = await transferToChina('cust-9005');

    // Which scopes' events the rules fold, and how many judgements they make: one per subject rule is one scope judged once.
    const folded: string[] = [];
    let judgements = 0;
    const counting = COMPLIANCE_RULES.map(
      (r): ComplianceRule => ({
        ...r,
        evolve: (state, e, register, config) => (folded.push(e.event.subjectId ?? e.event.type), r.evolve(state, e, register, config)),
        judge: (state, now, config) => (judgements++, r.judge(state, now, config)),
      }),
    );
    const subjectRules = COMPLIANCE_RULES.filter((r) => r.scope === 'subject').length;
    const restarted = openMonitor(counting);
    await caughtUp(restarted);

    expect([...new Set(folded)]).toEqual(['cust-9005']);
    expect(judgements).toBe(subjectRules);
    const after = restarted.list({ limit: 100 });
    expect(after.map((v) => v.id).sort()).toEqual([...before.map((v) => v.id), `transfer-without-safeguard:subject:cust-9005:${whileDown.eventId}`].sort());
    expect(after.filter((v) => before.some((b) => b.id === v.id))).toEqual(before);

    // A new event on a subject with an open violation re-evaluates it without a second row or alert.
    folded.length = 0;
    judgements = 0;
    await record('PersonalDataAccessed', '2026-03-19T12:00:00Z', { categories: ['user.unique_id'], purpose: 'essential.service.audit', legalBasis: 'legal_obligation', reasonCode: 'audit' }, 'cust-9003');
    await caughtUp(restarted);
    expect([...new Set(folded)]).toEqual(['cust-9003']);
    expect(judgements).toBe(subjectRules);
    expect(restarted.list({ limit: 100 })).toHaveLength(3);
  });

  it('rebuilds its states by replaying the log when compliance.db has none (written before states were kept): nothing lost, nothing announced twice', async () => {
    clock.set(shift(AWARE, 2 * HOUR_MS));
    await transferToChina('cust-9011', shift(AWARE, HOUR_MS));
    await breachDetected('br-rebuild');
    await caughtUp();
    clock.set(shift(AUTHORITY_DEADLINE, HOUR_MS));
    await monitor.sweep();
    const before = monitor.list({ limit: 100 });
    expect(before.map((v) => v.rule).sort()).toEqual(['breach-authority-notice-late', 'transfer-without-safeguard']);
    await closeMonitor(monitor);
    // The schema of the monitor that re-read whole histories: violations, deadlines and a checkpoint only.
    const old = new Database(join(dir, 'compliance.db'));
    old.exec('DROP TABLE scope_states; DROP TABLE register_activities; DROP TABLE monitor_state; DROP INDEX violations_awaiting; ALTER TABLE violations DROP COLUMN awaiting;');
    old.close();

    const rebuilt = openMonitor();
    await caughtUp(rebuilt);
    expect(rebuilt.list({ limit: 100 })).toEqual(before);
    expect(opened.map((v) => v.id).sort()).toEqual(before.map((v) => v.id).sort());

    // The rebuilt state carries on: the late notice cures the open violation.
    const late = await reported('br-rebuild', shift(AUTHORITY_DEADLINE, 2 * HOUR_MS));
    await caughtUp(rebuilt);
    expect(rebuilt.get('breach-authority-notice-late:breach:br-rebuild:authority-notice')).toMatchObject({ status: 'resolved', resolution: 'cured', resolvedBy: [evidence(late)] });
    expect(rebuilt.scopeState('breach', 'br-rebuild')).not.toBeNull();
  });

  it('calls onOpened exactly once per violation it stores, across follow, evaluate, sweep and restart', async () => {
    clock.set(shift(AWARE, 2 * HOUR_MS));
    await transferToChina('cust-9006', shift(AWARE, HOUR_MS));
    await breachDetected('br-once');
    await caughtUp();
    clock.set(shift(AUTHORITY_DEADLINE, HOUR_MS));
    await monitor.sweep();
    await monitor.sweep();
    await monitor.evaluate('breach', 'br-once');
    await monitor.evaluate('subject', 'cust-9006');
    await closeMonitor(monitor);
    const restarted = openMonitor();
    await caughtUp(restarted);
    await restarted.sweep();

    const ids = restarted.list({ limit: 100 }).map((v) => v.id);
    expect(ids).toHaveLength(2);
    expect(opened.map((v) => v.id).sort()).toEqual([...ids].sort());
  });

  it('lists by status, rule, subject, breach and opening time, with an `after` cursor in (openedAt, id) order', async () => {
    clock.set(shift(AWARE, 2 * HOUR_MS));
    await transferToChina('cust-9007', '2026-03-02T00:00:00Z');
    await transferToChina('cust-9008', '2026-03-03T00:00:00Z');
    await breachDetected('br-list');
    await caughtUp();
    clock.set(shift(AUTHORITY_DEADLINE, HOUR_MS));
    await monitor.sweep();

    expect(monitor.list({ status: 'open', limit: 100 })).toHaveLength(3);
    expect(monitor.list({ status: 'resolved', limit: 100 })).toEqual([]);
    expect(monitor.list({ rule: 'breach-authority-notice-late', limit: 100 }).map((v) => v.scopeId)).toEqual(['br-list']);
    expect(monitor.list({ subjectId: 'cust-9008', limit: 100 }).map((v) => v.scopeId)).toEqual(['cust-9008']);
    expect(monitor.list({ breachId: 'br-list', limit: 100 })).toHaveLength(1);
    expect(monitor.list({ from: '2026-03-03T00:00:00.000Z', to: '2026-03-13T00:00:00.000Z', limit: 100 }).map((v) => v.scopeId)).toEqual(['cust-9008']);

    const first = monitor.list({ limit: 1 });
    const second = monitor.list({ after: first[0]!.id, limit: 1 });
    const third = monitor.list({ after: second[0]!.id, limit: 5 });
    expect([...first, ...second, ...third].map((v) => v.scopeId)).toEqual(['cust-9007', 'cust-9008', 'br-list']);
  });
});
