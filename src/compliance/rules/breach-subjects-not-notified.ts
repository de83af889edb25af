import { dated, hoursAfter, singleDuty, type ComplianceRule, type Dated } from '../rule.js';

export interface BreachSubjectsNotNotifiedState {
  /** The latest assessment, when it found a high risk. */
  readonly highRisk: Dated | null;
  /** The first communication to the subjects. */
  readonly notified: Dated | null;
}

const KEY = 'subject-notice';

/**
 * Communication to the data subjects — GDPR Art. 34(1): a breach likely to result in a high
 * risk is communicated to the affected subjects without undue delay (measured here as the
 * configured hours after the high-risk assessment). Resolved when the subjects are notified;
 * superseded when a re-assessment or an in-time communication is recorded after it opened.
 *
 * State: two facts — the latest assessment if high risk, the first communication.
 */
export const breachSubjectsNotNotifiedRule: ComplianceRule<BreachSubjectsNotNotifiedState> = {
  id: 'breach-subjects-not-notified',
  article: 'Art. 34',
  title: 'High-risk breach not communicated to the affected subjects',
  scope: 'breach',
  duty: 'deadline',
  initial: () => ({ highRisk: null, notified: null }),
  evolve(state, e) {
    const { event } = e;
    if (event.type === 'BreachAssessed') return { ...state, highRisk: event.data.risk === 'high_risk' ? dated(e) : null };
    if (event.type === 'BreachSubjectsNotified') return state.notified ? state : { ...state, notified: dated(e) };
    return state;
  },
  judge(state, now, config) {
    const { highRisk, notified } = state;
    if (!highRisk) return singleDuty(state, KEY, null, null);
    const deadline = hoursAfter(highRisk.at, config.breachSubjectNoticeHours);
    const nextDeadline = !notified && deadline >= now ? deadline : null;
    if (notified ? notified.at <= deadline : now <= deadline) return singleDuty(state, KEY, null, nextDeadline);
    const finding = { key: KEY, openedAt: deadline, evidence: [highRisk.evidence], detail: `assessed high risk; the affected subjects were not told by ${deadline}` };
    return singleDuty(state, KEY, notified ? { ...finding, resolvedAt: notified.at, resolvedBy: [notified.evidence] } : finding, nextDeadline);
  },
};
