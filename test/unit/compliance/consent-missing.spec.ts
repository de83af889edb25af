import { consentMissingRule as rule } from '../../../src/compliance/rules/consent-missing.js';
import { evaluate, onlyFinding, ref, scopeHistory, shift, SPEC_CONFIG } from '../../support/compliance-context.js';

const EMAIL_MARKETING = 'marketing.communications.email';
const SMS_MARKETING = 'marketing.communications.sms';
const AT = '2026-03-08T07:00:00.000Z';
const LATER = '2026-06-01T00:00:00.000Z';
const MARKETING_ACTOR = { id: 'campaign-mailer', kind: 'service', system: 'marketing' };

function campaignRead(purpose = EMAIL_MARKETING, legalBasis = 'consent') {
  return { categories: ['user.contact.email', 'user.name'], purpose, legalBasis, reasonCode: 'marketing_campaign' };
}

describe('consent-missing: a consent-based purpose processed with no consent given (Art. 6(1)(a))', () => {
  it('is a subject rule citing Art. 6(1)(a), with no deadline', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'consent-missing', article: 'Art. 6(1)(a)', scope: 'subject' });
    expect(rule.duty).toBe('instant');
  });

  it('the vocabulary marks e-mail marketing as resting on consent (what the rule relies on)', () => {
    expect(SPEC_CONFIG.consentPurposes.has(EMAIL_MARKETING)).toBe(true);
    expect(SPEC_CONFIG.consentPurposes.has('essential.service.operations.support')).toBe(false);
  });

  it('fires on a marketing campaign reading a subject who never consented', () => {
    const h = scopeHistory().gap(3);
    const read = h.record('PersonalDataAccessed', AT, campaignRead(), { actor: MARKETING_ACTOR });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding).toEqual({ key: read.event.eventId, openedAt: AT, evidence: [{ eventId: read.event.eventId, globalPosition: 3 }], detail: expect.stringContaining(EMAIL_MARKETING) });
    expect(finding.resolvedAt).toBeUndefined();
  });

  it('fires when the event itself states consent as its basis, even for a purpose that does not always need it', () => {
    const h = scopeHistory();
    const read = h.record('PersonalDataAccessed', AT, { categories: ['user.device.firmware_version'], purpose: 'essential.service.operations.improve', legalBasis: 'consent', reasonCode: 'analytics_job' });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding.evidence).toEqual([ref(read)]);
    expect(finding.detail).toContain('essential.service.operations.improve');
  });

  it('fires when the consent given was for another purpose (SMS, not e-mail)', () => {
    const h = scopeHistory();
    h.record('ConsentGranted', shift(AT, -86_400_000), { purposes: [SMS_MARKETING], method: 'in_app' });
    const read = h.record('PersonalDataAccessed', AT, campaignRead(), { actor: MARKETING_ACTOR });

    expect(onlyFinding(evaluate(rule, h.context(LATER))).key).toBe(read.event.eventId);
  });

  it('near miss: consent granted one second before the campaign', () => {
    const h = scopeHistory();
    h.record('ConsentGranted', shift(AT, -1000), { purposes: [EMAIL_MARKETING], method: 'in_app' });
    h.record('PersonalDataAccessed', AT, campaignRead(), { actor: MARKETING_ACTOR });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('a consent recorded after the campaign (given one second later) does not make it lawful', () => {
    const h = scopeHistory();
    const read = h.record('PersonalDataAccessed', AT, campaignRead(), { actor: MARKETING_ACTOR });
    h.record('ConsentGranted', shift(AT, 1000), { purposes: [EMAIL_MARKETING], method: 'in_app' });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));
    expect(finding.key).toBe(read.event.eventId);
    expect(finding.resolvedAt).toBeUndefined();
  });

  it("near miss: a purpose that rests on the contract needs no consent", () => {
    const h = scopeHistory();
    h.record('PersonalDataAccessed', AT, { categories: ['user.contact.email'], purpose: 'essential.service.operations.support', legalBasis: 'contract', reasonCode: 'customer_initiated_support' });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it("leaves processing after a withdrawal to Art. 7(3)'s rule: consent was given, so it is not 'never given'", () => {
    const h = scopeHistory();
    h.record('ConsentGranted', shift(AT, -2 * 86_400_000), { purposes: [EMAIL_MARKETING], method: 'in_app' });
    h.record('ConsentWithdrawn', shift(AT, -86_400_000), { purposes: [EMAIL_MARKETING] });
    h.record('PersonalDataAccessed', AT, campaignRead(), { actor: MARKETING_ACTOR });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('opens one finding per offending event', () => {
    const h = scopeHistory();
    const first = h.record('PersonalDataAccessed', AT, campaignRead(), { actor: MARKETING_ACTOR });
    const second = h.record('PersonalDataAccessed', shift(AT, 7 * 86_400_000), campaignRead(), { actor: MARKETING_ACTOR });

    expect(evaluate(rule, h.context(LATER)).map((f) => f.key)).toEqual([first.event.eventId, second.event.eventId]);
  });
});
