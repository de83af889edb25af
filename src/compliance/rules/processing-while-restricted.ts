import { covers, evidenceOf, isAccountabilityPurpose, processingFacts, type ComplianceRule, type EvidenceRef, type Finding } from '../rule.js';

/**
 * Restriction — GDPR Art. 18(2): while processing is restricted, personal data is only stored,
 * apart from the exceptions of Art. 18(2) (legal claims, legal obligations; and the ledger's
 * own accountability reads). Restriction may name purposes; without them it covers all.
 */
export const processingWhileRestrictedRule: ComplianceRule = {
  id: 'processing-while-restricted',
  article: 'Art. 18(2)',
  title: 'Processing other than storage while processing is restricted',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    let restriction: { evidence: EvidenceRef; purposes: readonly string[] | null } | null = null;
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'ProcessingRestricted') restriction = { evidence: evidenceOf(e), purposes: event.data.purposes ?? null };
      if (event.type === 'ProcessingRestrictionLifted') restriction = null;
      const facts = processingFacts(event);
      if (!facts || !restriction || isAccountabilityPurpose(facts.purpose)) continue;
      if (restriction.purposes && !restriction.purposes.some((p) => covers(p, facts.purpose))) continue;
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [restriction.evidence, evidenceOf(e)],
        detail: `${event.type} for ${facts.purpose} while processing was restricted`,
      });
    }
    return findings;
  },
};
