import { addCalendarMonths } from '../../ledger/domain/workflow.js';
import { dated, earliest, evidenceOf, type ComplianceRule, type Dated, type EvidenceRef, type Finding } from '../rule.js';

interface RequestTrack {
  readonly requestId: string;
  readonly received: EvidenceRef;
  readonly receivedAt: string;
  readonly dueBy: string;
  /** The first answer (fulfilment or rejection). */
  readonly closed: Dated | null;
}

export interface RightsRequestOverdueState {
  /** Requests not yet judged answered, in the order received. */
  readonly requests: readonly RequestTrack[];
}

/**
 * Time limit for rights requests — GDPR Art. 12(3): a request is answered within one month of
 * receipt (calendar-month rule), extended at most by two further months. Opens when the
 * deadline passes with the request open; resolved when it is finally answered. An extension
 * recorded after a violation opened moves the deadline and supersedes it.
 *
 * State: only requests still open, and answered ones until the next judgement reports their
 * final verdict (answered late, so cured; or in time, so cleared). The ledger's workflow
 * refuses a second answer and an extension after an answer (decideWorkflow), so that verdict
 * can no longer change. The state is bounded by the subject's open requests.
 */
export const rightsRequestOverdueRule: ComplianceRule<RightsRequestOverdueState> = {
  id: 'rights-request-overdue',
  article: 'Art. 12(3)',
  title: 'Rights request not answered by its deadline',
  scope: 'subject',
  duty: 'deadline',
  initial: () => ({ requests: [] }),
  evolve(state, e) {
    const { event } = e;
    const update = (requestId: string, change: (t: RequestTrack) => RequestTrack) => ({ requests: state.requests.map((t) => (t.requestId === requestId ? change(t) : t)) });
    switch (event.type) {
      case 'SubjectRequestReceived': {
        const { requestId } = event.data;
        const track: RequestTrack = { requestId, received: evidenceOf(e), receivedAt: event.occurredAt, dueBy: addCalendarMonths(event.occurredAt, 1), closed: null };
        return state.requests.some((t) => t.requestId === requestId) ? update(requestId, () => track) : { requests: [...state.requests, track] };
      }
      case 'SubjectRequestExtended': {
        const months = 1 + event.data.additionalMonths;
        return update(event.data.requestId, (t) => ({ ...t, dueBy: addCalendarMonths(t.receivedAt, months) }));
      }
      case 'SubjectRequestFulfilled':
      case 'SubjectRequestRejected':
        return update(event.data.requestId, (t) => (t.closed === null ? { ...t, closed: dated(e) } : t));
      default:
        return state;
    }
  },
  judge(state, now) {
    const findings: Finding[] = [];
    const cleared: string[] = [];
    for (const t of state.requests) {
      const late = t.closed !== null ? t.closed.at > t.dueBy : now > t.dueBy;
      if (!late) {
        cleared.push(t.requestId);
        continue;
      }
      findings.push({
        key: t.requestId,
        openedAt: t.dueBy,
        evidence: [t.received],
        detail: `request ${t.requestId} received ${t.receivedAt} was due by ${t.dueBy}`,
        ...(t.closed !== null ? { resolvedAt: t.closed.at, resolvedBy: [t.closed.evidence] } : {}),
      });
    }
    const open = state.requests.filter((t) => t.closed === null);
    return { findings, cleared, cures: [], nextDeadline: earliest(open.map((t) => (t.dueBy >= now ? t.dueBy : null))), state: { requests: open } };
  },
};
