import { evidenceOf, processingFacts, type ComplianceRule, type Finding } from '../rule.js';

/**
 * No legal basis — GDPR Art. 6(1)(a): processing for a purpose that rests on consent needs the
 * subject's consent in force at that moment (granted, and not withdrawn since). Processing
 * after a withdrawal is the separate rule of Art. 7(3).
 */
export const consentMissingRule: ComplianceRule = {
  id: 'consent-missing',
  article: 'Art. 6(1)(a)',
  title: 'Consent-based purpose processed without consent in force',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    const everGranted = new Set<string>();
    const inForce = new Set<string>();
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'ConsentGranted') {
        for (const p of event.data.purposes) {
          everGranted.add(p);
          inForce.add(p);
        }
      }
      if (event.type === 'ConsentWithdrawn') for (const p of event.data.purposes) inForce.delete(p);
      const facts = processingFacts(event);
      if (!facts) continue;
      const needsConsent = facts.legalBasis === 'consent' || ctx.config.consentPurposes.has(facts.purpose);
      // Withdrawn consent is Art. 7(3)'s rule; this one is for consent never given.
      if (needsConsent && !inForce.has(facts.purpose) && !everGranted.has(facts.purpose)) {
        findings.push({
          key: event.eventId,
          openedAt: event.occurredAt,
          evidence: [evidenceOf(e)],
          detail: `${facts.purpose} rests on consent and the subject never gave it`,
        });
      }
    }
    return findings;
  },
};
