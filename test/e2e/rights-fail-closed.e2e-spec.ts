import { SUBJECT_KEYRING, type SubjectKeyring } from '../../src/crypto/subject-keyring.js';
import type { SubjectRequestView } from '../../src/ledger/queries/subject-requests/subject-requests.query.js';
import { exampleEvent, exampleIds } from '../support/example-events.js';
import { startLedger, type TestLedger } from '../support/ledger-app.js';
import { appendBatch, appendEvent, filesContaining, logHead } from '../support/ledger-http.js';
import { actOn, advance, collectedBody, expectStatus, freshSubject, getRequest, receive, record, roleKey, subjectRead, timelineOf } from '../support/rights-http.js';

/*
 * Encryption fails closed (issue 4): with the subject key store unavailable, an event that
 * carries personal values is refused with 503 and nothing of it is stored — not the event,
 * not its batch neighbours, not the values in any file. Events without personal values do
 * not need the key store and are still accepted: evidence is never dropped.
 */

describe('with the subject key store unavailable, encryption fails closed', () => {
  let ledger: TestLedger;
  let emitter: string;
  let auditor: string;
  let dpo: string;
  const knownSubject = freshSubject('known');
  let verifiedErasure: string;

  beforeAll(async () => {
    ledger = await startLedger();
    [emitter, auditor, dpo] = await Promise.all([roleKey(ledger, 'emitter'), roleKey(ledger, 'auditor'), roleKey(ledger, 'dpo')]);
    // A subject whose key exists (and is cached) before the key store goes away.
    await record(ledger, emitter, collectedBody(knownSubject, { pii: { email: 'known@example.org' } }));
    verifiedErasure = (await receive(ledger, dpo, { subjectId: knownSubject, right: 'erasure' })).requestId;
    await advance(ledger, dpo, verifiedErasure, 'verify');
    await ledger.app.get<SubjectKeyring>(SUBJECT_KEYRING).close();
  });
  afterAll(async () => ledger.destroy());

  it('an event with personal values for a NEW subject → 503; the log head is unchanged and the timeline empty', async () => {
    const subjectId = freshSubject('new');
    const before = await logHead(ledger);
    const res = await appendEvent(ledger, emitter, collectedBody(subjectId, { pii: { email: 'fail-closed-new-3c1d@example.org' } }));
    expect(res.status).toBe(503);
    expect((res.body as { message: string }).message).toMatch(/key store is unavailable; nothing was stored/);
    expect(await logHead(ledger)).toBe(before);
    expect(await timelineOf(ledger, auditor, subjectId)).toEqual([]);
    expect(filesContaining(ledger.dataDir, 'fail-closed-new-3c1d')).toEqual([]);
  });

  it('an event with personal values for a subject whose key existed → 503, nothing stored', async () => {
    const body = { ...exampleEvent('PersonalDataAccessed', { ids: { ...exampleIds('fc'), subjectId: knownSubject } }), pii: { email: 'known@example.org' } };
    const before = await logHead(ledger);
    const res = await appendEvent(ledger, emitter, body);
    expect(res.status).toBe(503);
    expect(await logHead(ledger)).toBe(before);
    expect((await timelineOf(ledger, auditor, knownSubject)).map((e) => e.eventId)).not.toContain(body.eventId);
  });

  it('a batch with one event carrying personal values → 503 and none of the batch is stored', async () => {
    const plain = freshSubject('batch-plain');
    const secret = freshSubject('batch-pii');
    const before = await logHead(ledger);
    const res = await appendBatch(ledger, emitter, [
      exampleEvent('PersonalDataAccessed', { ids: { ...exampleIds('fc'), subjectId: plain } }),
      collectedBody(secret, { pii: { name: 'Batch Person' } }),
    ]);
    expect(res.status).toBe(503);
    expect(await logHead(ledger)).toBe(before);
    expect(await timelineOf(ledger, auditor, plain)).toEqual([]);
    expect(await timelineOf(ledger, auditor, secret)).toEqual([]);
  });

  it('the same kind of event without personal values is still accepted and shows in the timeline', async () => {
    const subjectId = freshSubject('plain');
    const before = await logHead(ledger);
    const body = collectedBody(subjectId);
    const res = await appendEvent(ledger, emitter, body);
    expect(res.status).toBe(201);
    expect(await logHead(ledger)).toBe(before + 1);
    const timeline = await timelineOf(ledger, auditor, subjectId);
    expect(timeline.map((e) => [e.eventId, e.what.action, e.personalValues])).toEqual([[body.eventId, 'collected', 'none']]);
  });

  it('a rights request (no personal values) is still received', async () => {
    const view = await receive(ledger, dpo, { subjectId: freshSubject('request'), right: 'access' });
    expect(view.status).toBe('received');
  });

  it('decrypting personal values → 503, not a 500 and not an answer claiming the values were erased', async () => {
    const res = await subjectRead(ledger, dpo, knownSubject, 'personal-values');
    expect(res.status).toBe(503);
    expect((res.body as { message: string }).message).toMatch(/key store is unavailable/);
    expect(res.text).not.toContain('erased');
  });

  it('the access package → 503 (it asks the key store whether the subject was shredded)', async () => {
    const res = await subjectRead(ledger, dpo, knownSubject, 'access-package');
    expect({ status: res.status, message: (res.body as { message: string }).message }).toEqual({
      status: 503,
      message: expect.stringMatching(/key store is unavailable/) as string,
    });
  });

  it('fulfilling an erasure (which must destroy the key) → 503, and nothing is recorded: the request stays verified, no key_shredded', async () => {
    const before = await logHead(ledger);
    const res = await actOn(ledger, dpo, verifiedErasure, 'fulfil', {});
    expect(await logHead(ledger)).toBe(before);
    const view = expectStatus(await getRequest(ledger, auditor, verifiedErasure), 200).body as SubjectRequestView;
    expect(view.status).toBe('verified');
    const actions = (await timelineOf(ledger, auditor, knownSubject)).map((e) => e.what.action);
    expect(actions).not.toContain('key_shredded');
    expect(actions).not.toContain('erased');
    expect({ status: res.status, message: (res.body as { message: string }).message }).toEqual({
      status: 503,
      message: expect.stringMatching(/key store is unavailable/) as string,
    });
  });
});
