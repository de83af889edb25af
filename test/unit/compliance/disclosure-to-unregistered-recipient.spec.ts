import { disclosureToUnregisteredRecipientRule as rule } from '../../../src/compliance/rules/disclosure-to-unregistered-recipient.js';
import { activity, evaluate, onlyFinding, ref, scopeHistory } from '../../support/compliance-context.js';

const SUPPORT = 'essential.service.operations.support';
const AT = '2026-03-20T11:30:00.000Z';
const LATER = '2026-06-01T00:00:00.000Z';
const PUSH_PROVIDER = { id: 'proc-push-notifications', kind: 'processor', country: 'IE' };
const HELPDESK = { id: 'helpdesk-saas', kind: 'processor', country: 'IE' };

const alerts = activity({ activityId: 'act-alerts', purpose: 'essential.service.notifications', categories: ['user.sensor.still_image'], recipients: [PUSH_PROVIDER] });

function disclosure(recipient: { id: string; kind: string; country?: string }) {
  return { categories: ['user.contact.email'], purpose: SUPPORT, legalBasis: 'contract', recipient, processingActivityId: 'act-support' };
}

describe('disclosure-to-unregistered-recipient (Art. 13(1)(e), 30(1)(d))', () => {
  it('is a subject rule citing Art. 13(1)(e), 30(1)(d), with no deadline', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'disclosure-to-unregistered-recipient', article: 'Art. 13(1)(e), 30(1)(d)', scope: 'subject' });
    expect(rule.duty).toBe('instant');
  });

  it('fires on a disclosure to a helpdesk vendor that no registered activity names', () => {
    const h = scopeHistory();
    h.register(alerts);
    h.gap(4);
    const disclosed = h.record('PersonalDataDisclosed', AT, disclosure(HELPDESK));

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding).toEqual({ key: disclosed.event.eventId, openedAt: AT, evidence: [{ eventId: disclosed.event.eventId, globalPosition: 5 }], detail: expect.stringContaining('helpdesk-saas') });
    expect(finding.detail).toMatch(/^disclosed to processor helpdesk-saas/);
  });

  it('fires on a transfer to an unregistered recipient, and says it was a transfer', () => {
    const h = scopeHistory();
    const transferred = h.record('PersonalDataTransferred', AT, {
      categories: ['user.device.firmware_version'],
      purpose: 'essential.service.operations.improve',
      legalBasis: 'legitimate_interests',
      recipient: { id: 'vendor-telemetry-cn', kind: 'processor', country: 'CN' },
      destinationCountry: 'CN',
      mechanism: 'none',
    });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));
    expect(finding.evidence).toEqual([ref(transferred)]);
    expect(finding.detail).toMatch(/^transferred to processor vendor-telemetry-cn/);
  });

  it('near miss: a recipient any registered activity names, whatever the activity', () => {
    const h = scopeHistory();
    h.register(alerts);
    h.record('PersonalDataDisclosed', AT, disclosure(PUSH_PROVIDER));
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('a recipient is recognised by its id: the same kind in the same country is another recipient', () => {
    const h = scopeHistory();
    h.register(alerts);
    const disclosed = h.record('PersonalDataDisclosed', AT, disclosure({ id: 'proc-push-other', kind: 'processor', country: 'IE' }));
    expect(onlyFinding(evaluate(rule, h.context(LATER))).key).toBe(disclosed.event.eventId);
  });

  it('accesses are not disclosures', () => {
    const h = scopeHistory();
    h.record('PersonalDataAccessed', AT, { categories: ['user.contact.email'], purpose: SUPPORT, legalBasis: 'contract', reasonCode: 'customer_initiated_support' });
    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  describe('the register as it stood at the disclosure', () => {
    it('registering the recipient afterwards does not clear the disclosure already made; later disclosures are fine', () => {
      const h = scopeHistory();
      const early = h.record('PersonalDataDisclosed', AT, disclosure(HELPDESK));
      h.register(activity({ activityId: 'act-support', purpose: SUPPORT, categories: ['user.contact.email'], recipients: [HELPDESK] }));
      h.record('PersonalDataDisclosed', '2026-03-21T11:30:00.000Z', disclosure(HELPDESK));

      const finding = onlyFinding(evaluate(rule, h.context(LATER)));
      expect(finding.key).toBe(early.event.eventId);
      expect(finding.resolvedAt).toBeUndefined();
    });
  });
});
