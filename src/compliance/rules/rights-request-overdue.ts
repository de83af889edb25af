import { addCalendarMonths } from '../../ledger/domain/workflow.js';
import { evidenceOf, type ComplianceRule, type EvidenceRef, type Finding, type RuleContext } from '../rule.js';

interface RequestTrack {
  received: EvidenceRef;
  receivedAt: string;
  dueBy: string;
  closedAt?: string;
  closedBy?: EvidenceRef;
}

function requests(ctx: RuleContext): Map<string, RequestTrack> {
  const tracks = new Map<string, RequestTrack>();
  for (const e of ctx.events) {
    const { event } = e;
    if (event.type === 'SubjectRequestReceived') {
      tracks.set(event.data.requestId, { received: evidenceOf(e), receivedAt: event.occurredAt, dueBy: addCalendarMonths(event.occurredAt, 1) });
    }
    if (event.type === 'SubjectRequestExtended') {
      const t = tracks.get(event.data.requestId);
      if (t) t.dueBy = addCalendarMonths(t.receivedAt, 1 + event.data.additionalMonths);
    }
    if (event.type === 'SubjectRequestFulfilled' || event.type === 'SubjectRequestRejected') {
      const t = tracks.get(event.data.requestId);
      if (t && !t.closedAt) {
        t.closedAt = event.occurredAt;
        t.closedBy = evidenceOf(e);
      }
    }
  }
  return tracks;
}

/**
 * Time limit for rights requests — GDPR Art. 12(3): a request is answered within one month of
 * receipt (calendar-month rule), extended at most by two further months. Opens when the
 * deadline passes with the request open; resolved when it is finally answered.
 */
export const rightsRequestOverdueRule: ComplianceRule = {
  id: 'rights-request-overdue',
  article: 'Art. 12(3)',
  title: 'Rights request not answered by its deadline',
  scope: 'subject',
  evaluate(ctx) {
    const now = ctx.now.toISOString();
    const findings: Finding[] = [];
    for (const [requestId, t] of requests(ctx)) {
      const late = t.closedAt ? t.closedAt > t.dueBy : now > t.dueBy;
      if (!late) continue;
      findings.push({
        key: requestId,
        openedAt: t.dueBy,
        evidence: [t.received],
        detail: `request ${requestId} received ${t.receivedAt} was due by ${t.dueBy}`,
        ...(t.closedAt && t.closedBy ? { resolvedAt: t.closedAt, resolvedBy: [t.closedBy] } : {}),
      });
    }
    return findings;
  },
  nextDeadline(ctx) {
    const now = ctx.now.toISOString();
    const due = [...requests(ctx).values()].filter((t) => !t.closedAt && t.dueBy >= now).map((t) => t.dueBy).sort();
    return due[0] ?? null;
  },
};
