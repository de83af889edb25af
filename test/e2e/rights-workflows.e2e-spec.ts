import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { addCalendarMonths } from '../../src/ledger/domain/workflow.js';
import type { PortabilityExport } from '../../src/ledger/queries/subject-data/portability.js';
import type { AccessPackage, PersonalValuesEntry } from '../../src/ledger/queries/subject-data/subject-data.queries.js';
import type { SubjectRequestView } from '../../src/ledger/queries/subject-requests/subject-requests.query.js';
import type { TimelineEntry } from '../../src/ledger/queries/subject-timeline/subject-timeline.query.js';
import { exampleEvent, exampleIds, type EventBody } from '../support/example-events.js';
import { startLedger, type TestLedger } from '../support/ledger-app.js';
import { actorIdOfKey, appendEvent, errorsOf, logHead } from '../support/ledger-http.js';
import {
  actOn,
  advance,
  collectedBody,
  expectStatus,
  freshRequestId,
  freshSubject,
  getRequest,
  listRequests,
  parseCsv,
  postRequest,
  receive,
  record,
  roleKey,
  subjectRead,
  timelineOf,
  type RequestAnswer,
} from '../support/rights-http.js';

/*
 * The data-subject rights workflows through HTTP, against the real service on the embedded
 * store: who may do what (dpo acts, auditor reads, emitter neither), the lifecycle of every
 * right, impossible steps as 409 naming the current state, deadlines by the calendar-month
 * rule, and what fulfilment does to the subject — restriction, consent withdrawal, erasure
 * by crypto-shredding — as the subject's timeline, personal values, access package and
 * portability export show it.
 */

const DAY_MS = 86_400_000;
const RIGHTS_PURPOSE = 'essential.legal_obligation.data_subject_request';
const AUDIT_PURPOSE = 'essential.service.audit';
const EMAIL_MARKETING = 'marketing.communications.email';
const ANALYTICS = 'analytics.reporting';

/** Entries that are not the ledger's own record of reads (timeline, personal values, ...). */
function withoutReads(entries: readonly TimelineEntry[]): TimelineEntry[] {
  return entries.filter((e) => e.type !== 'PersonalDataAccessed' || e.who.system !== 'privacy-ledger');
}

function actions(entries: readonly TimelineEntry[]): string[] {
  return withoutReads(entries).map((e) => e.what.action);
}

function conflict(res: Response): { currentState: string; message: string } {
  if (res.status !== 409) throw new Error(`expected 409, got ${res.status}: ${res.text}`);
  return res.body as { currentState: string; message: string };
}

describe('data-subject rights requests over HTTP', () => {
  let ledger: TestLedger;
  let dpo: string;
  let auditor: string;
  let emitter: string;
  let admin: string;

  beforeAll(async () => {
    ledger = await startLedger();
    [dpo, auditor, emitter] = await Promise.all([roleKey(ledger, 'dpo'), roleKey(ledger, 'auditor'), roleKey(ledger, 'emitter')]);
    admin = ledger.adminKey;
  });
  afterAll(async () => ledger.destroy());

  // ── roles ──────────────────────────────────────────────────────────────────
  describe('who may do what', () => {
    let subjectId: string;
    let requestId: string;

    beforeAll(async () => {
      subjectId = freshSubject('roles');
      await record(ledger, emitter, collectedBody(subjectId, { pii: { email: 'roles@example.org' } }));
      requestId = (await receive(ledger, dpo, { subjectId, right: 'access' })).requestId;
    });

    it.each([
      ['no key', 401, null],
      ['an emitter key', 403, 'emitter'],
      ['an auditor key', 403, 'auditor'],
    ] as const)('POST /v1/requests with %s → %i, and nothing is recorded', async (_who, status, role) => {
      const key = role === null ? null : role === 'emitter' ? emitter : auditor;
      const before = await logHead(ledger);
      const res = await postRequest(ledger, key, { subjectId: freshSubject('denied'), right: 'access', channel: 'email' });
      expect(res.status).toBe(status);
      expect(await logHead(ledger)).toBe(before);
    });

    it.each(['verify', 'extend', 'fulfil', 'reject'])('POST /v1/requests/:id/%s: no key → 401, emitter → 403, auditor → 403; the request is unchanged', async (action) => {
      const body = { verify: { method: 'account_login' }, extend: { reason: 'more time', additionalMonths: 1 }, fulfil: {}, reject: { reason: 'no' } }[action];
      const before = await logHead(ledger);
      expect((await actOn(ledger, null, requestId, action, body)).status).toBe(401);
      expect((await actOn(ledger, emitter, requestId, action, body)).status).toBe(403);
      const denied = await actOn(ledger, auditor, requestId, action, body);
      expect(denied.status).toBe(403);
      expect((denied.body as { message: string }).message).toMatch(/dpo/);
      expect(await logHead(ledger)).toBe(before);
      const view = expectStatus(await getRequest(ledger, auditor, requestId), 200).body as SubjectRequestView;
      expect({ status: view.status, extended: view.extended, history: view.history.map((h) => h.type) }).toEqual({
        status: 'received',
        extended: false,
        history: ['SubjectRequestReceived'],
      });
    });

    it('GET /v1/requests and GET /v1/requests/:id: no key → 401, emitter → 403, auditor and dpo → 200', async () => {
      for (const read of [() => listRequests(ledger, null), () => getRequest(ledger, null, requestId)]) expect((await read()).status).toBe(401);
      expect((await listRequests(ledger, emitter)).status).toBe(403);
      expect((await getRequest(ledger, emitter, requestId)).status).toBe(403);
      for (const key of [auditor, dpo, admin]) {
        expect((await listRequests(ledger, key, { subjectId })).body).toEqual({ requests: [expect.objectContaining({ requestId, subjectId, right: 'access' })] });
        expect((expectStatus(await getRequest(ledger, key, requestId), 200).body as SubjectRequestView).requestId).toBe(requestId);
      }
    });

    it.each(['personal-values', 'access-package', 'export'] as const)('GET /v1/subjects/:id/%s: no key → 401, emitter and auditor → 403, dpo and admin → 200', async (what) => {
      expect((await subjectRead(ledger, null, subjectId, what)).status).toBe(401);
      expect((await subjectRead(ledger, emitter, subjectId, what)).status).toBe(403);
      expect((await subjectRead(ledger, auditor, subjectId, what)).status).toBe(403);
      expect((await subjectRead(ledger, dpo, subjectId, what)).status).toBe(200);
      expect((await subjectRead(ledger, admin, subjectId, what)).status).toBe(200);
    });

    it('an admin key may run the workflow too (admin ⊇ every role)', async () => {
      const r = await receive(ledger, admin, { subjectId: freshSubject('admin'), right: 'access' });
      expect((await advance(ledger, admin, r.requestId, 'verify')).request.status).toBe('verified');
    });
  });

  // ── lifecycles ─────────────────────────────────────────────────────────────
  describe('lifecycles', () => {
    const RIGHTS = ['access', 'rectification', 'erasure', 'restriction', 'portability', 'objection', 'objection_automated_decision', 'consent_withdrawal'] as const;

    it.each(RIGHTS)('%s: received → identity verified → fulfilled, each step in the answer, in GET and in the history', async (right) => {
      const subjectId = freshSubject(right.replace(/_/g, '-'));
      const purposes = right === 'consent_withdrawal' || right === 'objection' || right === 'restriction' ? [EMAIL_MARKETING] : undefined;
      const startedAt = Date.now();
      const created = expectStatus(await postRequest(ledger, dpo, { subjectId, right, channel: 'in_app', ...(purposes ? { purposes } : {}) }), 201).body as RequestAnswer;
      expect(created.request).toMatchObject({
        subjectId,
        right,
        status: 'received',
        extended: false,
        overdue: false,
        purposes: purposes ?? [],
      });
      expect(created.request.requestId).toMatch(/^req-/);
      expect(created.receipts).toHaveLength(1);
      expect(created.receipts[0]!.streamId).toBe(`subject-${subjectId}`);
      const receivedAt = new Date(created.request.receivedAt).getTime();
      expect(receivedAt).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(created.request.dueBy).toBe(addCalendarMonths(created.request.receivedAt, 1));
      expect(created.request.daysLeft).toBeGreaterThanOrEqual(27);

      const id = created.request.requestId;
      expect((await advance(ledger, dpo, id, 'verify', { method: 'document_check' })).request.status).toBe('verified');
      const fulfilled = await advance(ledger, dpo, id, 'fulfil', { outcome: 'done as asked' });
      expect(fulfilled.request).toMatchObject({ status: 'fulfilled', daysLeft: null, overdue: false });

      const view = expectStatus(await getRequest(ledger, auditor, id), 200).body as SubjectRequestView;
      expect(view).toEqual(fulfilled.request);
      expect(view.history.map((h) => h.type)).toEqual(['SubjectRequestReceived', 'SubjectRequestIdentityVerified', 'SubjectRequestFulfilled']);
      expect(new Set(view.history.map((h) => h.actorId))).toEqual(new Set([actorIdOfKey(dpo)]));

      const timeline = await timelineOf(ledger, auditor, subjectId);
      expect(actions(timeline)).toContain('request_fulfilled');
      expect(timeline.find((e) => e.type === 'SubjectRequestFulfilled')).toMatchObject({
        who: { actorId: actorIdOfKey(dpo), kind: 'dpo', system: 'privacy-ledger' },
        details: { requestId: id, outcome: 'done as asked' },
      });
    });

    it.each(['access', 'rectification', 'portability', 'objection_automated_decision'] as const)(
      '%s: fulfilment records only request_fulfilled on the subject',
      async (right) => {
        const subjectId = freshSubject('only');
        const { requestId } = await receive(ledger, dpo, { subjectId, right });
        await advance(ledger, dpo, requestId, 'verify');
        await advance(ledger, dpo, requestId, 'fulfil');
        expect(actions(await timelineOf(ledger, auditor, subjectId))).toEqual(['request_received', 'request_identity_verified', 'request_fulfilled']);
      },
    );

    it('received → rejected with a reason (identity never established)', async () => {
      const subjectId = freshSubject('reject');
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'erasure' });
      const rejected = await advance(ledger, dpo, requestId, 'reject', { reason: 'identity could not be established' });
      expect(rejected.request).toMatchObject({ status: 'rejected', daysLeft: null, overdue: false });
      const entry = (await timelineOf(ledger, auditor, subjectId)).find((e) => e.type === 'SubjectRequestRejected');
      expect(entry).toMatchObject({ what: { action: 'request_rejected' }, details: { requestId, reason: 'identity could not be established' } });
    });

    it('received → verified → extended (reason, two months) → fulfilled: the deadline moves to three months after receipt', async () => {
      const subjectId = freshSubject('extend');
      const receivedAt = new Date(Date.now() - DAY_MS).toISOString();
      const { requestId, dueBy } = await receive(ledger, dpo, { subjectId, right: 'access', receivedAt });
      expect(dueBy).toBe(addCalendarMonths(receivedAt, 1));
      await advance(ledger, dpo, requestId, 'verify');
      const extended = await advance(ledger, dpo, requestId, 'extend', { reason: 'recordings of several cameras must be collected', additionalMonths: 2 });
      expect(extended.request).toMatchObject({ status: 'verified', extended: true, dueBy: addCalendarMonths(receivedAt, 3) });
      expect(extended.request.daysLeft).toBeGreaterThan(80);
      expect((await advance(ledger, dpo, requestId, 'fulfil')).request).toMatchObject({ status: 'fulfilled', extended: true, dueBy: addCalendarMonths(receivedAt, 3) });
      const entry = (await timelineOf(ledger, auditor, subjectId)).find((e) => e.type === 'SubjectRequestExtended');
      expect(entry?.details).toEqual({ requestId, reason: 'recordings of several cameras must be collected', additionalMonths: 2 });
    });

    it('a caller-chosen requestId is kept', async () => {
      const requestId = freshRequestId('chosen');
      const view = await receive(ledger, dpo, { subjectId: freshSubject('chosen'), right: 'access', requestId });
      expect(view.requestId).toBe(requestId);
    });
  });

  // ── impossible transitions ────────────────────────────────────────────────
  describe('impossible transitions → 409 naming the current state, nothing recorded', () => {
    async function expectRefused(requestId: string, action: string, body: unknown, currentState: string): Promise<void> {
      const before = await logHead(ledger);
      const res = await actOn(ledger, dpo, requestId, action, body);
      const refusal = conflict(res);
      expect(refusal.currentState).toBe(currentState);
      expect(refusal.message).toContain(currentState);
      expect(await logHead(ledger)).toBe(before);
    }

    it('fulfil before the identity is verified → 409 (received)', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('early'), right: 'access' });
      await expectRefused(requestId, 'fulfil', {}, 'received');
      expect((expectStatus(await getRequest(ledger, auditor, requestId), 200).body as SubjectRequestView).status).toBe('received');
    });

    it('an erasure fulfilled before verification destroys no key: the personal values stay readable', async () => {
      const subjectId = freshSubject('early-erasure');
      await record(ledger, emitter, collectedBody(subjectId, { pii: { email: 'early@example.org' } }));
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'erasure' });
      await expectRefused(requestId, 'fulfil', {}, 'received');
      const values = expectStatus(await subjectRead(ledger, dpo, subjectId, 'personal-values'), 200).body as { entries: PersonalValuesEntry[] };
      expect(values.entries.map((e) => ({ status: e.status, values: e.values }))).toEqual([{ status: 'readable', values: { email: 'early@example.org' } }]);
      expect(actions(await timelineOf(ledger, auditor, subjectId))).not.toContain('key_shredded');
    });

    it('verify twice → 409 (verified)', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('twice'), right: 'access' });
      await advance(ledger, dpo, requestId, 'verify');
      await expectRefused(requestId, 'verify', { method: 'account_login' }, 'verified');
    });

    it('extend twice → 409 (verified, extended), even when the months would add up to two', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('ext-twice'), right: 'access' });
      await advance(ledger, dpo, requestId, 'verify');
      await advance(ledger, dpo, requestId, 'extend', { reason: 'many cameras', additionalMonths: 1 });
      await expectRefused(requestId, 'extend', { reason: 'still many cameras', additionalMonths: 1 }, 'verified, extended');
    });

    it('extend after the first month → 409 naming the state and the deadline of the first month', async () => {
      const receivedAt = new Date(Date.now() - 40 * DAY_MS).toISOString();
      const { requestId, dueBy } = await receive(ledger, dpo, { subjectId: freshSubject('late-ext'), right: 'access', receivedAt });
      await advance(ledger, dpo, requestId, 'verify');
      const before = await logHead(ledger);
      const refusal = conflict(await actOn(ledger, dpo, requestId, 'extend', { reason: 'too late now', additionalMonths: 2 }));
      expect(refusal.currentState).toBe('verified');
      expect(refusal.message).toContain(dueBy);
      expect(await logHead(ledger)).toBe(before);
    });

    it.each([
      ['verify', { method: 'account_login' }],
      ['extend', { reason: 'more time', additionalMonths: 1 }],
      ['fulfil', {}],
      ['reject', { reason: 'changed our mind' }],
    ])('%s after fulfilled → 409 (fulfilled)', async (action, body) => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('done'), right: 'access' });
      await advance(ledger, dpo, requestId, 'verify');
      await advance(ledger, dpo, requestId, 'fulfil');
      await expectRefused(requestId, action, body, 'fulfilled');
    });

    it.each([
      ['verify', { method: 'account_login' }],
      ['extend', { reason: 'more time', additionalMonths: 1 }],
      ['fulfil', {}],
      ['reject', { reason: 'again' }],
    ])('%s after rejected → 409 (rejected)', async (action, body) => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('rejected'), right: 'access' });
      await advance(ledger, dpo, requestId, 'reject');
      await expectRefused(requestId, action, body, 'rejected');
    });

    it('receiving the same requestId twice for a subject → 409 (received)', async () => {
      const subjectId = freshSubject('dup');
      const requestId = freshRequestId('dup');
      await receive(ledger, dpo, { subjectId, right: 'access', requestId });
      const before = await logHead(ledger);
      const refusal = conflict(await postRequest(ledger, dpo, { subjectId, right: 'erasure', channel: 'email', requestId }));
      expect(refusal.currentState).toBe('received');
      expect(await logHead(ledger)).toBe(before);
    });
  });

  // ── input errors ──────────────────────────────────────────────────────────
  describe('bad input → 400 naming the field, nothing recorded', () => {
    async function expectFieldErrors(res: Promise<Response>, fields: string[]): Promise<void> {
      const before = await logHead(ledger);
      const answer = await res;
      if (answer.status !== 400) throw new Error(`expected 400, got ${answer.status}: ${answer.text}`);
      const named = errorsOf(answer).map((e) => e.field);
      for (const field of fields) expect(named).toContain(field);
      expect((answer.body as { message: string }).message).toContain(fields[0]!);
      expect(await logHead(ledger)).toBe(before);
    }

    it('unknown right', async () => {
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'forgetting', channel: 'email' }), ['right']);
    });

    it('missing channel ("is required")', async () => {
      const res = await postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'access' });
      expect(errorsOf(res)).toContainEqual({ field: 'channel', reason: 'is required' });
      await expectFieldErrors(Promise.resolve(res), ['channel']);
    });

    it('unknown channel', async () => {
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'access', channel: 'carrier_pigeon' }), ['channel']);
    });

    it('an unknown field', async () => {
      const res = await postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'access', channel: 'email', email: 'someone@example.org' });
      expect(errorsOf(res)).toContainEqual({ field: 'email', reason: 'is not a known field' });
    });

    it.each(['consent_withdrawal', 'objection'])('%s without purposes', async (right) => {
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right, channel: 'email' }), ['purposes']);
    });

    it('an unknown purpose', async () => {
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'consent_withdrawal', channel: 'email', purposes: ['world_domination'] }), ['purposes']);
    });

    it('a subject id that is an e-mail address', async () => {
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: 'alice@example.org', right: 'access', channel: 'email' }), ['subjectId']);
    });

    it('a receipt in the future, or without a time zone', async () => {
      const future = new Date(Date.now() + 10 * DAY_MS).toISOString();
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'access', channel: 'email', receivedAt: future }), ['receivedAt']);
      await expectFieldErrors(postRequest(ledger, dpo, { subjectId: freshSubject('bad'), right: 'access', channel: 'email', receivedAt: '2026-01-31T10:00:00' }), ['receivedAt']);
    });

    it.each([3, 0, '2', 1.5])('extend with additionalMonths %p', async (additionalMonths) => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('months'), right: 'access' });
      await expectFieldErrors(actOn(ledger, dpo, requestId, 'extend', { reason: 'more time', additionalMonths }), ['additionalMonths']);
    });

    it('extend without a reason, reject without a reason, verify without a method', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('missing'), right: 'access' });
      await expectFieldErrors(actOn(ledger, dpo, requestId, 'extend', { additionalMonths: 1 }), ['reason']);
      await expectFieldErrors(actOn(ledger, dpo, requestId, 'reject', {}), ['reason']);
      await expectFieldErrors(actOn(ledger, dpo, requestId, 'verify', {}), ['method']);
    });

    it('an unknown field on verify and on fulfil', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('unknown'), right: 'access' });
      await expectFieldErrors(actOn(ledger, dpo, requestId, 'verify', { method: 'account_login', note: 'x' }), ['note']);
      await advance(ledger, dpo, requestId, 'verify');
      await expectFieldErrors(actOn(ledger, dpo, requestId, 'fulfil', { result: 'x' }), ['result']);
    });

    it('an unknown list filter or a bad filter value', async () => {
      expect(errorsOf(await listRequests(ledger, auditor, { state: 'open' }))).toEqual([{ field: 'state', reason: 'is not a known filter' }]);
      expect(errorsOf(await listRequests(ledger, auditor, { status: 'pending' })).map((e) => e.field)).toEqual(['status']);
      expect(errorsOf(await listRequests(ledger, auditor, { overdue: 'yes' })).map((e) => e.field)).toEqual(['overdue']);
    });
  });

  describe('unknown requests → 404', () => {
    it('GET, verify, fulfil of a request never received', async () => {
      const before = await logHead(ledger);
      expect((await getRequest(ledger, auditor, 'req-never-received')).status).toBe(404);
      expect((await actOn(ledger, dpo, 'req-never-received', 'verify', { method: 'account_login' })).status).toBe(404);
      expect((await actOn(ledger, dpo, 'req-never-received', 'fulfil', {})).status).toBe(404);
      expect(await logHead(ledger)).toBe(before);
    });

    it('an unknown action on a known request', async () => {
      const { requestId } = await receive(ledger, dpo, { subjectId: freshSubject('action'), right: 'access' });
      expect((await actOn(ledger, dpo, requestId, 'approve', {})).status).toBe(404);
    });
  });

  // ── deadlines ──────────────────────────────────────────────────────────────
  describe('deadlines (Art. 12(3)) and days left', () => {
    it('a request received 2026-01-31 is due 2026-02-28, same time of day', async () => {
      const subjectId = freshSubject('jan31');
      const before = Date.now();
      const view = await receive(ledger, dpo, { subjectId, right: 'access', receivedAt: '2026-01-31T10:00:00Z' });
      const after = Date.now();
      expect(view).toMatchObject({ receivedAt: '2026-01-31T10:00:00.000Z', dueBy: '2026-02-28T10:00:00.000Z', extended: false, overdue: true });
      const due = Date.parse('2026-02-28T10:00:00.000Z');
      expect([Math.floor((due - before) / DAY_MS), Math.floor((due - after) / DAY_MS)]).toContain(view.daysLeft);
    });

    it('in a leap year: received 2024-01-31 → due 2024-02-29', async () => {
      const view = await receive(ledger, dpo, { subjectId: freshSubject('leap'), right: 'access', receivedAt: '2024-01-31T10:00:00Z' });
      expect(view.dueBy).toBe('2024-02-29T10:00:00.000Z');
    });

    it('an extension by two months, decided within the first month, moves 2026-01-31 to 2026-04-30', async () => {
      // The HTTP extend step is dated now; an extension decided back then arrives as the recorded fact.
      const subjectId = freshSubject('ext-jan31');
      const requestId = freshRequestId('ext-jan31');
      await receive(ledger, dpo, { subjectId, right: 'access', requestId, receivedAt: '2026-01-31T10:00:00Z' });
      const ids = { ...exampleIds('ext'), subjectId, requestId };
      expectStatus(await appendEvent(ledger, emitter, exampleEvent('SubjectRequestIdentityVerified', { ids, occurredAt: '2026-02-02T09:00:00Z' })), 201);
      expectStatus(
        await appendEvent(ledger, emitter, exampleEvent('SubjectRequestExtended', { ids, occurredAt: '2026-02-27T09:00:00Z', data: { additionalMonths: 2 } })),
        201,
      );
      const view = expectStatus(await getRequest(ledger, auditor, requestId), 200).body as SubjectRequestView;
      expect(view).toMatchObject({ status: 'verified', extended: true, receivedAt: '2026-01-31T10:00:00.000Z', dueBy: '2026-04-30T10:00:00.000Z' });
    });

    it('overdue=true lists a request received two months ago and still open, with negative days left; overdue=false does not', async () => {
      const subjectId = freshSubject('overdue');
      const receivedAt = new Date(Date.now() - 61 * DAY_MS).toISOString();
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'access', receivedAt });
      const overdue = (expectStatus(await listRequests(ledger, auditor, { overdue: 'true' }), 200).body as { requests: SubjectRequestView[] }).requests;
      const listed = overdue.find((r) => r.requestId === requestId);
      expect(listed).toMatchObject({ subjectId, status: 'received', overdue: true });
      expect(listed!.daysLeft).toBeLessThan(-20);
      expect(overdue.every((r) => r.overdue && (r.status === 'received' || r.status === 'verified') && (r.daysLeft ?? 0) < 0)).toBe(true);
      const onTime = (expectStatus(await listRequests(ledger, auditor, { overdue: 'false' }), 200).body as { requests: SubjectRequestView[] }).requests;
      expect(onTime.map((r) => r.requestId)).not.toContain(requestId);
    });

    it('a request closed late is no longer overdue and has no days left', async () => {
      const subjectId = freshSubject('closed-late');
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'access', receivedAt: new Date(Date.now() - 61 * DAY_MS).toISOString() });
      await advance(ledger, dpo, requestId, 'reject', { reason: 'manifestly excessive' });
      const overdue = (expectStatus(await listRequests(ledger, auditor, { overdue: 'true' }), 200).body as { requests: SubjectRequestView[] }).requests;
      expect(overdue.map((r) => r.requestId)).not.toContain(requestId);
      const [view] = (expectStatus(await listRequests(ledger, auditor, { subjectId }), 200).body as { requests: SubjectRequestView[] }).requests;
      expect(view).toMatchObject({ status: 'rejected', overdue: false, daysLeft: null });
    });

    it('status=open lists received and verified requests only; status= and right= filter exactly', async () => {
      const subjectId = freshSubject('open');
      const received = await receive(ledger, dpo, { subjectId, right: 'access' });
      const verified = await receive(ledger, dpo, { subjectId, right: 'portability' });
      await advance(ledger, dpo, verified.requestId, 'verify');
      const fulfilled = await receive(ledger, dpo, { subjectId, right: 'rectification' });
      await advance(ledger, dpo, fulfilled.requestId, 'verify');
      await advance(ledger, dpo, fulfilled.requestId, 'fulfil');
      const rejected = await receive(ledger, dpo, { subjectId, right: 'access' });
      await advance(ledger, dpo, rejected.requestId, 'reject');

      const ids = async (query: Record<string, string>) =>
        (expectStatus(await listRequests(ledger, auditor, { subjectId, ...query }), 200).body as { requests: SubjectRequestView[] }).requests.map((r) => r.requestId).sort();
      expect(await ids({ status: 'open' })).toEqual([received.requestId, verified.requestId].sort());
      expect(await ids({ status: 'received' })).toEqual([received.requestId]);
      expect(await ids({ status: 'verified' })).toEqual([verified.requestId]);
      expect(await ids({ status: 'fulfilled' })).toEqual([fulfilled.requestId]);
      expect(await ids({ status: 'rejected' })).toEqual([rejected.requestId]);
      expect(await ids({ right: 'access' })).toEqual([received.requestId, rejected.requestId].sort());
      expect(await ids({})).toHaveLength(4);
      const open = (expectStatus(await listRequests(ledger, auditor, { status: 'open' }), 200).body as { requests: SubjectRequestView[] }).requests;
      expect(open.every((r) => r.status === 'received' || r.status === 'verified')).toBe(true);
    });
  });

  // ── effects of fulfilment ─────────────────────────────────────────────────
  describe('what fulfilment does to the subject', () => {
    it('restriction → the timeline shows processing_restricted for the request', async () => {
      const subjectId = freshSubject('restrict');
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'restriction', purposes: [EMAIL_MARKETING] });
      await advance(ledger, dpo, requestId, 'verify');
      const { receipts } = await advance(ledger, dpo, requestId, 'fulfil');
      expect(receipts).toHaveLength(2);
      const timeline = await timelineOf(ledger, auditor, subjectId);
      expect(actions(timeline)).toEqual(['request_received', 'request_identity_verified', 'processing_restricted', 'request_fulfilled']);
      expect(timeline.find((e) => e.type === 'ProcessingRestricted')).toMatchObject({
        who: { actorId: actorIdOfKey(dpo), kind: 'dpo' },
        why: { purposes: [EMAIL_MARKETING] },
        details: { requestId },
      });
    });

    it('consent withdrawal → the timeline shows consent_withdrawn with the purposes of the request', async () => {
      const subjectId = freshSubject('withdraw');
      await record(ledger, emitter, exampleEvent('ConsentGranted', { ids: { ...exampleIds('w'), subjectId }, data: { purposes: [EMAIL_MARKETING, ANALYTICS] } }));
      const { requestId, purposes } = await receive(ledger, dpo, { subjectId, right: 'consent_withdrawal', channel: 'in_app', purposes: [EMAIL_MARKETING, ANALYTICS] });
      expect(purposes).toEqual([EMAIL_MARKETING, ANALYTICS]);
      await advance(ledger, dpo, requestId, 'verify');
      await advance(ledger, dpo, requestId, 'fulfil');
      const timeline = await timelineOf(ledger, auditor, subjectId);
      expect(actions(timeline)).toEqual(['consent_granted', 'request_received', 'request_identity_verified', 'consent_withdrawn', 'request_fulfilled']);
      expect(timeline.find((e) => e.type === 'ConsentWithdrawn')).toMatchObject({ why: { purposes: [EMAIL_MARKETING, ANALYTICS] }, details: { requestId } });
    });

    it('objection → consent_withdrawn for the purposes objected to', async () => {
      const subjectId = freshSubject('object');
      const { requestId } = await receive(ledger, dpo, { subjectId, right: 'objection', purposes: [ANALYTICS] });
      await advance(ledger, dpo, requestId, 'verify');
      await advance(ledger, dpo, requestId, 'fulfil');
      const timeline = await timelineOf(ledger, auditor, subjectId);
      expect(timeline.filter((e) => e.type === 'ConsentWithdrawn').map((e) => e.why.purposes)).toEqual([[ANALYTICS]]);
    });
  });

  // ── erasure ────────────────────────────────────────────────────────────────
  describe('erasure: crypto-shredding keeps who/what/when/why and erases the values', () => {
    const subjectId = freshSubject('erase');
    const EMAIL = 'erase-me-4411@example.org';
    const NAME = 'Erika "Erase" Müller';
    let piiEvents: string[];
    let requestId: string;
    let fulfilAnswer: RequestAnswer;
    let timelineBefore: TimelineEntry[];

    beforeAll(async () => {
      const ids = { ...exampleIds('erase'), subjectId };
      const withPii: EventBody[] = [
        collectedBody(subjectId, { pii: { email: EMAIL, name: NAME }, data: { processingActivityId: 'act-account' } }),
        { ...exampleEvent('PersonalDataAccessed', { ids }), pii: { email: EMAIL } },
      ];
      piiEvents = [];
      for (const e of withPii) piiEvents.push(await record(ledger, emitter, e));
      await record(ledger, emitter, exampleEvent('PersonalDataCollected', { ids }));
      await record(ledger, emitter, exampleEvent('PersonalDataDisclosed', { ids }));
      await record(ledger, emitter, exampleEvent('PersonalDataTransferred', { ids }));
      timelineBefore = await timelineOf(ledger, auditor, subjectId);
      requestId = (await receive(ledger, dpo, { subjectId, right: 'erasure', channel: 'email' })).requestId;
      await advance(ledger, dpo, requestId, 'verify', { method: 'document_check' });
    });

    it('before: the dpo reads the values; the timeline marks those entries encrypted', async () => {
      const res = expectStatus(await subjectRead(ledger, dpo, subjectId, 'personal-values'), 200);
      const { entries } = res.body as { entries: PersonalValuesEntry[] };
      expect(entries.map((e) => ({ eventId: e.eventId, status: e.status, values: e.values }))).toEqual([
        { eventId: piiEvents[0], status: 'readable', values: { email: EMAIL, name: NAME } },
        { eventId: piiEvents[1], status: 'readable', values: { email: EMAIL } },
      ]);
      expect(timelineBefore.filter((e) => e.personalValues === 'encrypted').map((e) => e.eventId)).toEqual(piiEvents);
    });

    it('fulfilling the request records erased, key_shredded, request_fulfilled — in that order', async () => {
      fulfilAnswer = await advance(ledger, dpo, requestId, 'fulfil', { outcome: 'account erased' });
      expect(fulfilAnswer.request).toMatchObject({ requestId, status: 'fulfilled' });
      expect(fulfilAnswer.receipts).toHaveLength(3);
      const timeline = await timelineOf(ledger, auditor, subjectId);
      const tail = withoutReads(timeline).slice(-3);
      expect(tail.map((e) => e.what.action)).toEqual(['erased', 'key_shredded', 'request_fulfilled']);
      expect(tail.map((e) => e.eventId)).toEqual(fulfilAnswer.receipts.map((r) => r.eventId));
      expect(tail[0]).toMatchObject({
        what: { categories: ['user.contact.email', 'user.device.serial_number', 'user.name', 'user.sensor.video'] },
        details: { reason: 'subject_request', requestId },
      });
      expect(tail[1]).toMatchObject({ who: { actorId: actorIdOfKey(dpo), kind: 'dpo' }, details: { requestId } });
    });

    it('after: every entry that had personal values shows them erased; the rest of each entry is unchanged', async () => {
      const timeline = await timelineOf(ledger, auditor, subjectId);
      const erased = timeline.filter((e) => e.personalValues === 'erased').map((e) => e.eventId);
      expect(erased).toEqual(piiEvents);
      expect(timeline.filter((e) => e.personalValues === 'encrypted')).toEqual([]);
      const strip = (e: TimelineEntry) => ({ ...e, personalValues: null });
      const after = new Map(timeline.map((e) => [e.eventId, e]));
      for (const before of timelineBefore) expect(strip(after.get(before.eventId)!)).toEqual(strip(before));
    });

    it("after: GET personal-values shows status 'erased' and no values", async () => {
      const res = expectStatus(await subjectRead(ledger, dpo, subjectId, 'personal-values'), 200);
      const { entries } = res.body as { entries: PersonalValuesEntry[] };
      expect(entries.map((e) => ({ eventId: e.eventId, status: e.status, values: e.values }))).toEqual(piiEvents.map((eventId) => ({ eventId, status: 'erased', values: null })));
      expect(res.text).not.toContain(EMAIL);
      expect(res.text).not.toContain('Erase');
    });

    it('after: the export (JSON and CSV) shows the provided records as erased, without values', async () => {
      const json = expectStatus(await subjectRead(ledger, dpo, subjectId, 'export', { format: 'json' }), 200);
      const data = json.body as PortabilityExport;
      expect(data.records).toEqual([{ eventId: piiEvents[0], providedAt: '2026-11-01T10:00:00.000Z', categories: ['user.name', 'user.contact.email'], status: 'erased', values: null }]);
      const csv = expectStatus(await subjectRead(ledger, dpo, subjectId, 'export', { format: 'csv' }), 200);
      expect(parseCsv(csv.text)).toEqual([
        ['eventId', 'providedAt', 'categories', 'field', 'value', 'status'],
        [piiEvents[0], '2026-11-01T10:00:00.000Z', 'user.name user.contact.email', '', '', 'erased'],
      ]);
      expect(json.text + csv.text).not.toContain(EMAIL);
    });

    it('after: the access package still says who/what/why — purposes, categories, recipients with safeguards — with personal values erased', async () => {
      const res = expectStatus(await subjectRead(ledger, dpo, subjectId, 'access-package'), 200);
      const pack = res.body as AccessPackage;
      expect(pack.personalValues).toBe('erased');
      expect(pack.purposes.map((p) => p.purpose)).toEqual(
        expect.arrayContaining(['essential.service.account_creation', 'essential.service.operations.support', 'essential.service.recording', 'third_party_sharing.legal_obligation']),
      );
      expect(pack.categories.map((c) => c.category)).toEqual(expect.arrayContaining(['user.contact.email', 'user.name', 'user.sensor.video', 'user.device.ip_address']));
      expect(pack.recipients).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: 'police-berlin', kind: 'public_authority', country: 'DE' }),
          expect.objectContaining({ id: 'support-vendor-us', kind: 'processor', country: 'US', mechanisms: ['standard_contractual_clauses'] }),
        ]),
      );
      expect(pack.sources).toEqual(expect.arrayContaining(['data_subject', 'device']));
      expect(pack.rights.map((r) => r.right)).toEqual(expect.arrayContaining(['access', 'erasure', 'portability']));
      expect(res.text).not.toContain(EMAIL);
    });

    it('after: a NEW event with personal values for the subject → 409 naming pii, nothing stored; the same event without pii is accepted', async () => {
      const ids = { ...exampleIds('erase-after'), subjectId };
      const withPii = { ...exampleEvent('PersonalDataAccessed', { ids }), pii: { email: EMAIL } };
      const before = await logHead(ledger);
      const refused = await appendEvent(ledger, emitter, withPii);
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ field: 'pii' });
      expect((refused.body as { message: string }).message).toMatch(/^pii: /);
      expect(await logHead(ledger)).toBe(before);

      const { pii: _dropped, ...withoutPii } = withPii;
      const accepted = await appendEvent(ledger, emitter, { ...withoutPii, eventId: randomUUID() });
      expect(accepted.status).toBe(201);
      const timeline = await timelineOf(ledger, auditor, subjectId);
      expect(timeline.find((e) => e.eventId === (accepted.body as { eventId: string }).eventId)).toMatchObject({ what: { action: 'accessed' }, personalValues: 'none' });
    });

    it('a second erasure request for the shredded subject is fulfilled without shredding again', async () => {
      const second = await receive(ledger, dpo, { subjectId, right: 'erasure' });
      await advance(ledger, dpo, second.requestId, 'verify');
      const answer = await advance(ledger, dpo, second.requestId, 'fulfil');
      expect(answer.request.status).toBe('fulfilled');
      const timeline = await timelineOf(ledger, auditor, subjectId);
      expect(timeline.filter((e) => e.type === 'SubjectKeyShredded')).toHaveLength(1);
    });
  });

  // ── reads are recorded ────────────────────────────────────────────────────
  describe('reads of personal data are recorded as PersonalDataAccessed by the caller', () => {
    it.each([
      ['personal-values', AUDIT_PURPOSE, 'audit', /personal values decrypted/],
      ['access-package', RIGHTS_PURPOSE, 'subject_request_fulfilment', /Art\. 15 access package/],
      ['export', RIGHTS_PURPOSE, 'subject_request_fulfilment', /Art\. 20 portability export/],
    ] as const)('GET %s', async (what, purpose, reasonCode, justification) => {
      const subjectId = freshSubject('read');
      await record(ledger, emitter, collectedBody(subjectId, { pii: { email: 'read@example.org' } }));
      expectStatus(await subjectRead(ledger, dpo, subjectId, what), 200);
      const reads = (await timelineOf(ledger, auditor, subjectId)).filter((e) => e.type === 'PersonalDataAccessed' && e.who.actorId === actorIdOfKey(dpo));
      expect(reads).toHaveLength(1);
      expect(reads[0]).toMatchObject({
        who: { actorId: actorIdOfKey(dpo), kind: 'dpo', system: 'privacy-ledger' },
        why: { purposes: [purpose], reasonCode, legalBasis: 'legal_obligation', justification: expect.stringMatching(justification) as string },
        personalValues: 'none',
      });
      expect(reads[0]!.what.categories).toEqual(expect.arrayContaining(['user.unique_id', 'user.name', 'user.contact.email']));
    });

    it('a ticketRef given with the read of personal values is recorded with it', async () => {
      const subjectId = freshSubject('ticket');
      await record(ledger, emitter, collectedBody(subjectId, { pii: { email: 'ticket@example.org' } }));
      expectStatus(await subjectRead(ledger, dpo, subjectId, 'personal-values', { ticketRef: 'DPO-77' }), 200);
      const reads = (await timelineOf(ledger, auditor, subjectId)).filter((e) => e.who.actorId === actorIdOfKey(dpo));
      expect(reads.map((e) => e.why.ticketRef)).toEqual(['DPO-77']);
    });
  });

  // ── portability export ─────────────────────────────────────────────────────
  describe('the portability export (Art. 20)', () => {
    const subjectId = freshSubject('port');
    const values = { email: 'port@example.org', name: 'Pat "Port", Jr.', city: 'Brno' };
    let provided: string;

    beforeAll(async () => {
      provided = await record(ledger, emitter, collectedBody(subjectId, { pii: values, data: { categories: ['user.name', 'user.contact.email', 'user.contact.address.city'] } }));
      // Not provided by the subject: not part of the portability export.
      await record(ledger, emitter, { ...exampleEvent('PersonalDataCollected', { ids: { ...exampleIds('port'), subjectId } }), pii: { serial: 'SN-991' } });
    });

    it('JSON: the records the subject provided, with their values', async () => {
      const res = expectStatus(await subjectRead(ledger, dpo, subjectId, 'export'), 200);
      const data = res.body as PortabilityExport;
      expect(data).toMatchObject({ subjectId, format: 'privacy-ledger-portability/1' });
      expect(data.records).toEqual([
        { eventId: provided, providedAt: '2026-11-01T10:00:00.000Z', categories: ['user.name', 'user.contact.email', 'user.contact.address.city'], status: 'readable', values },
      ]);
    });

    it('CSV: a header and one row per value, quoted where needed', async () => {
      const res = expectStatus(await subjectRead(ledger, dpo, subjectId, 'export', { format: 'csv' }), 200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toContain(`${subjectId}-export.csv`);
      const rows = parseCsv(res.text);
      expect(rows[0]).toEqual(['eventId', 'providedAt', 'categories', 'field', 'value', 'status']);
      const body = rows.slice(1);
      expect(body).toHaveLength(Object.keys(values).length);
      expect(body.map((r) => [r[3], r[4]]).sort()).toEqual(Object.entries(values).sort());
      for (const r of body) expect([r[0], r[1], r[2], r[5]]).toEqual([provided, '2026-11-01T10:00:00.000Z', 'user.name user.contact.email user.contact.address.city', 'readable']);
    });

    it("an unknown format → 400 naming 'format'", async () => {
      expect(errorsOf(await subjectRead(ledger, dpo, subjectId, 'export', { format: 'xml' })).map((e) => e.field)).toEqual(['format']);
    });
  });
});
