import { evidenceOf, hoursAfter, type ComplianceRule, type Finding, type RuleContext, type ScopeEvent } from '../rule.js';

function breachFacts(ctx: RuleContext) {
  let detected: ScopeEvent | null = null;
  let reported: ScopeEvent | null = null;
  let unlikelyRisk: ScopeEvent | null = null;
  for (const e of ctx.events) {
    if (e.event.type === 'BreachDetected') detected = e;
    if (e.event.type === 'BreachReportedToAuthority') reported ??= e;
    if (e.event.type === 'BreachAssessed') unlikelyRisk = e.event.data.risk === 'unlikely' ? e : null;
  }
  if (!detected || detected.event.type !== 'BreachDetected') return null;
  return { detected, deadline: hoursAfter(detected.event.data.awareAt, 72), reported, unlikelyRisk };
}

/**
 * Breach notification to the supervisory authority — GDPR Art. 33(1): without undue delay and
 * where feasible within 72 hours of becoming aware, unless the breach is unlikely to result in
 * a risk; a later notice must give the reasons for the delay. Opens when 72 hours pass with no
 * notice (and no recorded reason for the delay); a late notice still sent resolves it.
 */
export const breachAuthorityNoticeLateRule: ComplianceRule = {
  id: 'breach-authority-notice-late',
  article: 'Art. 33(1)',
  title: 'No notice to the supervisory authority within 72 hours of awareness',
  scope: 'breach',
  evaluate(ctx) {
    const facts = breachFacts(ctx);
    if (!facts) return [];
    const { detected, deadline, reported, unlikelyRisk } = facts;
    if (unlikelyRisk && unlikelyRisk.event.occurredAt <= deadline) return [];
    const reportedAt = reported?.event.occurredAt;
    if (reportedAt !== undefined && reportedAt <= deadline) return [];
    if (reportedAt === undefined && ctx.now.toISOString() <= deadline) return [];
    const finding: Finding = {
      key: 'authority-notice',
      openedAt: deadline,
      evidence: [evidenceOf(detected)],
      detail: `aware at ${detected.event.type === 'BreachDetected' ? detected.event.data.awareAt : ''}; no notice to the authority by ${deadline}`,
    };
    return [reported ? { ...finding, resolvedAt: reported.event.occurredAt, resolvedBy: [evidenceOf(reported)] } : finding];
  },
  nextDeadline(ctx) {
    const facts = breachFacts(ctx);
    return facts && !facts.reported && !facts.unlikelyRisk && facts.deadline >= ctx.now.toISOString() ? facts.deadline : null;
  },
};
