import { addDuration, covers, evidenceOf, type ComplianceRule, type EvidenceRef, type Finding, type RuleContext } from '../rule.js';

interface Held {
  readonly collected: EvidenceRef;
  readonly category: string;
  readonly deadline: string;
  readonly activityId: string;
}

/** Every collected category with a registered retention, and when it must be gone. */
function heldData(ctx: RuleContext): Array<Held & { erasedAt?: string; erasedBy?: EvidenceRef }> {
  const held: Array<Held & { erasedAt?: string; erasedBy?: EvidenceRef }> = [];
  for (const e of ctx.events) {
    const { event } = e;
    if (event.type === 'PersonalDataCollected') {
      const register = [...ctx.registerAt(e.globalPosition).values()];
      const activities = event.data.processingActivityId
        ? register.filter((a) => a.activityId === event.data.processingActivityId)
        : register.filter((a) => a.purpose === event.data.purpose);
      for (const category of event.data.categories) {
        for (const activity of activities) {
          const rule = activity.retention.find((r) => covers(r.category, category));
          const deadline = rule ? addDuration(event.occurredAt, rule.period) : null;
          if (deadline) held.push({ collected: evidenceOf(e), category, deadline, activityId: activity.activityId });
        }
      }
    }
    const erasesAll = event.type === 'SubjectKeyShredded';
    const erased = event.type === 'PersonalDataErased' ? event.data.categories : [];
    for (const h of held) {
      if (h.erasedAt) continue;
      if (erasesAll || erased.some((c) => covers(c, h.category))) {
        h.erasedAt = event.occurredAt;
        h.erasedBy = evidenceOf(e);
      }
    }
  }
  return held;
}

/**
 * Storage limitation — GDPR Art. 5(1)(e): data is kept no longer than the retention its
 * processing activity registers (video 10 or 30 days by plan, motion signals seconds,
 * account data until termination). Opens when the period ends with the data not erased;
 * resolved when it is finally erased.
 */
export const retentionExceededRule: ComplianceRule = {
  id: 'retention-exceeded',
  article: 'Art. 5(1)(e)',
  title: 'Data kept beyond its registered retention',
  scope: 'subject',
  evaluate(ctx) {
    const now = ctx.now.toISOString();
    const findings: Finding[] = [];
    for (const h of heldData(ctx)) {
      const late = h.erasedAt ? h.erasedAt > h.deadline : now > h.deadline;
      if (!late) continue;
      findings.push({
        key: `${h.collected.eventId}:${h.category}:${h.activityId}`,
        openedAt: h.deadline,
        evidence: [h.collected],
        detail: `${h.category} collected for ${h.activityId} was due for erasure at ${h.deadline}`,
        ...(h.erasedAt && h.erasedBy ? { resolvedAt: h.erasedAt, resolvedBy: [h.erasedBy] } : {}),
      });
    }
    return findings;
  },
  nextDeadline(ctx) {
    const now = ctx.now.toISOString();
    const pending = heldData(ctx)
      .filter((h) => !h.erasedAt && h.deadline >= now)
      .map((h) => h.deadline)
      .sort();
    return pending[0] ?? null;
  },
};
