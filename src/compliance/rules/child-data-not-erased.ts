import { evidenceOf, hoursAfter, type ComplianceRule, type RuleContext, type ScopeEvent } from '../rule.js';

function childFacts(ctx: RuleContext) {
  let flagged: ScopeEvent | null = null;
  let erased: ScopeEvent | null = null;
  for (const e of ctx.events) {
    if (e.event.type === 'SubjectAgeFlagged') flagged ??= e;
    // Only erasing everything counts: shredding the key, or erasing the whole `user` taxonomy.
    const erasesAll = e.event.type === 'SubjectKeyShredded' || (e.event.type === 'PersonalDataErased' && e.event.data.categories.includes('user'));
    if (flagged && !erased && erasesAll) erased = e;
  }
  if (!flagged) return null;
  return { flagged, erased, deadline: hoursAfter(flagged.event.occurredAt, ctx.config.childErasureDays * 24) };
}

/**
 * Children — GDPR Art. 8 and the privacy statement ("children under 16 are not permitted to
 * create accounts; we will delete the information as soon as possible"): data of a subject
 * flagged under the minimum age is erased within the configured period.
 */
export const childDataNotErasedRule: ComplianceRule = {
  id: 'child-data-not-erased',
  article: 'Art. 8',
  title: "A child's data not erased within the configured period",
  scope: 'subject',
  evaluate(ctx) {
    const facts = childFacts(ctx);
    if (!facts) return [];
    const { flagged, erased, deadline } = facts;
    const erasedAt = erased?.event.occurredAt;
    if (erasedAt !== undefined && erasedAt <= deadline) return [];
    if (erasedAt === undefined && ctx.now.toISOString() <= deadline) return [];
    const finding = { key: 'child-erasure', openedAt: deadline, evidence: [evidenceOf(flagged)], detail: `flagged under the minimum age; data still held after ${deadline}` };
    return [erased ? { ...finding, resolvedAt: erased.event.occurredAt, resolvedBy: [evidenceOf(erased)] } : finding];
  },
  nextDeadline(ctx) {
    const facts = childFacts(ctx);
    return facts && !facts.erased && facts.deadline >= ctx.now.toISOString() ? facts.deadline : null;
  },
};
