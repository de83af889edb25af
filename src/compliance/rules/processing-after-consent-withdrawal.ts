import { covers, evidenceOf, processingFacts, report, reportFound, type ComplianceRule, type EvidenceRef, type Unreported } from '../rule.js';

interface ConsentChange {
  readonly purpose: string;
  readonly granted: boolean;
  readonly evidence: EvidenceRef;
}

export interface ProcessingAfterConsentWithdrawalState extends Unreported {
  /** The latest consent change of each purpose named so far, oldest first. */
  readonly latest: readonly ConsentChange[];
}

/**
 * Withdrawal of consent — GDPR Art. 7(3): once the subject withdraws consent for a purpose,
 * processing for that purpose stops (until consent is given again). Taxonomy purposes are
 * hierarchical: withdrawing `marketing` withdraws `marketing.communications.email`, and what
 * counts is the latest change of any purpose that covers the one processed.
 *
 * State: only the latest change per purpose (an earlier change of the same purpose can never
 * again be the latest), so it is bounded by the purposes of the vocabulary; and the findings
 * not yet reported (each judged once, at its own event).
 */
export const processingAfterConsentWithdrawalRule: ComplianceRule<ProcessingAfterConsentWithdrawalState> = {
  id: 'processing-after-consent-withdrawal',
  article: 'Art. 7(3)',
  title: 'Processing for a purpose after its consent was withdrawn',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ latest: [], found: [] }),
  evolve(state, e) {
    const { event } = e;
    if (event.type === 'ConsentWithdrawn' || event.type === 'ConsentGranted') {
      const granted = event.type === 'ConsentGranted';
      let latest = state.latest;
      for (const purpose of event.data.purposes) latest = [...latest.filter((c) => c.purpose !== purpose), { purpose, granted, evidence: evidenceOf(e) }];
      return { ...state, latest };
    }
    const facts = processingFacts(event);
    if (!facts) return state;
    const change = state.latest.filter((c) => covers(c.purpose, facts.purpose)).at(-1);
    if (!change || change.granted) return state;
    return report(state, {
      key: event.eventId,
      openedAt: event.occurredAt,
      evidence: [change.evidence, evidenceOf(e)],
      detail: `${facts.purpose} processed after the subject withdrew consent for it`,
    });
  },
  judge: reportFound,
};
