import { evidenceOf, hoursAfter, type ComplianceRule, type RuleContext, type ScopeEvent } from '../rule.js';

function highRisk(ctx: RuleContext) {
  let assessed: ScopeEvent | null = null;
  let notified: ScopeEvent | null = null;
  for (const e of ctx.events) {
    if (e.event.type === 'BreachAssessed') assessed = e.event.data.risk === 'high_risk' ? e : null;
    if (e.event.type === 'BreachSubjectsNotified') notified ??= e;
  }
  if (!assessed) return null;
  return { assessed, notified, deadline: hoursAfter(assessed.event.occurredAt, ctx.config.breachSubjectNoticeHours) };
}

/**
 * Communication to the data subjects — GDPR Art. 34(1): a breach likely to result in a high
 * risk is communicated to the affected subjects without undue delay (measured here as the
 * configured hours after the high-risk assessment). Resolved when the subjects are notified.
 */
export const breachSubjectsNotNotifiedRule: ComplianceRule = {
  id: 'breach-subjects-not-notified',
  article: 'Art. 34',
  title: 'High-risk breach not communicated to the affected subjects',
  scope: 'breach',
  evaluate(ctx) {
    const facts = highRisk(ctx);
    if (!facts) return [];
    const { assessed, notified, deadline } = facts;
    const notifiedAt = notified?.event.occurredAt;
    if (notifiedAt !== undefined && notifiedAt <= deadline) return [];
    if (notifiedAt === undefined && ctx.now.toISOString() <= deadline) return [];
    const finding = {
      key: 'subject-notice',
      openedAt: deadline,
      evidence: [evidenceOf(assessed)],
      detail: `assessed high risk; the affected subjects were not told by ${deadline}`,
    };
    return [notified ? { ...finding, resolvedAt: notified.event.occurredAt, resolvedBy: [evidenceOf(notified)] } : finding];
  },
  nextDeadline(ctx) {
    const facts = highRisk(ctx);
    return facts && !facts.notified && facts.deadline >= ctx.now.toISOString() ? facts.deadline : null;
  },
};
