import { evidenceOf, isAccountabilityPurpose, processingFacts, type ComplianceRule, type EvidenceRef, type Finding } from '../rule.js';

/**
 * Right to erasure — GDPR Art. 17: after a subject's data was erased or their key shredded,
 * no further processing of their personal data (the ledger's own accountability record and
 * legal obligations excepted, Art. 17(3)(b),(e)). Recorded as evidence, never refused.
 */
export const processingAfterErasureRule: ComplianceRule = {
  id: 'processing-after-erasure',
  article: 'Art. 17',
  title: 'Processing after erasure or key shredding',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    let erased: EvidenceRef | null = null;
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'SubjectKeyShredded' || (event.type === 'PersonalDataErased' && event.data.reason !== 'retention_expired')) {
        erased ??= evidenceOf(e);
        continue;
      }
      const facts = processingFacts(event);
      if (!facts || !erased || isAccountabilityPurpose(facts.purpose)) continue;
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [erased, evidenceOf(e)],
        detail: `${event.type} for ${facts.purpose} after the subject's data was erased`,
      });
    }
    return findings;
  },
};
