import { covers, evidenceOf, isAccountabilityPurpose, processingFacts, type ComplianceRule, type Finding } from '../rule.js';

/**
 * Purpose limitation — GDPR Art. 5(1)(b): personal data is processed only for the purposes it
 * was collected and registered for. A category processed for a purpose that no activity of
 * the register (as it stood at that moment) names for that category is a violation. A later
 * registration does not cure processing that already happened.
 */
export const purposeLimitationRule: ComplianceRule = {
  id: 'purpose-limitation',
  article: 'Art. 5(1)(b)',
  title: 'Category processed for a purpose not registered for it',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const e of ctx.events) {
      const facts = processingFacts(e.event);
      if (!facts || isAccountabilityPurpose(facts.purpose)) continue;
      const register = [...ctx.registerAt(e.globalPosition).values()];
      const unregistered = facts.categories.filter(
        (category) => !register.some((a) => covers(a.purpose, facts.purpose) && a.categories.some((c) => covers(c, category))),
      );
      if (unregistered.length === 0) continue;
      findings.push({
        key: e.event.eventId,
        openedAt: e.event.occurredAt,
        evidence: [evidenceOf(e)],
        detail: `${unregistered.join(', ')} processed for ${facts.purpose}, which the register does not name for ${unregistered.length > 1 ? 'them' : 'it'}`,
      });
    }
    return findings;
  },
};
