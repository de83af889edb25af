import { dated, hoursAfter, singleDuty, type ComplianceRule, type Dated } from '../rule.js';

export interface ChildDataNotErasedState {
  /** The first flag under the minimum age. */
  readonly flagged: Dated | null;
  /** The first erasure of everything after the flag. */
  readonly erased: Dated | null;
}

const KEY = 'child-erasure';

/**
 * Children — GDPR Art. 8 and the privacy statement ("children under 16 are not permitted to
 * create accounts; we will delete the information as soon as possible"): data of a subject
 * flagged under the minimum age is erased within the configured period. Only erasing
 * everything counts: shredding the key, or erasing the whole `user` taxonomy.
 *
 * State: two facts, the first flag and the first complete erasure after it.
 */
export const childDataNotErasedRule: ComplianceRule<ChildDataNotErasedState> = {
  id: 'child-data-not-erased',
  article: 'Art. 8',
  title: "A child's data not erased within the configured period",
  scope: 'subject',
  duty: 'deadline',
  initial: () => ({ flagged: null, erased: null }),
  evolve(state, e) {
    const { event } = e;
    if (event.type === 'SubjectAgeFlagged') return state.flagged ? state : { ...state, flagged: dated(e) };
    const erasesAll = event.type === 'SubjectKeyShredded' || (event.type === 'PersonalDataErased' && event.data.categories.includes('user'));
    return state.flagged && !state.erased && erasesAll ? { ...state, erased: dated(e) } : state;
  },
  judge(state, now, config) {
    const { flagged, erased } = state;
    if (!flagged) return singleDuty(state, KEY, null, null);
    const deadline = hoursAfter(flagged.at, config.childErasureDays * 24);
    const pending = !erased && now <= deadline;
    if ((erased && erased.at <= deadline) || pending) return singleDuty(state, KEY, null, pending ? deadline : null);
    const finding = { key: KEY, openedAt: deadline, evidence: [flagged.evidence], detail: `flagged under the minimum age; data still held after ${deadline}` };
    return singleDuty(state, KEY, erased ? { ...finding, resolvedAt: erased.at, resolvedBy: [erased.evidence] } : finding, null);
  },
};
