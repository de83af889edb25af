import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import type { Response, Test } from 'supertest';
import type { SubjectRequestView } from '../../src/ledger/queries/subject-requests/subject-requests.query.js';
import type { TimelineEntry } from '../../src/ledger/queries/subject-timeline/subject-timeline.query.js';
import { EXAMPLE_OCCURRED_AT, type EventBody } from './example-events.js';
import type { TestLedger } from './ledger-app.js';
import { appendEvent, timelinePage } from './ledger-http.js';

/** Helpers for the rights-workflow e2e specs: keys of every role, request calls, subject data. */

export type Role = 'emitter' | 'auditor' | 'dpo' | 'admin';

/** Creates an API key of any role, `dpo` included (TestLedger.key does not offer dpo). */
export async function roleKey(ledger: TestLedger, role: Role): Promise<string> {
  const res = await ledger
    .http()
    .post('/v1/api-keys')
    .set('authorization', `Bearer ${ledger.adminKey}`)
    .send({ name: `rights-${role}-${randomUUID().slice(0, 6)}`, role });
  if (res.status !== 201) throw new Error(`could not create a ${role} key: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { key: string }).key;
}

/** A subject id no other test uses. */
export function freshSubject(tag: string): string {
  return `subj-${tag}-${randomUUID().slice(0, 8)}`;
}

/** A request id no other test uses. */
export function freshRequestId(tag: string): string {
  return `req-${tag}-${randomUUID().slice(0, 8)}`;
}

export interface RequestAnswer {
  readonly request: SubjectRequestView;
  readonly receipts: Array<{ eventId: string; streamId: string; streamRevision: number; globalPosition: number; hash: string }>;
}

function withKey(req: Test, key: string | null): Test {
  return key === null ? req : req.set('authorization', `Bearer ${key}`);
}

export function postRequest(ledger: TestLedger, key: string | null, body: unknown): Promise<Response> {
  return withKey(ledger.http().post('/v1/requests'), key).send(body as object);
}

export function actOn(ledger: TestLedger, key: string | null, requestId: string, action: string, body: unknown = {}): Promise<Response> {
  return withKey(ledger.http().post(`/v1/requests/${encodeURIComponent(requestId)}/${action}`), key).send(body as object);
}

export function getRequest(ledger: TestLedger, key: string | null, requestId: string): Promise<Response> {
  return withKey(ledger.http().get(`/v1/requests/${encodeURIComponent(requestId)}`), key);
}

export function listRequests(ledger: TestLedger, key: string | null, query: Record<string, string> = {}): Promise<Response> {
  return withKey(ledger.http().get('/v1/requests'), key).query(query);
}

export function subjectRead(ledger: TestLedger, key: string | null, subjectId: string, what: 'personal-values' | 'access-package' | 'export', query: Record<string, string> = {}): Promise<Response> {
  return withKey(ledger.http().get(`/v1/subjects/${encodeURIComponent(subjectId)}/${what}`), key).query(query);
}

/** Fails with the response body unless the status is the expected one. */
export function expectStatus(res: Response, status: number): Response {
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${res.status}: ${res.text}`);
  return res;
}

/** Receives a request as the dpo and returns its view; fails unless 201. */
export async function receive(ledger: TestLedger, dpo: string, body: Record<string, unknown>): Promise<SubjectRequestView> {
  return (expectStatus(await postRequest(ledger, dpo, { channel: 'email', ...body }), 201).body as RequestAnswer).request;
}

/** Advances a request as the dpo; fails unless 201. */
export async function advance(ledger: TestLedger, dpo: string, requestId: string, action: 'verify' | 'extend' | 'fulfil' | 'reject', body: unknown = undefined): Promise<RequestAnswer> {
  const defaults: Record<string, unknown> = {
    verify: { method: 'account_login' },
    extend: { reason: 'recordings of several cameras must be collected', additionalMonths: 2 },
    fulfil: {},
    reject: { reason: 'manifestly unfounded: repeated identical request' },
  };
  return expectStatus(await actOn(ledger, dpo, requestId, action, body ?? defaults[action]), 201).body as RequestAnswer;
}

/** A PersonalDataCollected body for the subject (provided by the subject itself), with personal values when `pii` is given. */
export function collectedBody(subjectId: string, options: { pii?: Record<string, string>; data?: Record<string, unknown>; occurredAt?: string } = {}): EventBody {
  return {
    eventId: randomUUID(),
    type: 'PersonalDataCollected',
    occurredAt: options.occurredAt ?? EXAMPLE_OCCURRED_AT,
    subjectId,
    actor: { id: 'mobile-app', kind: 'service', system: 'mobile-app' },
    data: {
      categories: ['user.name', 'user.contact.email'],
      purpose: 'essential.service.account_creation',
      legalBasis: 'contract',
      source: 'data_subject',
      ...options.data,
    },
    ...(options.pii ? { pii: options.pii } : {}),
  };
}

/** Records an event as the emitter; fails unless 201. Returns the event id. */
export async function record(ledger: TestLedger, emitter: string, body: EventBody): Promise<string> {
  expectStatus(await appendEvent(ledger, emitter, body), 201);
  return body.eventId;
}

/** The subject's whole timeline (ascending), read as `key`. */
export async function timelineOf(ledger: TestLedger, key: string, subjectId: string): Promise<TimelineEntry[]> {
  return (await timelinePage(ledger, key, subjectId, { order: 'asc', limit: '500' })).entries;
}

/** An RFC 4180 CSV text as rows of fields (csv-parse). */
export function parseCsv(text: string): string[][] {
  return parse(text, { relax_column_count: true }) as string[][];
}
