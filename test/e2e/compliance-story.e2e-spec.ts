import { randomUUID } from 'node:crypto';
import type { Violation } from '../../src/compliance/compliance-monitor.js';
import type { ActorRef, LedgerEventType } from '../../src/ledger/domain/events.js';
import { addCalendarMonths } from '../../src/ledger/domain/workflow.js';
import type { BreachView, ProcessingActivityView, RecipientView } from '../../src/ledger/queries/registers/registers.queries.js';
import type { TimelineEntry } from '../../src/ledger/queries/subject-timeline/subject-timeline.query.js';
import { allViolations, getAs, startComplianceLedger, violationId, type ComplianceLedger } from '../support/compliance-app.js';
import type { EventBody } from '../support/example-events.js';
import { actorIdOfKey, appendBatch, appendEvent, errorsOf, timelinePage, type ReceiptBody } from '../support/ledger-http.js';

/*
 * A story from the privacy statement told through the HTTP API on a clock the test drives:
 * the Art. 30 register, customers with cameras and recordings, support staff with tickets,
 * processors, transfers, a consent withdrawn, a breach, a child's account and a rights request.
 * An auditor checks that exactly the expected violations are open, each with the events that
 * prove it; that deadlines open violations when the clock passes them and late facts cure
 * them; and that the registers they work from answer correctly — and record every read.
 */

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Midnight UTC 40 days ago: the story's first day, so every event lies in the real past. */
const T0 = Math.floor((Date.now() - 40 * DAY_MS) / DAY_MS) * DAY_MS;
/** The story's day `day` at `time` (UTC), in the ledger's stored form. */
const at = (day: number, time = '09:00'): string => {
  const [h, m] = time.split(':').map(Number) as [number, number];
  return new Date(T0 + day * DAY_MS + h * HOUR_MS + m * 60_000).toISOString();
};

const APP: ActorRef = { id: 'neo-app-backend', kind: 'service', system: 'neo-app' };
const DEVICE_CLOUD: ActorRef = { id: 'device-cloud', kind: 'service', system: 'neo-device-cloud' };
const MAILER: ActorRef = { id: 'campaign-mailer', kind: 'service', system: 'marketing' };
const ANALYTICS: ActorRef = { id: 'analytics-nightly', kind: 'service', system: 'analytics' };
const AGENT: ActorRef = { id: 'agent-21', kind: 'employee', system: 'support-console' };
const SECOPS: ActorRef = { id: 'secops-3', kind: 'employee', system: 'security-console' };
const DPO: ActorRef = { id: 'dpo-office', kind: 'dpo', system: 'privacy-office' };

const CLOUD_HOSTING = { id: 'proc-cloud-hosting-us', kind: 'processor', country: 'US' };
const VIDEO_AI = { id: 'proc-video-ai', kind: 'processor', country: 'SG' };
const PUSH = { id: 'proc-push-notifications', kind: 'processor', country: 'IE' };
const HELPDESK = { id: 'helpdesk-saas', kind: 'processor', country: 'IE' };

const SUPPORT = 'essential.service.operations.support';
const EMAIL_MARKETING = 'marketing.communications.email';

const ANNA = 'cust-2001';
const BEN = 'cust-2002';
const CLEO = 'cust-2003';
const DORA = 'cust-2004';
const EVE = 'cust-2005';
const BREACH = 'br-e2e-1';
const REQUEST = 'req-e2e-2004';

/** When the controller became aware of the breach, and the 72-hour deadline of Art. 33(1). */
const AWARE = at(20, '10:00');
const AUTHORITY_DEADLINE = at(23, '10:00');
/** Cleo was flagged under 16 on day 8; LEDGER_CHILD_ERASURE_DAYS is 30. */
const CHILD_DEADLINE = at(38, '09:00');

function body(type: LedgerEventType, occurredAt: string, subjectId: string | null, actor: ActorRef, data: Record<string, unknown>, pii?: Record<string, string>): EventBody {
  return { eventId: randomUUID(), type, occurredAt, ...(subjectId ? { subjectId } : {}), actor, data, ...(pii ? { pii } : {}) };
}

function activity(activityId: string, purpose: string, legalBasis: string, categories: string[], extra: { recipients?: object[]; transfers?: object[]; retention?: Array<[string, string]> } = {}) {
  return body('ProcessingActivityRegistered', at(0, '08:00'), null, DPO, {
    activityId,
    name: `${activityId} (privacy statement)`,
    purpose,
    legalBasis,
    categories,
    dataSubjects: ['customer'],
    recipients: extra.recipients ?? [],
    transfers: extra.transfers ?? [],
    retention: (extra.retention ?? []).map(([category, period]) => ({ category, period })),
  });
}

const MARKETING_READ = { actor: MAILER, data: { categories: ['user.contact.email', 'user.name'], purpose: EMAIL_MARKETING, legalBasis: 'consent', reasonCode: 'marketing_campaign', processingActivityId: 'act-marketing' } };

const supportRead = (subjectId: string, occurredAt: string, ticketRef: string, categories: string[], processingActivityId = 'act-support') =>
  body('PersonalDataAccessed', occurredAt, subjectId, AGENT, { categories, purpose: SUPPORT, legalBasis: 'contract', reasonCode: 'customer_initiated_support', ticketRef, processingActivityId });

/** The story until the day after the breach (clock: day 21, 12:00). Labels name the events in the assertions. */
function storyUntilDay21(): Array<[string, EventBody]> {
  return [
    // ── the Art. 30 register ─────────────────────────────────────────────────
    ['reg-account', activity('act-account', 'essential.service.account_creation', 'contract', ['user.name', 'user.contact.email', 'user.contact.phone_number'], {
      recipients: [CLOUD_HOSTING], transfers: [{ country: 'US', mechanism: 'standard_contractual_clauses' }], retention: [['user.contact.email', 'until_account_termination']],
    })],
    ['reg-devices', activity('act-devices', 'essential.service.operations.diagnostics', 'contract', ['user.device'])],
    ['reg-recording', activity('act-recording', 'essential.service.recording', 'contract', ['user.sensor.video', 'user.sensor.audio'], {
      recipients: [CLOUD_HOSTING, VIDEO_AI],
      transfers: [{ country: 'US', mechanism: 'standard_contractual_clauses' }, { country: 'SG', mechanism: 'adequacy_decision' }],
      retention: [['user.sensor.video', 'P30D']],
    })],
    ['reg-alerts', activity('act-alerts', 'essential.service.notifications', 'contract', ['user.sensor.still_image'], { recipients: [PUSH] })],
    ['reg-support', activity('act-support', SUPPORT, 'contract', ['user.contact.email', 'user.device.serial_number', 'user.content.customer_service_record'], { retention: [['user.content.customer_service_record', 'P2Y']] })],
    ['reg-support-video', activity('act-support-video', SUPPORT, 'contract', ['user.sensor.video'])],
    ['reg-marketing', activity('act-marketing', EMAIL_MARKETING, 'consent', ['user.contact.email', 'user.name'])],

    // ── Anna: an account, a camera, recordings kept 30 days, consent given and withdrawn ──
    ['a-account', body('PersonalDataCollected', at(1, '09:00'), ANNA, APP, { categories: ['user.name', 'user.contact.email'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' }, { email: 'anna@example.org' })],
    ['a-camera', body('PersonalDataCollected', at(1, '09:10'), ANNA, DEVICE_CLOUD, { categories: ['user.device.serial_number', 'user.device.mac_address'], purpose: 'essential.service.operations.diagnostics', legalBasis: 'contract', source: 'device', deviceId: 'cam-2001', processingActivityId: 'act-devices' })],
    ['a-video', body('PersonalDataCollected', at(2, '18:00'), ANNA, DEVICE_CLOUD, { categories: ['user.sensor.video'], purpose: 'essential.service.recording', legalBasis: 'contract', source: 'device', deviceId: 'cam-2001', processingActivityId: 'act-recording' })],
    ['a-transfer-us', body('PersonalDataTransferred', at(2, '18:01'), ANNA, DEVICE_CLOUD, { categories: ['user.sensor.video'], purpose: 'essential.service.recording', legalBasis: 'contract', recipient: CLOUD_HOSTING, destinationCountry: 'US', mechanism: 'standard_contractual_clauses', processingActivityId: 'act-recording' })],
    ['a-push', body('PersonalDataDisclosed', at(2, '18:02'), ANNA, DEVICE_CLOUD, { categories: ['user.sensor.still_image'], purpose: 'essential.service.notifications', legalBasis: 'contract', recipient: PUSH, processingActivityId: 'act-alerts' })],
    ['a-consent', body('ConsentGranted', at(3, '09:00'), ANNA, APP, { purposes: [EMAIL_MARKETING], method: 'in_app' })],
    ['a-campaign', body('PersonalDataAccessed', at(4, '07:00'), ANNA, MARKETING_READ.actor, MARKETING_READ.data)],
    ['a-support', supportRead(ANNA, at(5, '14:20'), 'SUP-3001', ['user.contact.email', 'user.device.serial_number'])],
    // Viewing the clip the customer asked about: lawful (act-support-video), though tagged with act-support.
    ['a-support-video', supportRead(ANNA, at(5, '14:25'), 'SUP-3001', ['user.sensor.video'])],
    ['a-withdrawn', body('ConsentWithdrawn', at(10, '09:00'), ANNA, APP, { purposes: [EMAIL_MARKETING] })],
    ['a-stale-campaign', body('PersonalDataAccessed', at(12, '07:00'), ANNA, MARKETING_READ.actor, MARKETING_READ.data)],

    // ── Ben: support, a helpdesk vendor nobody registered, a transfer on a false adequacy claim, reuse for analytics ──
    ['b-account', body('PersonalDataCollected', at(1, '10:00'), BEN, APP, { categories: ['user.name', 'user.contact.email', 'user.contact.phone_number'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' })],
    ['b-support', supportRead(BEN, at(6, '11:00'), 'SUP-3002', ['user.contact.email'])],
    ['b-helpdesk', body('PersonalDataDisclosed', at(6, '11:30'), BEN, AGENT, { categories: ['user.contact.email'], purpose: SUPPORT, legalBasis: 'contract', recipient: HELPDESK, reasonCode: 'customer_initiated_support', ticketRef: 'SUP-3002', processingActivityId: 'act-support' })],
    ['b-transfer-sg', body('PersonalDataTransferred', at(7, '02:00'), BEN, DEVICE_CLOUD, { categories: ['user.sensor.video'], purpose: 'essential.service.recording', legalBasis: 'contract', recipient: VIDEO_AI, destinationCountry: 'SG', mechanism: 'adequacy_decision', processingActivityId: 'act-recording' })],
    ['b-analytics', body('PersonalDataAccessed', at(8, '02:00'), BEN, ANALYTICS, { categories: ['user.sensor.video'], purpose: 'essential.service.operations.improve', legalBasis: 'legitimate_interests', reasonCode: 'analytics_job', processingActivityId: 'act-improve' })],
    // Registered only after the analytics job ran: it does not make that run lawful.
    ['reg-improve', { ...activity('act-improve', 'essential.service.operations.improve', 'legitimate_interests', ['user.sensor.video', 'user.device.firmware_version']), occurredAt: at(9, '08:00') }],

    // ── Cleo: a child's account, flagged under 16 ───────────────────────────────
    ['c-account', body('PersonalDataCollected', at(7, '12:00'), CLEO, APP, { categories: ['user.contact.email'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' })],
    ['c-flagged', body('SubjectAgeFlagged', at(8, '09:00'), CLEO, AGENT, { minimumAge: 16, evidence: 'parent_report' })],

    // ── Dora: an access request (Art. 15) ─────────────────────────────────────
    ['d-account', body('PersonalDataCollected', at(3, '10:00'), DORA, APP, { categories: ['user.contact.email'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' })],
    ['d-request', body('SubjectRequestReceived', at(3, '10:05'), DORA, DPO, { requestId: REQUEST, right: 'access', channel: 'email' })],
    ['d-support', supportRead(DORA, at(3, '11:00'), 'SUP-3004', ['user.contact.email'])],
    ['d-verified', body('SubjectRequestIdentityVerified', at(4, '10:00'), DORA, DPO, { requestId: REQUEST, method: 'email_confirmation' })],

    // ── Eve: nothing wrong ───────────────────────────────────────────────────────
    ['e-account', body('PersonalDataCollected', at(5, '10:00'), EVE, APP, { categories: ['user.contact.email'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' })],

    // ── a breach: contact data exposed; subjects told in time, the authority not yet ──
    ['br-detected', body('BreachDetected', at(20, '11:00'), null, SECOPS, { breachId: BREACH, awareAt: AWARE, nature: ['confidentiality'], categories: ['user.contact.email'], approximateSubjects: 2, description: 'support export readable from a misconfigured bucket' })],
    ['br-assessed', body('BreachAssessed', at(20, '12:00'), null, DPO, { breachId: BREACH, risk: 'high_risk', rationale: 'contact data usable for phishing of device owners' })],
    ['a-affected', body('SubjectAffectedByBreach', at(20, '16:00'), ANNA, SECOPS, { breachId: BREACH, categories: ['user.contact.email'] })],
    ['b-affected', body('SubjectAffectedByBreach', at(20, '16:00'), BEN, SECOPS, { breachId: BREACH, categories: ['user.contact.email'] })],
    ['br-subjects-told', body('BreachSubjectsNotified', at(21, '09:00'), null, DPO, { breachId: BREACH, channel: 'email', subjectsNotified: 2 })],
  ];
}

/** What an auditor compares: which rule, about whom, opened when, proven by which events, in what state. */
function summary(v: Violation) {
  return { id: v.id, rule: v.rule, scope: v.scope, scopeId: v.scopeId, status: v.status, resolution: v.resolution, openedAt: v.openedAt, resolvedAt: v.resolvedAt, evidence: v.evidence, resolvedBy: v.resolvedBy };
}

function byId<T extends { id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.id.localeCompare(b.id));
}

describe('compliance monitors through the HTTP API: the privacy statement story on a driven clock', () => {
  let ledger: ComplianceLedger;
  let emitter: string;
  let auditor: string;
  const receipts = new Map<string, ReceiptBody & { occurredAt: string }>();

  const proof = (label: string) => {
    const r = receipts.get(label);
    if (!r) throw new Error(`no event labelled ${label}`);
    return { eventId: r.eventId, globalPosition: r.globalPosition };
  };
  const occurredAt = (label: string) => receipts.get(label)!.occurredAt;

  async function post(label: string, event: EventBody): Promise<void> {
    const res = await appendEvent(ledger, emitter, event);
    if (res.status !== 201) throw new Error(`${label} (${event.type}) was refused: ${res.status} ${res.text}`);
    receipts.set(label, { ...(res.body as ReceiptBody), occurredAt: new Date(event.occurredAt).toISOString() });
  }

  /** The deliberate violations of days 1-12: open from the start, never cured in this story. */
  function alwaysOpen() {
    const open = (rule: string, scopeId: string, key: string, openedAt: string, evidence: Array<{ eventId: string; globalPosition: number }>) => ({
      id: violationId(rule, 'subject', scopeId, key),
      rule,
      scope: 'subject',
      scopeId,
      status: 'open',
      resolution: null,
      openedAt,
      resolvedAt: null,
      evidence,
      resolvedBy: [],
    });
    return [
      open('processing-after-consent-withdrawal', ANNA, proof('a-stale-campaign').eventId, occurredAt('a-stale-campaign'), [proof('a-withdrawn'), proof('a-stale-campaign')]),
      open('disclosure-to-unregistered-recipient', BEN, proof('b-helpdesk').eventId, occurredAt('b-helpdesk'), [proof('b-helpdesk')]),
      open('transfer-without-safeguard', BEN, proof('b-transfer-sg').eventId, occurredAt('b-transfer-sg'), [proof('b-transfer-sg')]),
      open('purpose-limitation', BEN, proof('b-analytics').eventId, occurredAt('b-analytics'), [proof('b-analytics')]),
    ];
  }

  async function breachView(): Promise<BreachView & { violations: Violation[] }> {
    return (await getAs(ledger, auditor, `/v1/breaches/${BREACH}`)).body as BreachView & { violations: Violation[] };
  }

  /** Reads of `subjectId` the ledger recorded for the holder of `key`, with that justification. */
  async function readsRecorded(subjectId: string, key: string, justification: string): Promise<TimelineEntry[]> {
    const checker = await ledger.key('auditor');
    const page = await timelinePage(ledger, checker, subjectId, { actor: actorIdOfKey(key), limit: '500', order: 'asc' });
    return page.entries.filter((e) => e.type === 'PersonalDataAccessed' && e.why.justification === justification && e.why.purposes.includes('essential.service.audit'));
  }

  beforeAll(async () => {
    ledger = await startComplianceLedger();
    [emitter, auditor] = await Promise.all([ledger.key('emitter'), ledger.key('auditor')]);
    ledger.clock.set(at(21, '12:00'));
    for (const [label, event] of storyUntilDay21()) await post(label, event);
  });
  afterAll(async () => ledger.destroy());

  describe('violations, deadlines and cures, in the order an auditor meets them', () => {
    it('day 21: exactly the four deliberate violations are open, each with the events that prove it, and none else', async () => {
      const all = await allViolations(ledger, auditor);

      expect(byId(all.map(summary))).toEqual(byId(alwaysOpen()));
      const details = Object.fromEntries(all.map((v) => [v.rule, v.detail]));
      expect(details['processing-after-consent-withdrawal']).toContain(EMAIL_MARKETING);
      expect(details['disclosure-to-unregistered-recipient']).toContain('helpdesk-saas');
      expect(details['transfer-without-safeguard']).toContain('SG');
      expect(details['purpose-limitation']).toContain('essential.service.operations.improve');
    });

    it('day 21: the breach register runs the 72-hour clock — pending, with the subjects told in time', async () => {
      const view = await breachView();

      expect(view).toMatchObject({
        breachId: BREACH,
        awareAt: AWARE,
        risk: 'high_risk',
        affectedSubjects: 2,
        authorityClock: { deadline: AUTHORITY_DEADLINE, status: 'pending' },
        notices: [{ to: 'subjects', at: occurredAt('br-subjects-told'), hoursAfterAwareness: 23, eventId: proof('br-subjects-told').eventId }],
        closed: null,
        violations: [],
      });
      expect(view.authorityClock.hoursLeft).toBeCloseTo(46, 0);
    });

    it('72 hours after awareness the next GET /v1/violations opens breach-authority-notice-late, at the deadline, with no new event', async () => {
      ledger.clock.set(new Date(new Date(AUTHORITY_DEADLINE).getTime() + 60_000));

      const open = await allViolations(ledger, auditor, { status: 'open' });

      const late = open.find((v) => v.rule === 'breach-authority-notice-late');
      expect(summary(late!)).toEqual({
        id: violationId('breach-authority-notice-late', 'breach', BREACH, 'authority-notice'),
        rule: 'breach-authority-notice-late',
        scope: 'breach',
        scopeId: BREACH,
        status: 'open',
        resolution: null,
        openedAt: AUTHORITY_DEADLINE,
        resolvedAt: null,
        evidence: [proof('br-detected')],
        resolvedBy: [],
      });
      expect(open).toHaveLength(5);
      const view = await breachView();
      expect(view.authorityClock).toEqual({ deadline: AUTHORITY_DEADLINE, status: 'overdue', hoursLeft: null });
      expect(view.violations.map((v) => v.id)).toEqual([late!.id]);
    });

    it('the late notice to the authority resolves it: cured, opened at the deadline, resolved at the notice', async () => {
      ledger.clock.set(at(24, '10:00'));
      await post('br-authority-late', body('BreachReportedToAuthority', at(24, '09:00'), null, DPO, { breachId: BREACH, authority: 'CZ-UOOU', reportRef: 'UOOU-2026-0077', delayReason: 'forensics needed to scope the affected accounts' }));

      const res = await getAs(ledger, auditor, `/v1/violations/${encodeURIComponent(violationId('breach-authority-notice-late', 'breach', BREACH, 'authority-notice'))}`);

      expect(res.body).toMatchObject({
        status: 'resolved',
        resolution: 'cured',
        openedAt: AUTHORITY_DEADLINE,
        resolvedAt: at(24, '09:00'),
        resolvedBy: [proof('br-authority-late')],
        evidence: [proof('br-detected')],
        deliveries: [],
      });
      const view = await breachView();
      expect(view.authorityClock).toEqual({ deadline: AUTHORITY_DEADLINE, status: 'notified_late', hoursLeft: null });
      expect(view.notices).toEqual([
        { to: 'subjects', at: occurredAt('br-subjects-told'), hoursAfterAwareness: 23, details: { channel: 'email', subjectsNotified: 2 }, eventId: proof('br-subjects-told').eventId },
        { to: 'authority', at: at(24, '09:00'), hoursAfterAwareness: 95, details: { authority: 'CZ-UOOU', reportRef: 'UOOU-2026-0077', delayReason: 'forensics needed to scope the affected accounts' }, eventId: proof('br-authority-late').eventId },
      ]);
      expect(byId((await allViolations(ledger, auditor, { status: 'open' })).map(summary))).toEqual(byId(alwaysOpen()));
    });

    it("day 31: Anna's recording erased within its 30 days — no retention violation (near miss)", async () => {
      ledger.clock.set(at(31, '10:00'));
      await post('a-video-erased', body('PersonalDataErased', at(31, '09:00'), ANNA, DEVICE_CLOUD, { categories: ['user.sensor.video'], reason: 'retention_expired' }));
      ledger.clock.set(at(33, '12:00'));

      const all = await allViolations(ledger, auditor, { subjectId: ANNA });
      expect(all.map((v) => v.rule)).toEqual(['processing-after-consent-withdrawal']);
    });

    it("day 39: the access request past its month and the child's data past 30 days open, each at its deadline", async () => {
      ledger.clock.set(at(39, '12:00'));
      const requestDue = addCalendarMonths(occurredAt('d-request'), 1);

      const open = await allViolations(ledger, auditor, { status: 'open' });

      expect(byId(open.map(summary))).toEqual(
        byId([
          ...alwaysOpen(),
          { id: violationId('rights-request-overdue', 'subject', DORA, REQUEST), rule: 'rights-request-overdue', scope: 'subject', scopeId: DORA, status: 'open', resolution: null, openedAt: requestDue, resolvedAt: null, evidence: [proof('d-request')], resolvedBy: [] },
          { id: violationId('child-data-not-erased', 'subject', CLEO, 'child-erasure'), rule: 'child-data-not-erased', scope: 'subject', scopeId: CLEO, status: 'open', resolution: null, openedAt: CHILD_DEADLINE, resolvedAt: null, evidence: [proof('c-flagged')], resolvedBy: [] },
        ]),
      );
    });

    it("the late answer and the late erasure cure them; in the end exactly four are open and three resolved", async () => {
      await post('d-fulfilled', body('SubjectRequestFulfilled', at(36, '10:00'), DORA, DPO, { requestId: REQUEST, outcome: 'access package delivered' }));
      await post('c-erased', body('PersonalDataErased', at(39, '06:00'), CLEO, APP, { categories: ['user'], reason: 'child_data' }));

      const resolved = await allViolations(ledger, auditor, { status: 'resolved' });

      const cured = (rule: string, scope: 'subject' | 'breach', scopeId: string, key: string, openedAt: string, evidence: string, by: string) => ({
        id: violationId(rule, scope, scopeId, key),
        rule,
        scope,
        scopeId,
        status: 'resolved',
        resolution: 'cured',
        openedAt,
        resolvedAt: occurredAt(by),
        evidence: [proof(evidence)],
        resolvedBy: [proof(by)],
      });
      expect(byId(resolved.map(summary))).toEqual(
        byId([
          cured('breach-authority-notice-late', 'breach', BREACH, 'authority-notice', AUTHORITY_DEADLINE, 'br-detected', 'br-authority-late'),
          cured('rights-request-overdue', 'subject', DORA, REQUEST, addCalendarMonths(occurredAt('d-request'), 1), 'd-request', 'd-fulfilled'),
          cured('child-data-not-erased', 'subject', CLEO, 'child-erasure', CHILD_DEADLINE, 'c-flagged', 'c-erased'),
        ]),
      );
      expect(byId((await allViolations(ledger, auditor, { status: 'open' })).map(summary))).toEqual(byId(alwaysOpen()));
      // The audit reads these GETs recorded on Cleo after her erasure are accountability, not processing.
      expect(await allViolations(ledger, auditor, { subjectId: CLEO })).toHaveLength(1);
    });
  });

  describe('GET /v1/violations filters and pages', () => {
    it('by rule, subject, breach, status and opening time; pages of two add up without duplicates', async () => {
      const ids = (vs: Violation[]) => vs.map((v) => v.id).sort();
      const everything = await allViolations(ledger, auditor);
      expect(everything).toHaveLength(7);

      expect(ids(await allViolations(ledger, auditor, { subjectId: BEN }))).toEqual(ids(everything.filter((v) => v.scopeId === BEN)));
      expect((await allViolations(ledger, auditor, { subjectId: BEN })).map((v) => v.rule).sort()).toEqual(['disclosure-to-unregistered-recipient', 'purpose-limitation', 'transfer-without-safeguard']);
      expect((await allViolations(ledger, auditor, { rule: 'transfer-without-safeguard' })).map((v) => v.scopeId)).toEqual([BEN]);
      expect((await allViolations(ledger, auditor, { breachId: BREACH })).map((v) => v.rule)).toEqual(['breach-authority-notice-late']);
      expect((await allViolations(ledger, auditor, { from: at(20), to: at(30) })).map((v) => v.rule)).toEqual(['breach-authority-notice-late']);

      const paged: Violation[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await getAs(ledger, auditor, '/v1/violations', { limit: '2', ...(cursor ? { cursor } : {}) });
        const page = res.body as { violations: Violation[]; nextCursor: string | null; rules: Array<{ id: string; article: string }> };
        expect(page.violations.length).toBeLessThanOrEqual(2);
        expect(page.rules).toHaveLength(12);
        paged.push(...page.violations);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(4);
      expect(paged.map((v) => v.id)).toEqual(everything.map((v) => v.id));
      expect(new Set(paged.map((v) => v.id)).size).toBe(7);
    });
  });

  describe('the registers an auditor works from', () => {
    it("GET /v1/subjects/:id/recipients (Art. 19): who received Anna's and Ben's data, what, why, under which mechanism", async () => {
      const anna = (await getAs(ledger, auditor, `/v1/subjects/${ANNA}/recipients`)).body as { subjectId: string; recipients: RecipientView[] };
      expect(anna.subjectId).toBe(ANNA);
      expect(byId(anna.recipients)).toEqual(
        byId([
          { id: CLOUD_HOSTING.id, kind: 'processor', country: 'US', categories: ['user.sensor.video'], purposes: ['essential.service.recording'], mechanisms: ['standard_contractual_clauses'], times: 1, firstAt: at(2, '18:01'), lastAt: at(2, '18:01'), evidence: [proof('a-transfer-us')] },
          { id: PUSH.id, kind: 'processor', country: 'IE', categories: ['user.sensor.still_image'], purposes: ['essential.service.notifications'], mechanisms: [], times: 1, firstAt: at(2, '18:02'), lastAt: at(2, '18:02'), evidence: [proof('a-push')] },
        ]),
      );

      const ben = (await getAs(ledger, auditor, `/v1/subjects/${BEN}/recipients`)).body as { recipients: RecipientView[] };
      expect(byId(ben.recipients).map((r) => [r.id, r.country, r.mechanisms, r.evidence])).toEqual([
        [HELPDESK.id, 'IE', [], [proof('b-helpdesk')]],
        [VIDEO_AI.id, 'SG', ['adequacy_decision'], [proof('b-transfer-sg')]],
      ]);
      expect((await getAs(ledger, auditor, `/v1/subjects/${EVE}/recipients`)).body).toEqual({ subjectId: EVE, recipients: [] });
    });

    it('GET /v1/disclosures: every disclosure across subjects, filterable by recipient', async () => {
      const all = (await getAs(ledger, auditor, '/v1/disclosures')).body as { entries: Array<TimelineEntry & { subjectId: string }>; nextCursor: string | null };
      expect(all.entries.map((e) => [e.subjectId, e.eventId, (e.recipient as { id: string }).id])).toEqual([
        [ANNA, proof('a-push').eventId, PUSH.id],
        [BEN, proof('b-helpdesk').eventId, HELPDESK.id],
      ]);
      expect(all.nextCursor).toBeNull();

      const helpdesk = (await getAs(ledger, auditor, '/v1/disclosures', { recipient: HELPDESK.id })).body as { entries: Array<{ eventId: string }> };
      expect(helpdesk.entries.map((e) => e.eventId)).toEqual([proof('b-helpdesk').eventId]);
    });

    it('GET /v1/transfers?country=US lists only the transfer to the US, under SCCs; by mechanism finds the false adequacy claim', async () => {
      const us = (await getAs(ledger, auditor, '/v1/transfers', { country: 'US' })).body as { entries: Array<TimelineEntry & { subjectId: string }> };
      expect(us.entries.map((e) => [e.subjectId, e.eventId, e.details['destinationCountry'], e.details['mechanism']])).toEqual([[ANNA, proof('a-transfer-us').eventId, 'US', 'standard_contractual_clauses']]);

      const all = (await getAs(ledger, auditor, '/v1/transfers')).body as { entries: Array<{ eventId: string }> };
      expect(all.entries.map((e) => e.eventId)).toEqual([proof('a-transfer-us').eventId, proof('b-transfer-sg').eventId]);

      const claimed = (await getAs(ledger, auditor, '/v1/transfers', { mechanism: 'adequacy_decision' })).body as { entries: Array<{ eventId: string }> };
      expect(claimed.entries.map((e) => e.eventId)).toEqual([proof('b-transfer-sg').eventId]);
    });

    it('GET /v1/actors/:id/activity: what support agent-21 touched, page by page with a cursor, no duplicates and nothing missed', async () => {
      const expected = ['d-support', 'a-support', 'a-support-video', 'b-support', 'b-helpdesk', 'c-flagged'].map((l) => proof(l)).sort((a, b) => a.globalPosition - b.globalPosition);

      const seen: Array<TimelineEntry & { subjectId: string }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = (await getAs(ledger, auditor, `/v1/actors/${AGENT.id}/activity`, { limit: '2', ...(cursor ? { cursor } : {}) })).body as { entries: Array<TimelineEntry & { subjectId: string }>; nextCursor: string | null };
        expect(page.entries.length).toBeLessThanOrEqual(2);
        seen.push(...page.entries);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);

      expect(seen.map((e) => ({ eventId: e.eventId, globalPosition: e.receipt.globalPosition }))).toEqual(expected);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(seen.length);
      expect(seen.every((e) => e.who.actorId === AGENT.id)).toBe(true);
      expect(seen.filter((e) => e.type === 'PersonalDataAccessed').map((e) => e.why.ticketRef)).toEqual(['SUP-3001', 'SUP-3001', 'SUP-3002', 'SUP-3004']);
      expect(pages).toBe(3);
    });

    it('GET /v1/processing-activities: the Art. 30 register with what was observed, and what the register does not cover', async () => {
      const { activities } = (await getAs(ledger, auditor, '/v1/processing-activities')).body as { activities: ProcessingActivityView[] };
      const byActivity = new Map(activities.map((a) => [a.activityId, a]));

      expect([...byActivity.keys()].sort()).toEqual(['act-account', 'act-alerts', 'act-devices', 'act-improve', 'act-marketing', 'act-recording', 'act-support', 'act-support-video']);
      expect(byActivity.get('act-support')!.observed).toEqual({
        events: 5,
        categories: ['user.contact.email', 'user.device.serial_number', 'user.sensor.video'],
        recipients: [HELPDESK.id],
        unregisteredCategories: ['user.sensor.video'],
        unregisteredRecipients: [HELPDESK.id],
      });
      expect(byActivity.get('act-devices')!.observed).toEqual({ events: 1, categories: ['user.device.mac_address', 'user.device.serial_number'], recipients: [], unregisteredCategories: [], unregisteredRecipients: [] });
      expect(byActivity.get('act-recording')!.observed).toMatchObject({ recipients: [VIDEO_AI.id, CLOUD_HOSTING.id].sort(), unregisteredRecipients: [], unregisteredCategories: [] });
      expect(byActivity.get('act-recording')!.retention).toEqual([{ category: 'user.sensor.video', period: 'P30D' }]);
      expect(byActivity.get('act-improve')).toMatchObject({ registeredAt: at(9, '08:00'), observed: { events: 1, categories: ['user.sensor.video'], unregisteredCategories: [] } });
      expect(byActivity.get('act-marketing')).toMatchObject({ legalBasis: 'consent', observed: { events: 2 } });
    });

    it('the breach register lists the breach with its notices', async () => {
      const { breaches } = (await getAs(ledger, auditor, '/v1/breaches')).body as { breaches: BreachView[] };
      expect(breaches.map((b) => [b.breachId, b.authorityClock.status, b.notices.map((n) => n.to)])).toEqual([[BREACH, 'notified_late', ['subjects', 'authority']]]);
    });
  });

  describe('reads are processing too: each answer that names subjects is recorded on each of them', () => {
    it('GET /v1/violations records one access by the caller on every subject it named, and none on others', async () => {
      const reader = await ledger.key('auditor');
      const named = new Set((await allViolations(ledger, reader)).filter((v) => v.scope === 'subject').map((v) => v.scopeId));
      expect([...named].sort()).toEqual([ANNA, BEN, CLEO, DORA]);

      for (const subjectId of named) {
        const reads = await readsRecorded(subjectId, reader, 'violations register read');
        expect(reads).toHaveLength(1);
        expect(reads[0]!.who).toEqual({ actorId: actorIdOfKey(reader), kind: 'auditor', system: 'privacy-ledger' });
      }
      expect(await readsRecorded(EVE, reader, 'violations register read')).toEqual([]);
    });

    it('recipients, disclosures, transfers, actor activity and one violation each record a read by the caller on the subjects they named', async () => {
      const reader = await ledger.key('auditor');
      await getAs(ledger, reader, `/v1/subjects/${EVE}/recipients`);
      await getAs(ledger, reader, '/v1/disclosures');
      await getAs(ledger, reader, '/v1/transfers', { country: 'US' });
      await getAs(ledger, reader, `/v1/actors/${AGENT.id}/activity`);
      await getAs(ledger, reader, `/v1/violations/${encodeURIComponent(violationId('transfer-without-safeguard', 'subject', BEN, proof('b-transfer-sg').eventId))}`);

      expect(await readsRecorded(EVE, reader, 'Art. 19 recipients read')).toHaveLength(1);
      expect(await readsRecorded(ANNA, reader, 'disclosures register read')).toHaveLength(1);
      expect(await readsRecorded(BEN, reader, 'disclosures register read')).toHaveLength(1);
      expect(await readsRecorded(ANNA, reader, 'transfers register read')).toHaveLength(1);
      expect(await readsRecorded(BEN, reader, 'transfers register read')).toEqual([]);
      for (const subjectId of [ANNA, BEN, CLEO, DORA]) expect(await readsRecorded(subjectId, reader, `activity of actor ${AGENT.id} reviewed`)).toHaveLength(1);
      expect(await readsRecorded(EVE, reader, `activity of actor ${AGENT.id} reviewed`)).toEqual([]);
      expect(await readsRecorded(BEN, reader, 'violation read')).toHaveLength(1);
    });
  });

  describe('the breach register and the monitors agree on the 72-hour clock', () => {
    const detected = (breachId: string) =>
      body('BreachDetected', at(25, '11:00'), null, SECOPS, { breachId, awareAt: at(25, '10:00'), nature: ['availability'], categories: ['user.device.firmware_version'], approximateSubjects: 10, description: 'firmware mirror briefly offline' });
    const assessedUnlikely = (breachId: string, occurredAt: string) => body('BreachAssessed', occurredAt, null, DPO, { breachId, risk: 'unlikely', rationale: 'no personal data left the mirror' });
    const view = async (breachId: string) => (await getAs(ledger, auditor, `/v1/breaches/${breachId}`)).body as BreachView & { violations: Violation[] };

    it('near miss: a breach assessed unlikely to result in a risk within 72 hours needs no notice — not_required, no violation', async () => {
      const res = await appendBatch(ledger, emitter, [detected('br-e2e-2'), assessedUnlikely('br-e2e-2', at(26, '09:00'))]);
      expect(res.status).toBe(201);

      const found = await view('br-e2e-2');
      expect(found.authorityClock).toEqual({ deadline: at(28, '10:00'), status: 'not_required', hoursLeft: null });
      expect(found.violations).toEqual([]);
    });

    it('superseded: a detection recorded after its deadline opens the violation; the in-time assessment recorded later resolves it, keeping both times', async () => {
      await post('br-e2e-3-detected', detected('br-e2e-3'));
      const opened = (await view('br-e2e-3')).violations;
      expect(opened.map((v) => [v.rule, v.status, v.openedAt, v.evidence])).toEqual([['breach-authority-notice-late', 'open', at(28, '10:00'), [proof('br-e2e-3-detected')]]]);

      await post('br-e2e-3-assessed', assessedUnlikely('br-e2e-3', at(26, '09:00')));
      const found = await view('br-e2e-3');

      expect(found.violations).toHaveLength(1);
      expect(found.violations[0]).toMatchObject({ id: opened[0]!.id, status: 'resolved', resolution: 'superseded', openedAt: at(28, '10:00'), detectedAt: opened[0]!.detectedAt });
      expect(found.violations[0]!.resolvedAt! >= found.violations[0]!.detectedAt).toBe(true);
      expect(found.authorityClock.status).toBe('not_required');
    });

    it("an 'unlikely' assessment made after the 72 hours does not excuse the missed notice: the register says overdue, as the violation does", async () => {
      const res = await appendBatch(ledger, emitter, [detected('br-e2e-4'), assessedUnlikely('br-e2e-4', at(29, '09:00'))]);
      expect(res.status).toBe(201);

      const found = await view('br-e2e-4');
      expect(found.violations.map((v) => [v.rule, v.status, v.openedAt])).toEqual([['breach-authority-notice-late', 'open', at(28, '10:00')]]);
      // BUG: the register reports 'not_required' for any breach whose latest risk is 'unlikely', however late it was assessed.
      expect(found.authorityClock.status).toBe('overdue');
    });
  });

  describe('refusals', () => {
    it.each([
      ['/v1/violations', { status: 'closed' }, 'status'],
      ['/v1/violations', { rule: 'made-up-rule' }, 'rule'],
      ['/v1/violations', { colour: 'red' }, 'colour'],
      ['/v1/violations', { from: 'last tuesday' }, 'from'],
      ['/v1/violations', { limit: '0' }, 'limit'],
      ['/v1/violations', { subjectId: 'anna@example.org' }, 'subjectId'],
      ['/v1/violations', { cursor: 'not-a-cursor' }, 'cursor'],
      ['/v1/disclosures', { cursor: 'not-a-cursor' }, 'cursor'],
      ['/v1/disclosures', { country: 'US' }, 'country'],
      ['/v1/transfers', { country: 'XX' }, 'country'],
      ['/v1/transfers', { mechanism: 'pinky_promise' }, 'mechanism'],
      [`/v1/actors/${AGENT.id}/activity`, { to: 'soon' }, 'to'],
      ['/v1/actors/agent@example.org/activity', {}, 'actorId'],
      ['/v1/subjects/+420600000000/recipients', {}, 'subjectId'],
      ['/v1/breaches/br%20bad', {}, 'breachId'],
    ])('GET %s %j is a 400 naming %s', async (path, query, field) => {
      const res = await getAs(ledger, auditor, path, query, 400);
      expect(errorsOf(res).map((e) => e.field)).toContain(field);
    });

    it('unknown violations and breaches are 404s naming the id', async () => {
      const v = await getAs(ledger, auditor, '/v1/violations/no-such-violation', {}, 404);
      expect(v.text).toContain('no-such-violation');
      const b = await getAs(ledger, auditor, '/v1/breaches/br-none', {}, 404);
      expect(b.text).toContain('br-none');
    });

    it.each(['/v1/violations', '/v1/alerts/deliveries', '/v1/breaches', `/v1/breaches/${BREACH}`, `/v1/subjects/${ANNA}/recipients`, '/v1/disclosures', '/v1/transfers', `/v1/actors/${AGENT.id}/activity`, '/v1/processing-activities'])(
      '%s: an emitter key is refused (403), no key is 401, an auditor reads it',
      async (path) => {
        expect((await ledger.http().get(path).set('authorization', `Bearer ${emitter}`)).status).toBe(403);
        expect((await ledger.http().get(path)).status).toBe(401);
        expect((await ledger.http().get(path).set('authorization', `Bearer ${auditor}`)).status).toBe(200);
      },
    );
  });
});
