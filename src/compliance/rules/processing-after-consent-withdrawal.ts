import { covers, evidenceOf, processingFacts, type ComplianceRule, type EvidenceRef, type Finding } from '../rule.js';

/**
 * Withdrawal of consent — GDPR Art. 7(3): once the subject withdraws consent for a purpose,
 * processing for that purpose stops (until consent is given again).
 */
export const processingAfterConsentWithdrawalRule: ComplianceRule = {
  id: 'processing-after-consent-withdrawal',
  article: 'Art. 7(3)',
  title: 'Processing for a purpose after its consent was withdrawn',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    // Taxonomy purposes are hierarchical: withdrawing `marketing` withdraws `marketing.communications.email`.
    const consentChanges: Array<{ purpose: string; granted: boolean; evidence: EvidenceRef }> = [];
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'ConsentWithdrawn') for (const p of event.data.purposes) consentChanges.push({ purpose: p, granted: false, evidence: evidenceOf(e) });
      if (event.type === 'ConsentGranted') for (const p of event.data.purposes) consentChanges.push({ purpose: p, granted: true, evidence: evidenceOf(e) });
      const facts = processingFacts(event);
      const latest = facts ? consentChanges.filter((c) => covers(c.purpose, facts.purpose)).at(-1) : undefined;
      const withdrawal = latest && !latest.granted ? latest.evidence : undefined;
      if (facts && withdrawal) {
        findings.push({
          key: event.eventId,
          openedAt: event.occurredAt,
          evidence: [withdrawal, evidenceOf(e)],
          detail: `${facts.purpose} processed after the subject withdrew consent for it`,
        });
      }
    }
    return findings;
  },
};
