import { covers, evidenceOf, isAccountabilityPurpose, processingFacts, type ComplianceRule, type EvidenceRef, type Finding } from '../rule.js';

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
    // What was erased, by category; shredding the key erases every personal value (`user`).
    const erasures: Array<{ categories: readonly string[]; evidence: EvidenceRef }> = [];
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'SubjectKeyShredded') erasures.push({ categories: ['user'], evidence: evidenceOf(e) });
      if (event.type === 'PersonalDataErased' && event.data.reason !== 'retention_expired') {
        erasures.push({ categories: event.data.categories, evidence: evidenceOf(e) });
      }
      const facts = processingFacts(event);
      if (!facts || isAccountabilityPurpose(facts.purpose)) continue;
      const erasure = erasures.find((x) => facts.categories.some((c) => x.categories.some((erased) => covers(erased, c))));
      if (!erasure) continue;
      const again = facts.categories.filter((c) => erasure.categories.some((erased) => covers(erased, c)));
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [erasure.evidence, evidenceOf(e)],
        detail: `${event.type} of ${again.join(', ')} for ${facts.purpose} after ${again.length > 1 ? 'they were' : 'it was'} erased`,
      });
    }
    return findings;
  },
};
