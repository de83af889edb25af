import { purposeLimitationRule as rule } from '../../../src/compliance/rules/purpose-limitation.js';
import { activity, evaluate, onlyFinding, ref, scopeHistory } from '../../support/compliance-context.js';

const SUPPORT = 'essential.service.operations.support';
const RECORDING = 'essential.service.recording';
const IMPROVE = 'essential.service.operations.improve';
const AT = '2026-03-02T14:20:00.000Z';
const LATER = '2026-06-01T00:00:00.000Z';

const supportActivity = activity({ activityId: 'act-support', purpose: SUPPORT, categories: ['user.contact.email', 'user.device.serial_number'] });
const recordingActivity = activity({ activityId: 'act-recording', purpose: RECORDING, categories: ['user.sensor.video', 'user.sensor.audio'] });

function supportAccess(categories: string[], purpose = SUPPORT) {
  return { categories, purpose, legalBasis: 'contract', reasonCode: 'customer_initiated_support', ticketRef: 'SUP-1042' };
}

describe('purpose-limitation: a category processed for a purpose the register does not name for it (Art. 5(1)(b))', () => {
  it('is a subject rule citing Art. 5(1)(b), with no deadline of its own', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'purpose-limitation', article: 'Art. 5(1)(b)', scope: 'subject' });
    expect(rule.duty).toBe('instant');
  });

  it('fires on an access that reads a category no activity registers for the purpose, naming only that category', () => {
    const h = scopeHistory();
    h.register(supportActivity);
    h.gap(5);
    const access = h.record('PersonalDataAccessed', AT, supportAccess(['user.contact.email', 'user.sensor.video']));

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding).toEqual({ key: access.event.eventId, openedAt: AT, evidence: [{ eventId: access.event.eventId, globalPosition: 6 }], detail: expect.any(String) });
    expect(finding.detail).toContain('user.sensor.video');
    expect(finding.detail).toContain(SUPPORT);
    expect(finding.detail).not.toContain('user.contact.email');
  });

  it('fires when the category is registered, but only for another purpose (video for recording, used to improve the service)', () => {
    const h = scopeHistory();
    h.register(recordingActivity);
    const collected = h.record('PersonalDataCollected', AT, { categories: ['user.sensor.video'], purpose: RECORDING, legalBasis: 'contract', source: 'device', processingActivityId: 'act-recording' });
    const reuse = h.record('PersonalDataAccessed', '2026-03-03T02:00:00.000Z', { categories: ['user.sensor.video'], purpose: IMPROVE, legalBasis: 'legitimate_interests', reasonCode: 'analytics_job' });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding.key).toBe(reuse.event.eventId);
    expect(finding.evidence).toEqual([ref(reuse)]);
    expect(finding.detail).toContain(IMPROVE);
    expect(finding.detail).toContain('user.sensor.video');
    expect(evaluate(rule, h.context(LATER)).map((f) => f.key)).not.toContain(collected.event.eventId);
  });

  it('names every unregistered category of one event in one finding', () => {
    const h = scopeHistory();
    h.register(supportActivity);
    h.record('PersonalDataDisclosed', AT, {
      categories: ['user.sensor.video', 'user.sensor.audio', 'user.contact.email'],
      purpose: SUPPORT,
      legalBasis: 'contract',
      recipient: { id: 'helpdesk-saas', kind: 'processor', country: 'IE' },
    });

    const finding = onlyFinding(evaluate(rule, h.context(LATER)));

    expect(finding.detail).toMatch(/user\.sensor\.video, user\.sensor\.audio/);
    expect(finding.detail).not.toContain('user.contact.email');
  });

  it('near miss: a category registered under its parent key (user.contact covers user.contact.email)', () => {
    const h = scopeHistory();
    h.register(activity({ activityId: 'act-support', purpose: SUPPORT, categories: ['user.contact', 'user.device'] }));
    h.record('PersonalDataAccessed', AT, supportAccess(['user.contact.email', 'user.device.serial_number']));

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('near miss: a purpose registered under its parent key (essential.service.operations covers support)', () => {
    const h = scopeHistory();
    h.register(activity({ activityId: 'act-ops', purpose: 'essential.service.operations', categories: ['user.contact.email'] }));
    h.record('PersonalDataAccessed', AT, supportAccess(['user.contact.email']));

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('fires when the event names a broader key (user.contact) than the register names (user.contact.email)', () => {
    const h = scopeHistory();
    h.register(supportActivity);
    const access = h.record('PersonalDataAccessed', AT, supportAccess(['user.contact']));

    expect(onlyFinding(evaluate(rule, h.context(LATER))).key).toBe(access.event.eventId);
  });

  it("near miss: the ledger's own audit reads and legal obligations need no registration", () => {
    const h = scopeHistory();
    h.record('PersonalDataAccessed', AT, { categories: ['user.unique_id', 'user.sensor.video'], purpose: 'essential.service.audit', legalBasis: 'legal_obligation', reasonCode: 'audit' });
    h.record('PersonalDataDisclosed', AT, {
      categories: ['user.sensor.video'],
      purpose: 'third_party_sharing.legal_obligation',
      legalBasis: 'legal_obligation',
      recipient: { id: 'authority-police-cz', kind: 'public_authority', country: 'CZ' },
    });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  it('ignores facts that are not processing (consent, requests, erasure)', () => {
    const h = scopeHistory();
    h.record('ConsentGranted', AT, { purposes: ['marketing.communications.email'], method: 'in_app' });
    h.record('SubjectRequestReceived', AT, { requestId: 'req-1', right: 'access', channel: 'email' });
    h.record('PersonalDataErased', AT, { categories: ['user.sensor.video'], reason: 'retention_expired' });

    expect(evaluate(rule, h.context(LATER))).toEqual([]);
  });

  describe('the register as it stood at the event', () => {
    it('a registration recorded after the processing does not clear it; processing after the registration is fine', () => {
      const h = scopeHistory();
      const early = h.record('PersonalDataAccessed', AT, supportAccess(['user.contact.email']));
      h.register(supportActivity);
      h.record('PersonalDataAccessed', '2026-03-03T10:00:00.000Z', supportAccess(['user.contact.email']));

      const finding = onlyFinding(evaluate(rule, h.context(LATER)));

      expect(finding.key).toBe(early.event.eventId);
      expect(finding.evidence).toEqual([ref(early)]);
      expect(finding.resolvedAt).toBeUndefined();
    });

    it('a registration one position before the processing already covers it', () => {
      const h = scopeHistory();
      h.register(supportActivity);
      h.record('PersonalDataAccessed', AT, supportAccess(['user.contact.email']));

      expect(evaluate(rule, h.context(LATER))).toEqual([]);
    });

    it('a re-registration that drops a category applies from its position on', () => {
      const h = scopeHistory();
      h.register(supportActivity);
      h.record('PersonalDataAccessed', AT, supportAccess(['user.device.serial_number']));
      h.register(activity({ activityId: 'act-support', purpose: SUPPORT, categories: ['user.contact.email'] }));
      const after = h.record('PersonalDataAccessed', '2026-03-04T10:00:00.000Z', supportAccess(['user.device.serial_number']));

      expect(onlyFinding(evaluate(rule, h.context(LATER))).key).toBe(after.event.eventId);
    });
  });
});
