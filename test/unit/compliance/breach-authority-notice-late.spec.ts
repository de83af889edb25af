import { breachAuthorityNoticeLateRule as rule } from '../../../src/compliance/rules/breach-authority-notice-late.js';
import { DPO, evaluate, HOUR_MS, nextDeadline, onlyFinding, ref, scopeHistory, type ScopeHistory, shift } from '../../support/compliance-context.js';

const BREACH = 'br-2026-spec';
const AWARE = '2026-03-10T08:00:00.000Z';
/** 72 hours after awareness (Art. 33(1)). */
const DEADLINE = '2026-03-13T08:00:00.000Z';
const SECOPS = { id: 'secops-3', kind: 'employee', system: 'security-console' };

function detected(recordedHoursAfterAwareness = 1): { h: ScopeHistory; detection: ReturnType<ScopeHistory['record']> } {
  const h = scopeHistory(BREACH, 40);
  const detection = h.record(
    'BreachDetected',
    shift(AWARE, recordedHoursAfterAwareness * HOUR_MS),
    { breachId: BREACH, awareAt: AWARE, nature: ['confidentiality'], categories: ['user.contact.email'], approximateSubjects: 1200, description: 'support export readable from a bucket' },
    { actor: SECOPS },
  );
  return { h, detection };
}

function report(h: ScopeHistory, at: string, delayReason?: string) {
  return h.record('BreachReportedToAuthority', at, { breachId: BREACH, authority: 'CZ-UOOU', reportRef: 'UOOU-2026-1', ...(delayReason ? { delayReason } : {}) }, { actor: DPO });
}

function assess(h: ScopeHistory, at: string, risk: 'unlikely' | 'risk' | 'high_risk') {
  return h.record('BreachAssessed', at, { breachId: BREACH, risk, rationale: `assessed ${risk}` }, { actor: DPO });
}

describe('breach-authority-notice-late: no notice to the authority 72 hours after awareness (Art. 33(1))', () => {
  it('is a breach rule citing Art. 33(1)', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'breach-authority-notice-late', article: 'Art. 33(1)', scope: 'breach' });
  });

  it('pending: nextDeadline is 72 hours after awareness, and nothing is open at that very moment', () => {
    const { h } = detected();
    expect(nextDeadline(rule, h.context(shift(AWARE, 2 * HOUR_MS)))).toBe(DEADLINE);
    expect(evaluate(rule, h.context(DEADLINE))).toEqual([]);
    expect(nextDeadline(rule, h.context(DEADLINE))).toBe(DEADLINE);
  });

  it('fires when 72 hours passed with no notice: opened at the deadline, proven by the detection', () => {
    const { h, detection } = detected();

    const finding = onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 60_000))));

    expect(finding).toEqual({
      key: 'authority-notice',
      openedAt: DEADLINE,
      evidence: [{ eventId: detection.event.eventId, globalPosition: 40 }],
      detail: expect.stringContaining(AWARE),
    });
    expect(finding.detail).toContain(DEADLINE);
    expect(nextDeadline(rule, h.context(shift(DEADLINE, 60_000)))).toBeNull();
  });

  it('the clock runs from awareness, not from when the detection was recorded', () => {
    const { h } = detected(10);
    expect(onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 60_000)))).openedAt).toBe(DEADLINE);
  });

  it('near miss: notice at 71 h 59 min after awareness', () => {
    const { h } = detected();
    report(h, shift(AWARE, 71 * HOUR_MS + 59 * 60_000));

    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context(shift(AWARE, 72 * HOUR_MS - 1)))).toBeNull();
  });

  it('near miss: notice at exactly 72 hours', () => {
    const { h } = detected();
    report(h, DEADLINE);
    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
  });

  it('cured: a late notice with its reasons resolves it at the notice, keeping the deadline as its opening', () => {
    const { h, detection } = detected();
    const late = report(h, shift(AWARE, 80 * HOUR_MS), 'forensics needed to scope the affected subjects');

    const finding = onlyFinding(evaluate(rule, h.context(shift(AWARE, 90 * HOUR_MS))));

    expect(finding).toMatchObject({
      key: 'authority-notice',
      openedAt: DEADLINE,
      evidence: [ref(detection)],
      resolvedAt: shift(AWARE, 80 * HOUR_MS),
      resolvedBy: [ref(late)],
    });
  });

  it('the first notice counts: a late first notice is not made timely by a second one', () => {
    const { h } = detected();
    const first = report(h, shift(AWARE, 80 * HOUR_MS));
    report(h, shift(AWARE, 100 * HOUR_MS));

    expect(onlyFinding(evaluate(rule, h.context(shift(AWARE, 120 * HOUR_MS)))).resolvedBy).toEqual([ref(first)]);
  });

  it('near miss: assessed unlikely to result in a risk within the 72 hours — no notice is owed', () => {
    const { h } = detected();
    assess(h, shift(AWARE, 20 * HOUR_MS), 'unlikely');

    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context(shift(AWARE, 21 * HOUR_MS)))).toBeNull();
  });

  it('an "unlikely" assessment made after the deadline does not excuse the missed notice', () => {
    const { h } = detected();
    assess(h, shift(DEADLINE, HOUR_MS), 'unlikely');

    expect(onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 2 * HOUR_MS)))).openedAt).toBe(DEADLINE);
  });

  it('a re-assessment to high risk withdraws the "unlikely" excuse', () => {
    const { h } = detected();
    assess(h, shift(AWARE, 5 * HOUR_MS), 'unlikely');
    assess(h, shift(AWARE, 30 * HOUR_MS), 'high_risk');

    expect(onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 60_000)))).key).toBe('authority-notice');
  });

  it('no detection, no clock', () => {
    const h = scopeHistory(BREACH);
    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context('2026-04-01T00:00:00.000Z'))).toBeNull();
  });
});
