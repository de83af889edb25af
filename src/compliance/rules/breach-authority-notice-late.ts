import { dated, evidenceOf, hoursAfter, singleDuty, type ComplianceRule, type Dated, type EvidenceRef } from '../rule.js';

export interface BreachAuthorityNoticeLateState {
  /** The latest detection: its awareness starts the clock. */
  readonly detected: { readonly evidence: EvidenceRef; readonly awareAt: string } | null;
  /** The first notice to the authority. */
  readonly reported: Dated | null;
  /** The latest assessment, when it found a risk unlikely. */
  readonly unlikelyRisk: Dated | null;
}

const KEY = 'authority-notice';

/**
 * Breach notification to the supervisory authority — GDPR Art. 33(1): without undue delay and
 * where feasible within 72 hours of becoming aware, unless the breach is unlikely to result in
 * a risk; a later notice must give the reasons for the delay. Opens when 72 hours pass with no
 * notice (and no in-time assessment that a risk is unlikely); a late notice still sent
 * resolves it. An in-time notice or assessment recorded after it opened supersedes it.
 *
 * State: three facts — the latest detection, the first notice, the latest assessment if unlikely.
 */
export const breachAuthorityNoticeLateRule: ComplianceRule<BreachAuthorityNoticeLateState> = {
  id: 'breach-authority-notice-late',
  article: 'Art. 33(1)',
  title: 'No notice to the supervisory authority within 72 hours of awareness',
  scope: 'breach',
  duty: 'deadline',
  initial: () => ({ detected: null, reported: null, unlikelyRisk: null }),
  evolve(state, e) {
    const { event } = e;
    switch (event.type) {
      case 'BreachDetected':
        return { ...state, detected: { evidence: evidenceOf(e), awareAt: event.data.awareAt } };
      case 'BreachReportedToAuthority':
        return state.reported ? state : { ...state, reported: dated(e) };
      case 'BreachAssessed':
        return { ...state, unlikelyRisk: event.data.risk === 'unlikely' ? dated(e) : null };
      default:
        return state;
    }
  },
  judge(state, now) {
    const { detected, reported, unlikelyRisk } = state;
    if (!detected) return singleDuty(state, KEY, null, null);
    const deadline = hoursAfter(detected.awareAt, 72);
    const nextDeadline = !reported && !unlikelyRisk && deadline >= now ? deadline : null;
    if (unlikelyRisk && unlikelyRisk.at <= deadline) return singleDuty(state, KEY, null, nextDeadline);
    if (reported ? reported.at <= deadline : now <= deadline) return singleDuty(state, KEY, null, nextDeadline);
    const finding = { key: KEY, openedAt: deadline, evidence: [detected.evidence], detail: `aware at ${detected.awareAt}; no notice to the authority by ${deadline}` };
    return singleDuty(state, KEY, reported ? { ...finding, resolvedAt: reported.at, resolvedBy: [reported.evidence] } : finding, nextDeadline);
  },
};
