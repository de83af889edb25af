import { transferWithoutSafeguardRule as rule } from '../../../src/compliance/rules/transfer-without-safeguard.js';
import { evaluate, onlyFinding, scopeHistory, SPEC_CONFIG } from '../../support/compliance-context.js';

const AT = '2026-03-18T02:00:00.000Z';
const LATER = '2026-06-01T00:00:00.000Z';
const ANALYTICS = { id: 'analytics-nightly', kind: 'service', system: 'analytics' };

function transferTo(country: string, mechanism: string) {
  return {
    categories: ['user.device.firmware_version'],
    purpose: 'essential.service.operations.improve',
    legalBasis: 'legitimate_interests',
    recipient: { id: `vendor-telemetry-${country.toLowerCase()}`, kind: 'processor', country },
    destinationCountry: country,
    mechanism,
  };
}

describe('transfer-without-safeguard: outside the EEA with no adequacy or safeguard (Art. 44-46)', () => {
  it('is a subject rule citing Art. 44-46, with no deadline', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'transfer-without-safeguard', article: 'Art. 44-46', scope: 'subject' });
    expect(rule.duty).toBe('instant');
  });

  it('fires on an export to China with no mechanism, naming the country', () => {
    const h = scopeHistory().gap(9);
    const transfer = h.record('PersonalDataTransferred', AT, transferTo('CN', 'none'), { actor: ANALYTICS });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding).toEqual({ key: transfer.event.eventId, openedAt: AT, evidence: [{ eventId: transfer.event.eventId, globalPosition: 9 }], detail: expect.stringContaining('CN') });
    expect(finding.detail).toMatch(/no safeguard/);
  });

  it('fires on a transfer that claims an adequacy decision India does not have', () => {
    expect(SPEC_CONFIG.adequateCountries.has('IN')).toBe(false);
    const h = scopeHistory();
    h.record('PersonalDataTransferred', AT, transferTo('IN', 'adequacy_decision'));

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));
    expect(finding.detail).toContain('IN');
    expect(finding.detail).toMatch(/adequacy/);
  });

  it('near miss: to the US under standard contractual clauses', () => {
    const h = scopeHistory();
    h.record('PersonalDataTransferred', AT, transferTo('US', 'standard_contractual_clauses'));
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: to a country with an adequacy decision (Japan), relying on it', () => {
    expect(SPEC_CONFIG.adequateCountries.has('JP')).toBe(true);
    const h = scopeHistory();
    h.record('PersonalDataTransferred', AT, transferTo('JP', 'adequacy_decision'));
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: inside the EEA (Germany, Norway) no Chapter V mechanism is needed', () => {
    const h = scopeHistory();
    h.record('PersonalDataTransferred', AT, transferTo('DE', 'none'));
    h.record('PersonalDataTransferred', AT, transferTo('NO', 'none'));
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: binding corporate rules or an Art. 49 derogation are safeguards', () => {
    const h = scopeHistory();
    h.record('PersonalDataTransferred', AT, transferTo('IN', 'binding_corporate_rules'));
    h.record('PersonalDataTransferred', AT, transferTo('CN', 'art49_derogation'));
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('a disclosure is not a Chapter V transfer event: only PersonalDataTransferred is judged', () => {
    const h = scopeHistory();
    h.record('PersonalDataDisclosed', AT, { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', legalBasis: 'contract', recipient: { id: 'vendor-cn', kind: 'processor', country: 'CN' } });
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });
});
