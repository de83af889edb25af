import { rightsRequestOverdueRule as rule } from '../../../src/compliance/rules/rights-request-overdue.js';
import { DAY_MS, DPO, evaluate, nextDeadline, onlyFinding, ref, scopeHistory, type ScopeHistory, shift } from '../../support/compliance-context.js';

const RECEIVED = '2026-01-31T10:00:00.000Z';
/** One calendar month after 31 January: the last day of February (Art. 12(3)). */
const DUE = '2026-02-28T10:00:00.000Z';

function received(requestId = 'req-2026-0039', at = RECEIVED): { h: ScopeHistory; request: ReturnType<ScopeHistory['record']> } {
  const h = scopeHistory('cust-1002', 7);
  const request = h.record('SubjectRequestReceived', at, { requestId, right: 'erasure', channel: 'email' }, { actor: DPO });
  h.record('SubjectRequestIdentityVerified', shift(at, DAY_MS), { requestId, method: 'document_check' }, { actor: DPO });
  return { h, request };
}

describe('rights-request-overdue: a rights request past its deadline (Art. 12(3))', () => {
  it('is a subject rule citing Art. 12(3)', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'rights-request-overdue', article: 'Art. 12(3)', scope: 'subject' });
  });

  it('pending: due one calendar month after receipt; nothing open at that very moment', () => {
    const { h } = received();
    expect(nextDeadline(rule, h.context('2026-02-01T00:00:00.000Z'))).toBe(DUE);
    expect(evaluate(rule, h.context(DUE))).toEqual([]);
  });

  it('fires once the month passed with the request open: opened at the due date, proven by the receipt', () => {
    const { h, request } = received();

    const finding = onlyFinding(evaluate(rule, h.context(shift(DUE, 1000))));

    expect(finding).toEqual({
      key: 'req-2026-0039',
      openedAt: DUE,
      evidence: [{ eventId: request.event.eventId, globalPosition: 7 }],
      detail: expect.stringContaining('req-2026-0039'),
    });
    expect(finding.detail).toContain(DUE);
    expect(nextDeadline(rule, h.context(shift(DUE, 1000)))).toBeNull();
  });

  it('near miss: fulfilled exactly on the due date', () => {
    const { h } = received();
    h.record('SubjectRequestFulfilled', DUE, { requestId: 'req-2026-0039' }, { actor: DPO });
    expect(evaluate(rule, h.context('2026-06-01T00:00:00.000Z'))).toEqual([]);
  });

  it('near miss: extended by two months within the first month — due at the end of April instead', () => {
    const { h } = received();
    h.record('SubjectRequestExtended', shift(RECEIVED, 10 * DAY_MS), { requestId: 'req-2026-0039', reason: 'several cameras', additionalMonths: 2 }, { actor: DPO });

    expect(evaluate(rule, h.context('2026-03-15T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context('2026-03-15T00:00:00.000Z'))).toBe('2026-04-30T10:00:00.000Z');
    expect(onlyFinding(evaluate(rule, h.context('2026-05-01T00:00:00.000Z'))).openedAt).toBe('2026-04-30T10:00:00.000Z');
  });

  it('cured: fulfilled a week late — resolved at the fulfilment, by it, keeping the due date as its opening', () => {
    const { h, request } = received();
    const fulfilled = h.record('SubjectRequestFulfilled', shift(DUE, 7 * DAY_MS), { requestId: 'req-2026-0039' }, { actor: DPO });

    expect(onlyFinding(evaluate(rule, h.context(shift(DUE, 8 * DAY_MS))))).toMatchObject({
      key: 'req-2026-0039',
      openedAt: DUE,
      evidence: [ref(request)],
      resolvedAt: shift(DUE, 7 * DAY_MS),
      resolvedBy: [ref(fulfilled)],
    });
  });

  it('cured as well by a late rejection with reasons', () => {
    const { h } = received();
    const rejected = h.record('SubjectRequestRejected', shift(DUE, DAY_MS), { requestId: 'req-2026-0039', reason: 'manifestly unfounded' }, { actor: DPO });
    expect(onlyFinding(evaluate(rule, h.context(shift(DUE, 2 * DAY_MS)))).resolvedBy).toEqual([ref(rejected)]);
  });

  it('tracks each request on its own: only the overdue one opens', () => {
    const { h } = received();
    h.record('SubjectRequestReceived', '2026-02-20T10:00:00.000Z', { requestId: 'req-2026-0050', right: 'access', channel: 'in_app' }, { actor: DPO });

    expect(evaluate(rule, h.context('2026-03-01T00:00:00.000Z')).map((f) => f.key)).toEqual(['req-2026-0039']);
    expect(nextDeadline(rule, h.context('2026-03-01T00:00:00.000Z'))).toBe('2026-03-20T10:00:00.000Z');
  });
});
