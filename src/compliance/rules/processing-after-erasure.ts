import { covers, evidenceOf, isAccountabilityPurpose, processingFacts, report, reportFound, type ComplianceRule, type EvidenceRef, type Unreported } from '../rule.js';

interface Erasure {
  readonly categories: readonly string[];
  readonly evidence: EvidenceRef;
}

export interface ProcessingAfterErasureState extends Unreported {
  /** Erasures that erased something no earlier one had, oldest first. */
  readonly erasures: readonly Erasure[];
}

/**
 * Right to erasure — GDPR Art. 17: after a subject's data was erased or their key shredded,
 * no further processing of their personal data (the ledger's own accountability record and
 * legal obligations excepted, Art. 17(3)(b),(e)). Recorded as evidence, never refused. What
 * was erased counts by category; shredding the key erases every personal value (`user`). A
 * finding names the first erasure of a category processed again.
 *
 * State: an erasure is kept only when it names a category no kept erasure covers — any later
 * processing it could match, an earlier kept one matches first — so at most one erasure per
 * category of the vocabulary; and the findings not yet reported (each judged once).
 */
export const processingAfterErasureRule: ComplianceRule<ProcessingAfterErasureState> = {
  id: 'processing-after-erasure',
  article: 'Art. 17',
  title: 'Processing after erasure or key shredding',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ erasures: [], found: [] }),
  evolve(state, e) {
    const { event } = e;
    const erased = event.type === 'SubjectKeyShredded' ? ['user'] : event.type === 'PersonalDataErased' && event.data.reason !== 'retention_expired' ? event.data.categories : null;
    if (erased) {
      const erasedBefore = (c: string) => state.erasures.some((x) => x.categories.some((kept) => covers(kept, c)));
      return erased.every(erasedBefore) ? state : { ...state, erasures: [...state.erasures, { categories: erased, evidence: evidenceOf(e) }] };
    }
    const facts = processingFacts(event);
    if (!facts || isAccountabilityPurpose(facts.purpose)) return state;
    const erasure = state.erasures.find((x) => facts.categories.some((c) => x.categories.some((gone) => covers(gone, c))));
    if (!erasure) return state;
    const again = facts.categories.filter((c) => erasure.categories.some((gone) => covers(gone, c)));
    return report(state, {
      key: event.eventId,
      openedAt: event.occurredAt,
      evidence: [erasure.evidence, evidenceOf(e)],
      detail: `${event.type} of ${again.join(', ')} for ${facts.purpose} after ${again.length > 1 ? 'they were' : 'it was'} erased`,
    });
  },
  judge: reportFound,
};
