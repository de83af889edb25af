import { retentionExceededRule as rule } from '../../../src/compliance/rules/retention-exceeded.js';
import { activity, DAY_MS, evaluate, nextDeadline, onlyFinding, ref, scopeHistory, type ScopeHistory, shift } from '../../support/compliance-context.js';

const RECORDING = 'essential.service.recording';
const COLLECTED = '2026-03-01T18:42:10.000Z';
/** P30D after the recording was collected. */
const DEADLINE = '2026-03-31T18:42:10.000Z';

const recording = activity({
  activityId: 'act-recording',
  purpose: RECORDING,
  categories: ['user.sensor.video', 'user.sensor.audio'],
  retention: [
    { category: 'user.sensor.video', period: 'P30D' },
    { category: 'user.sensor.audio', period: 'P30D' },
  ],
});

function withRecording(categories = ['user.sensor.video']): { h: ScopeHistory; collected: ReturnType<ScopeHistory['record']> } {
  const h = scopeHistory();
  h.register(recording);
  h.gap(2);
  const collected = h.record('PersonalDataCollected', COLLECTED, { categories, purpose: RECORDING, legalBasis: 'contract', source: 'device', deviceId: 'cam-5120', processingActivityId: 'act-recording' });
  return { h, collected };
}

function erase(h: ScopeHistory, at: string, categories = ['user.sensor.video']) {
  return h.record('PersonalDataErased', at, { categories, reason: 'retention_expired' });
}

describe('retention-exceeded: data kept beyond its registered retention (Art. 5(1)(e))', () => {
  it('is a subject rule citing Art. 5(1)(e), with a deadline', () => {
    expect({ id: rule.id, article: rule.article, scope: rule.scope }).toEqual({ id: 'retention-exceeded', article: 'Art. 5(1)(e)', scope: 'subject' });
    expect(rule.duty).toBe('deadline');
  });

  it('is due 30 days after collection: nextDeadline names that moment while the recording is held', () => {
    const { h } = withRecording();
    expect(nextDeadline(rule, h.context('2026-03-02T00:00:00.000Z'))).toBe(DEADLINE);
    expect(evaluate(rule, h.context('2026-03-02T00:00:00.000Z'))).toEqual([]);
  });

  it('fires once the 30 days passed with the recording not erased, opened at the deadline and proven by the collection', () => {
    const { h, collected } = withRecording();

    const finding = onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 1000))));

    expect(finding).toEqual({
      key: `${collected.event.eventId}:user.sensor.video:act-recording`,
      openedAt: DEADLINE,
      evidence: [{ eventId: collected.event.eventId, globalPosition: 3 }],
      detail: expect.stringContaining('user.sensor.video'),
      // Once reported, the open violation leaves the rule's state and waits for an erasure of its category.
      awaiting: 'user.sensor.video',
    });
    expect(finding.detail).toContain('act-recording');
    expect(nextDeadline(rule, h.context(shift(DEADLINE, 1000)))).toBeNull();
  });

  it('near miss: at the very deadline the data is not yet kept too long', () => {
    const { h } = withRecording();
    expect(evaluate(rule, h.context(DEADLINE))).toEqual([]);
    expect(nextDeadline(rule, h.context(DEADLINE))).toBe(DEADLINE);
  });

  it('near miss: erased exactly at the retention deadline', () => {
    const { h } = withRecording();
    erase(h, DEADLINE);

    expect(evaluate(rule, h.context('2026-06-01T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context('2026-03-02T00:00:00.000Z'))).toBeNull();
  });

  it('cured: erased two days late — resolved at the erasure, by the erasure, opened at the deadline', () => {
    const { h, collected } = withRecording();
    const erased = erase(h, shift(DEADLINE, 2 * DAY_MS));

    const finding = onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 3 * DAY_MS))));

    expect(finding).toMatchObject({
      key: `${collected.event.eventId}:user.sensor.video:act-recording`,
      openedAt: DEADLINE,
      evidence: [ref(collected)],
      resolvedAt: shift(DEADLINE, 2 * DAY_MS),
      resolvedBy: [ref(erased)],
    });
  });

  it('cured by key shredding, which erases every category', () => {
    const { h } = withRecording();
    const shredded = h.record('SubjectKeyShredded', shift(DEADLINE, DAY_MS), { reason: 'account closed' });

    expect(onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 2 * DAY_MS)))).resolvedBy).toEqual([ref(shredded)]);
  });

  it('erasing the audio does not erase the video: only the video is late', () => {
    const { h, collected } = withRecording(['user.sensor.video', 'user.sensor.audio']);
    erase(h, shift(DEADLINE, -DAY_MS), ['user.sensor.audio']);

    const finding = onlyFinding(evaluate(rule, h.context(shift(DEADLINE, DAY_MS))));
    expect(finding.key).toBe(`${collected.event.eventId}:user.sensor.video:act-recording`);
    expect(finding.resolvedAt).toBeUndefined();
  });

  it('an erasure under the parent key (user.sensor) erases the video', () => {
    const { h } = withRecording();
    h.record('PersonalDataErased', shift(DEADLINE, -DAY_MS), { categories: ['user.sensor'], reason: 'retention_expired' });

    expect(evaluate(rule, h.context(shift(DEADLINE, DAY_MS)))).toEqual([]);
  });

  it('a retention registered under the parent key applies to the child category (user.sensor: P10D)', () => {
    const h = scopeHistory();
    h.register(activity({ activityId: 'act-sensor', purpose: RECORDING, categories: ['user.sensor'], retention: [{ category: 'user.sensor', period: 'P10D' }] }));
    const collected = h.record('PersonalDataCollected', COLLECTED, { categories: ['user.sensor.video'], purpose: RECORDING, legalBasis: 'contract', source: 'device', processingActivityId: 'act-sensor' });

    const finding = onlyFinding(evaluate(rule, h.context('2026-03-12T00:00:00.000Z')));
    expect(finding).toMatchObject({ key: `${collected.event.eventId}:user.sensor.video:act-sensor`, openedAt: '2026-03-11T18:42:10.000Z' });
  });

  it('seconds-long retention (motion signals, PT10S): erased after 5 s is fine, after 20 s is late', () => {
    const h = scopeHistory();
    h.register(activity({ activityId: 'act-motion', purpose: 'essential.service.event_detection', categories: ['user.sensor.motion'], retention: [{ category: 'user.sensor.motion', period: 'PT10S' }] }));
    const data = { categories: ['user.sensor.motion'], purpose: 'essential.service.event_detection', legalBasis: 'contract', source: 'device' as const, processingActivityId: 'act-motion' };
    h.record('PersonalDataCollected', '2026-03-05T18:42:11.000Z', data);
    h.record('PersonalDataErased', '2026-03-05T18:42:16.000Z', { categories: ['user.sensor.motion'], reason: 'retention_expired' });
    const late = h.record('PersonalDataCollected', '2026-03-06T18:42:11.000Z', data);
    h.record('PersonalDataErased', '2026-03-06T18:42:31.000Z', { categories: ['user.sensor.motion'], reason: 'retention_expired' });

    const finding = onlyFinding(evaluate(rule, h.context('2026-03-07T00:00:00.000Z')));
    expect(finding).toMatchObject({ key: `${late.event.eventId}:user.sensor.motion:act-motion`, openedAt: '2026-03-06T18:42:21.000Z', resolvedAt: '2026-03-06T18:42:31.000Z' });
  });

  it('without an activity id, the collection is held under the activities registered for its purpose', () => {
    const h = scopeHistory();
    h.register(recording);
    const collected = h.record('PersonalDataCollected', COLLECTED, { categories: ['user.sensor.video'], purpose: RECORDING, legalBasis: 'contract', source: 'device' });

    expect(onlyFinding(evaluate(rule, h.context(shift(DEADLINE, 1000)))).key).toBe(`${collected.event.eventId}:user.sensor.video:act-recording`);
  });

  it("near miss: account data kept 'until account termination' has no date to miss", () => {
    const h = scopeHistory();
    h.register(activity({ activityId: 'act-account', purpose: 'essential.service.account_creation', categories: ['user.contact.email'], retention: [{ category: 'user.contact.email', period: 'until_account_termination' }] }));
    h.record('PersonalDataCollected', COLLECTED, { categories: ['user.contact.email'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' });

    expect(evaluate(rule, h.context('2036-01-01T00:00:00.000Z'))).toEqual([]);
    expect(nextDeadline(rule, h.context('2026-03-02T00:00:00.000Z'))).toBeNull();
  });

  it('nextDeadline is the earliest retention still pending', () => {
    const { h } = withRecording();
    h.record('PersonalDataCollected', '2026-03-05T10:00:00.000Z', { categories: ['user.sensor.audio'], purpose: RECORDING, legalBasis: 'contract', source: 'device', processingActivityId: 'act-recording' });

    expect(nextDeadline(rule, h.context('2026-03-10T00:00:00.000Z'))).toBe(DEADLINE);
    expect(nextDeadline(rule, h.context(shift(DEADLINE, 1000)))).toBe('2026-04-04T10:00:00.000Z');
  });
});
