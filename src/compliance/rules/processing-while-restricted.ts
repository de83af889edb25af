import { covers, evidenceOf, isAccountabilityPurpose, processingFacts, report, reportFound, type ComplianceRule, type EvidenceRef, type Unreported } from '../rule.js';

export interface ProcessingWhileRestrictedState extends Unreported {
  /** The restriction in force, if any; `purposes` null restricts every purpose. */
  readonly restriction: { readonly evidence: EvidenceRef; readonly purposes: readonly string[] | null } | null;
}

/**
 * Restriction — GDPR Art. 18(2): while processing is restricted, personal data is only stored,
 * apart from the exceptions of Art. 18(2) (legal claims, legal obligations; and the ledger's
 * own accountability reads). Restriction may name purposes; without them it covers all.
 *
 * State: the one restriction in force, and the findings not yet reported (each judged once,
 * at its own event).
 */
export const processingWhileRestrictedRule: ComplianceRule<ProcessingWhileRestrictedState> = {
  id: 'processing-while-restricted',
  article: 'Art. 18(2)',
  title: 'Processing other than storage while processing is restricted',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ restriction: null, found: [] }),
  evolve(state, e) {
    const { event } = e;
    if (event.type === 'ProcessingRestricted') return { ...state, restriction: { evidence: evidenceOf(e), purposes: event.data.purposes ?? null } };
    if (event.type === 'ProcessingRestrictionLifted') return { ...state, restriction: null };
    const facts = processingFacts(event);
    const { restriction } = state;
    if (!facts || !restriction || isAccountabilityPurpose(facts.purpose)) return state;
    if (restriction.purposes && !restriction.purposes.some((p) => covers(p, facts.purpose))) return state;
    return report(state, {
      key: event.eventId,
      openedAt: event.occurredAt,
      evidence: [restriction.evidence, evidenceOf(e)],
      detail: `${event.type} for ${facts.purpose} while processing was restricted`,
    });
  },
  judge: reportFound,
};
