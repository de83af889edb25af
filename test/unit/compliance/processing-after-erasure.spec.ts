import { processingAfterErasureRule as rule } from '../../../src/compliance/rules/processing-after-erasure.js';
import { evaluate, HOUR_MS, onlyFinding, ref, scopeHistory, shift } from '../../support/compliance-context.js';

const SUPPORT = 'essential.service.operations.support';
const ERASED = '2026-03-12T09:00:00.000Z';
const LATER = '2026-06-01T00:00:00.000Z';

function supportAccess(categories = ['user.contact.email']) {
  return { categories, purpose: SUPPORT, legalBasis: 'contract', reasonCode: 'customer_initiated_support', ticketRef: 'SUP-9' };
}

describe('processing-after-erasure: processing after erasure or key shredding (Art. 17)', () => {
  it('is a subject rule citing Art. 17, with no deadline', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'processing-after-erasure', article: 'Art. 17', scope: 'subject' });
    expect(rule.duty).toBe('instant');
  });

  it("fires on a support access after the subject's key was shredded, proven by the shredding and the access", () => {
    const h = scopeHistory();
    h.record('SubjectRequestReceived', '2026-03-01T09:00:00.000Z', { requestId: 'req-17', right: 'erasure', channel: 'email' });
    const shredded = h.record('SubjectKeyShredded', ERASED, { reason: 'erasure request fulfilled (Art. 17)', requestId: 'req-17' });
    h.gap(10);
    const read = h.record('PersonalDataAccessed', shift(ERASED, HOUR_MS), supportAccess());

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding).toEqual({
      key: read.event.eventId,
      openedAt: shift(ERASED, HOUR_MS),
      evidence: [
        { eventId: shredded.event.eventId, globalPosition: 1 },
        { eventId: read.event.eventId, globalPosition: 12 },
      ],
      detail: expect.stringContaining(SUPPORT),
    });
  });

  it('fires on a disclosure after an erasure of all the subject data on request, naming the first erasure', () => {
    const h = scopeHistory();
    const erased = h.record('PersonalDataErased', ERASED, { categories: ['user'], reason: 'subject_request', requestId: 'req-17' });
    const shredded = h.record('SubjectKeyShredded', ERASED, { reason: 'erasure request fulfilled (Art. 17)', requestId: 'req-17' });
    const disclosed = h.record('PersonalDataDisclosed', shift(ERASED, HOUR_MS), {
      categories: ['user.contact.email'],
      purpose: SUPPORT,
      legalBasis: 'contract',
      recipient: { id: 'helpdesk-saas', kind: 'processor', country: 'IE' },
    });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding.evidence).toEqual([ref(erased), ref(disclosed)]);
    expect(finding.evidence).not.toContainEqual(ref(shredded));
    expect(finding.detail).toContain('PersonalDataDisclosed');
  });

  it("near miss: the ledger's audit reads and legal obligations after erasure (Art. 17(3)(b),(e))", () => {
    const h = scopeHistory();
    h.record('SubjectKeyShredded', ERASED, { reason: 'erasure request fulfilled (Art. 17)' });
    h.record('PersonalDataAccessed', shift(ERASED, HOUR_MS), { categories: ['user.unique_id'], purpose: 'essential.service.audit', legalBasis: 'legal_obligation', reasonCode: 'audit' });
    h.record('PersonalDataDisclosed', shift(ERASED, 2 * HOUR_MS), {
      categories: ['user.behavior.login_log'],
      purpose: 'third_party_sharing.legal_obligation',
      legalBasis: 'legal_obligation',
      recipient: { id: 'authority-police-cz', kind: 'public_authority', country: 'CZ' },
    });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: a routine erasure at the end of retention is not an erasure of the subject', () => {
    const h = scopeHistory();
    h.record('PersonalDataErased', ERASED, { categories: ['user.sensor.video'], reason: 'retention_expired' });
    h.record('PersonalDataAccessed', shift(ERASED, HOUR_MS), supportAccess());

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: processing one second before the shredding', () => {
    const h = scopeHistory();
    h.record('PersonalDataAccessed', shift(ERASED, -1000), supportAccess());
    h.record('SubjectKeyShredded', ERASED, { reason: 'erasure request fulfilled (Art. 17)' });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: the subject asked to erase one recording; reading their e-mail for support afterwards is lawful', () => {
    // BUG: any PersonalDataErased that is not retention_expired is treated as erasing all of
    // the subject's data, whatever its categories: every later processing becomes a violation.
    const h = scopeHistory();
    h.record('PersonalDataErased', ERASED, { categories: ['user.sensor.video'], reason: 'subject_request' });
    h.record('PersonalDataAccessed', shift(ERASED, HOUR_MS), supportAccess(['user.contact.email']));

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });
});
