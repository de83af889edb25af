import { covers, evidenceOf, isAccountabilityPurpose, processingFacts, report, reportFound, type ComplianceRule, type Unreported } from '../rule.js';

export type PurposeLimitationState = Unreported;

/**
 * Purpose limitation — GDPR Art. 5(1)(b): personal data is processed only for the purposes it
 * was collected and registered for. A category processed for a purpose that no activity of
 * the register (as it stood at that moment) names for that category is a violation. A later
 * registration does not cure processing that already happened.
 *
 * State: only the findings not yet reported; each is judged once, at its own event.
 */
export const purposeLimitationRule: ComplianceRule<PurposeLimitationState> = {
  id: 'purpose-limitation',
  article: 'Art. 5(1)(b)',
  title: 'Category processed for a purpose not registered for it',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ found: [] }),
  evolve(state, e, register) {
    const facts = processingFacts(e.event);
    if (!facts || isAccountabilityPurpose(facts.purpose)) return state;
    const activities = [...register.values()];
    const unregistered = facts.categories.filter(
      (category) => !activities.some((a) => covers(a.purpose, facts.purpose) && a.categories.some((c) => covers(c, category))),
    );
    if (unregistered.length === 0) return state;
    return report(state, {
      key: e.event.eventId,
      openedAt: e.event.occurredAt,
      evidence: [evidenceOf(e)],
      detail: `${unregistered.join(', ')} processed for ${facts.purpose}, which the register does not name for ${unregistered.length > 1 ? 'them' : 'it'}`,
    });
  },
  judge: reportFound,
};
