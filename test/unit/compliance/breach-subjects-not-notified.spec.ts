import { monitorConfig } from '../../../src/compliance/monitor-config.js';
import { breachSubjectsNotNotifiedRule as rule } from '../../../src/compliance/rules/breach-subjects-not-notified.js';
import { DPO, evaluate, HOUR_MS, nextDeadline, onlyFinding, ref, scopeHistory, type ScopeHistory, shift } from '../../support/compliance-context.js';

const BREACH = 'br-2026-spec';
const AWARE = '2026-03-10T08:00:00.000Z';
const ASSESSED = '2026-03-11T12:00:00.000Z';
/** LEDGER_BREACH_SUBJECT_NOTICE_HOURS (72) after the high-risk assessment. */
const DEADLINE = '2026-03-14T12:00:00.000Z';

function assessedHigh(risk: 'unlikely' | 'risk' | 'high_risk' = 'high_risk'): { h: ScopeHistory; assessed: ReturnType<ScopeHistory['record']> } {
  const h = scopeHistory(BREACH, 100);
  h.record('BreachDetected', AWARE, { breachId: BREACH, awareAt: AWARE, nature: ['confidentiality'], categories: ['user.contact.email'], approximateSubjects: 1200, description: 'support export exposed' }, { actor: DPO });
  h.record('BreachReportedToAuthority', shift(AWARE, 20 * HOUR_MS), { breachId: BREACH, authority: 'CZ-UOOU', reportRef: 'UOOU-2026-2' }, { actor: DPO });
  const assessed = h.record('BreachAssessed', ASSESSED, { breachId: BREACH, risk, rationale: 'contact data usable for phishing' }, { actor: DPO });
  return { h, assessed };
}

function notify(h: ScopeHistory, at: string) {
  return h.record('BreachSubjectsNotified', at, { breachId: BREACH, channel: 'email', subjectsNotified: 1200 }, { actor: DPO });
}

describe('breach-subjects-not-notified: a high-risk breach not told to the subjects (Art. 34)', () => {
  it('is a breach rule citing Art. 34', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'breach-subjects-not-notified', article: 'Art. 34', scope: 'breach' });
  });

  it('pending: due the configured 72 hours after the high-risk assessment', () => {
    const { h } = assessedHigh();
    expect(nextDeadline(rule, h.context(shift(ASSESSED, HOUR_MS)))).toBe(DEADLINE);
    expect(evaluate(rule, h.context(DEADLINE))).toEqual([]);
  });

  it('fires when the period passed with no communication: opened at the deadline, proven by the assessment', () => {
    const { h, assessed } = assessedHigh();

    const finding = onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 60_000))));

    expect(finding).toEqual({
      key: 'subject-notice',
      openedAt: DEADLINE,
      evidence: [{ eventId: assessed.event.eventId, globalPosition: 102 }],
      detail: expect.stringContaining(DEADLINE),
    });
    expect(nextDeadline(rule, h.context(shift(DEADLINE, 60_000)))).toBeNull();
  });

  it('near miss: subjects told 71 h 59 min after the assessment', () => {
    const { h } = assessedHigh();
    notify(h, shift(ASSESSED, 71 * HOUR_MS + 59 * 60_000));

    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
  });

  it('near miss: a breach assessed as a risk, but not a high one, owes no communication', () => {
    const { h } = assessedHigh('risk');
    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context(ASSESSED))).toBeNull();
  });

  it('near miss: re-assessed from high risk down to risk before the deadline', () => {
    const { h } = assessedHigh();
    h.record('BreachAssessed', shift(ASSESSED, 10 * HOUR_MS), { breachId: BREACH, risk: 'risk', rationale: 'credentials were hashed' }, { actor: DPO });
    expect(evaluate(rule, h.context('2026-04-01T00:00:00.000Z'))).toEqual([]);
  });

  it('cured: the subjects told late — resolved at the communication, by it', () => {
    const { h, assessed } = assessedHigh();
    const late = notify(h, shift(ASSESSED, 96 * HOUR_MS));

    expect(onlyFinding(evaluate(rule, h.context(shift(ASSESSED, 100 * HOUR_MS))))).toMatchObject({
      key: 'subject-notice',
      openedAt: DEADLINE,
      evidence: [ref(assessed)],
      resolvedAt: shift(ASSESSED, 96 * HOUR_MS),
      resolvedBy: [ref(late)],
    });
  });

  it('honours LEDGER_BREACH_SUBJECT_NOTICE_HOURS: with 24 hours it is due a day after the assessment', () => {
    const { h } = assessedHigh();
    const config = monitorConfig({ childErasureDays: 30, breachSubjectNoticeHours: 24 });

    expect(nextDeadline(rule, h.context(ASSESSED, config))).toBe(shift(ASSESSED, 24 * HOUR_MS));
    expect(onlyFinding(evaluate(rule, h.context(shift(ASSESSED, 25 * HOUR_MS), config))).openedAt).toBe(shift(ASSESSED, 24 * HOUR_MS));
  });
});
