import { consentMissingRule } from '../../../src/compliance/rules/consent-missing.js';
import { COMPLIANCE_RULES } from '../../../src/compliance/rules/index.js';
import { processingAfterConsentWithdrawalRule } from '../../../src/compliance/rules/processing-after-consent-withdrawal.js';
import { processingAfterErasureRule } from '../../../src/compliance/rules/processing-after-erasure.js';
import { purposeLimitationRule } from '../../../src/compliance/rules/purpose-limitation.js';
import { retentionExceededRule } from '../../../src/compliance/rules/retention-exceeded.js';
import { rightsRequestOverdueRule } from '../../../src/compliance/rules/rights-request-overdue.js';
import { activity, DAY_MS, DPO, folded, judgeAt, ref, scopeHistory, shift, SPEC_CONFIG } from '../../support/compliance-context.js';

/*
 * What each rule keeps between batches, and that it stays bounded: findings reported once and
 * dropped, one consent change per purpose, one erasure per newly erased category, a recording
 * only while it is still within its retention, a request only while it is open. These are the
 * bounds the rules' doc comments state.
 */

const AT = '2026-03-02T10:00:00.000Z';
const MARKETING = 'marketing.communications.email';
const RECORDING = 'essential.service.recording';

describe('rule states', () => {
  it('every rule names its duty, and instant rules never come due by time', () => {
    const h = scopeHistory();
    h.record('PersonalDataAccessed', AT, { categories: ['user.contact.email'], purpose: MARKETING, legalBasis: 'consent', reasonCode: 'marketing_campaign' });
    for (const rule of COMPLIANCE_RULES.filter((r) => r.duty === 'instant')) expect({ rule: rule.id, next: judgeAt(rule, h.context('2030-01-01T00:00:00.000Z')).nextDeadline }).toEqual({ rule: rule.id, next: null });
    expect(COMPLIANCE_RULES.filter((r) => r.duty === 'deadline').map((r) => r.id).sort()).toEqual([
      'breach-authority-notice-late',
      'breach-subjects-not-notified',
      'child-data-not-erased',
      'retention-exceeded',
      'rights-request-overdue',
    ]);
  });

  it('an instant finding is reported by one judgement and then dropped from the state', () => {
    const h = scopeHistory();
    const reads = [0, 1, 2].map((i) => h.record('PersonalDataAccessed', shift(AT, i * 1000), { categories: ['user.sensor.video'], purpose: 'essential.service.operations.support', legalBasis: 'contract', reasonCode: 'customer_initiated_support' }));
    const first = judgeAt(purposeLimitationRule, h.context(AT));

    expect(first.findings.map((f) => f.key)).toEqual(reads.map((r) => r.event.eventId));
    expect(first.state).toEqual({ found: [] });
    expect(purposeLimitationRule.judge(first.state, shift(AT, DAY_MS), SPEC_CONFIG).findings).toEqual([]);
  });

  it('consent: two hundred changes of two purposes keep two entries, the latest of each', () => {
    const h = scopeHistory();
    let last = h.record('ConsentGranted', AT, { purposes: [MARKETING, 'marketing'], method: 'in_app' });
    for (let i = 1; i < 200; i++) {
      last = i % 2 ? h.record('ConsentWithdrawn', shift(AT, i * 1000), { purposes: [MARKETING, 'marketing'] }) : h.record('ConsentGranted', shift(AT, i * 1000), { purposes: [MARKETING, 'marketing'], method: 'in_app' });
    }
    const state = folded(processingAfterConsentWithdrawalRule, h.context(AT));

    expect(state.latest).toEqual([
      { purpose: MARKETING, granted: false, evidence: ref(last) },
      { purpose: 'marketing', granted: false, evidence: ref(last) },
    ]);
    expect(folded(consentMissingRule, h.context(AT)).everGranted).toEqual([MARKETING, 'marketing']);
  });

  it('erasure: an erasure is kept only when it erases a category no kept erasure covers', () => {
    const h = scopeHistory();
    const video = h.record('PersonalDataErased', AT, { categories: ['user.sensor.video'], reason: 'subject_request' });
    for (let i = 1; i <= 50; i++) h.record('PersonalDataErased', shift(AT, i * 1000), { categories: ['user.sensor.video'], reason: 'subject_request' });
    const sensor = h.record('PersonalDataErased', shift(AT, DAY_MS), { categories: ['user.sensor.video', 'user.sensor'], reason: 'subject_request' });
    const shredded = h.record('SubjectKeyShredded', shift(AT, 2 * DAY_MS), { reason: 'account closed' });
    h.record('PersonalDataErased', shift(AT, 3 * DAY_MS), { categories: ['user.contact.email'], reason: 'subject_request' });

    expect(folded(processingAfterErasureRule, h.context(AT)).erasures.map((e) => e.evidence)).toEqual([ref(video), ref(sensor), ref(shredded)]);
  });

  describe('retention', () => {
    const recording = activity({ activityId: 'act-rec', purpose: RECORDING, categories: ['user.sensor'], retention: [{ category: 'user.sensor.video', period: 'P1D' }] });
    const collect = (h: ReturnType<typeof scopeHistory>, at: string) =>
      h.record('PersonalDataCollected', at, { categories: ['user.sensor.video'], purpose: RECORDING, legalBasis: 'contract', source: 'device', processingActivityId: 'act-rec' });

    it('a thousand recordings erased in time leave nothing held once judged', () => {
      const h = scopeHistory();
      h.register(recording);
      for (let i = 0; i < 1000; i++) {
        collect(h, shift(AT, i * 60_000));
        h.record('PersonalDataErased', shift(AT, i * 60_000 + 1000), { categories: ['user.sensor.video'], reason: 'retention_expired' });
      }
      const judged = judgeAt(retentionExceededRule, h.context(shift(AT, DAY_MS)));

      expect(judged.findings).toEqual([]);
      expect(judged.cleared).toHaveLength(1000);
      expect(judged.state).toEqual({ held: [], overdue: [], settled: [], cleared: [], cures: [] });
    });

    it('an overdue recording leaves the state as a violation awaiting its category; the next erasure of it is a cure', () => {
      const h = scopeHistory();
      h.register(recording);
      const collected = collect(h, AT);
      const overdue = judgeAt(retentionExceededRule, h.context(shift(AT, 2 * DAY_MS)));

      expect(overdue.findings).toEqual([expect.objectContaining({ key: `${collected.event.eventId}:user.sensor.video:act-rec`, openedAt: shift(AT, DAY_MS), awaiting: 'user.sensor.video' })]);
      expect(overdue.state).toEqual({ held: [], overdue: ['user.sensor.video'], settled: [], cleared: [], cures: [] });

      const erased = h.record('PersonalDataErased', shift(AT, 3 * DAY_MS), { categories: ['user.sensor'], reason: 'subject_request' });
      const after = retentionExceededRule.evolve(overdue.state, erased, h.registerAt(erased.globalPosition), SPEC_CONFIG);
      const cured = retentionExceededRule.judge(after, shift(AT, 3 * DAY_MS), SPEC_CONFIG);

      expect(cured.cures).toEqual([{ awaiting: 'user.sensor.video', at: shift(AT, 3 * DAY_MS), by: [ref(erased)] }]);
      expect(cured.findings).toEqual([]);
      expect(cured.state).toEqual({ held: [], overdue: [], settled: [], cleared: [], cures: [] });
    });
  });

  it('rights: answered requests are dropped once judged; open ones stay', () => {
    const h = scopeHistory();
    for (let i = 0; i < 20; i++) {
      h.record('SubjectRequestReceived', shift(AT, i * DAY_MS), { requestId: `req-${i}`, right: 'access', channel: 'email' }, { actor: DPO });
      h.record('SubjectRequestRejected', shift(AT, i * DAY_MS + 1000), { requestId: `req-${i}`, reason: 'manifestly unfounded' }, { actor: DPO });
    }
    const open = h.record('SubjectRequestReceived', shift(AT, 30 * DAY_MS), { requestId: 'req-open', right: 'erasure', channel: 'email' }, { actor: DPO });
    const judged = judgeAt(rightsRequestOverdueRule, h.context(shift(AT, 31 * DAY_MS)));

    expect(judged.findings).toEqual([]);
    expect(judged.state.requests.map((r) => r.received)).toEqual([ref(open)]);
  });
});
