import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'supertest';
import type { TimelinePage } from '../../src/ledger/queries/subject-timeline/subject-timeline.query.js';
import type { TestLedger } from './ledger-app.js';

/** Small HTTP helpers over a TestLedger, so e2e specs read as what a caller does. */

export interface ReceiptBody {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly globalPosition: number;
  readonly hash: string;
}

export interface FieldErrorBody {
  readonly field: string;
  readonly reason: string;
}

export function appendEvent(ledger: TestLedger, key: string, body: unknown): Promise<Response> {
  return ledger.http().post('/v1/events').set('authorization', `Bearer ${key}`).send(body as object);
}

export function appendBatch(ledger: TestLedger, key: string, events: readonly unknown[]): Promise<Response> {
  return ledger.http().post('/v1/events/batch').set('authorization', `Bearer ${key}`).send({ events });
}

export function getTimeline(ledger: TestLedger, key: string, subjectId: string, query: Record<string, string> = {}): Promise<Response> {
  return ledger.http().get(`/v1/subjects/${encodeURIComponent(subjectId)}/timeline`).set('authorization', `Bearer ${key}`).query(query);
}

/** Reads a timeline page and fails with the response body when it is not a 200. */
export async function timelinePage(ledger: TestLedger, key: string, subjectId: string, query: Record<string, string> = {}): Promise<TimelinePage> {
  const res = await getTimeline(ledger, key, subjectId, query);
  if (res.status !== 200) throw new Error(`timeline of ${subjectId} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as TimelinePage;
}

export interface Readiness {
  readonly status: string;
  readonly logHead: number;
  readonly readModelsAt: number;
  readonly lag: number;
  /** Every follower of the log feed, with its own lag. */
  readonly followers: ReadonlyArray<{ readonly name: string; readonly state: string; readonly position: number; readonly lag: number }>;
}

export async function readiness(ledger: TestLedger): Promise<Readiness> {
  const res = await ledger.http().get('/health/ready');
  if (res.status !== 200) throw new Error(`/health/ready answered ${res.status}`);
  return res.body as Readiness;
}

/** Number of events in the log. */
export async function logHead(ledger: TestLedger): Promise<number> {
  return (await readiness(ledger)).logHead;
}

/** Waits until every follower (read models, Merkle log, monitor) holds the whole log; returns the log head. */
export async function settled(ledger: TestLedger, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await readiness(ledger);
    if (ready.lag === 0 && ready.followers.every((f) => f.lag === 0)) return ready.logHead;
    if (Date.now() > deadline) throw new Error(`followers still lag behind the log: ${JSON.stringify(ready.followers)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The actor id under which the ledger records reads made with this API key. */
export function actorIdOfKey(key: string): string {
  const match = /^plk_([0-9a-f]{12})_/.exec(key);
  if (!match) throw new Error('not a ledger API key');
  return `key-${match[1]!}`;
}

export function errorsOf(res: Response): FieldErrorBody[] {
  return ((res.body as { errors?: FieldErrorBody[] }).errors ?? []).slice();
}

/** Every regular file below `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Files below `dir` whose bytes contain `needle` (UTF-8 or UTF-16LE). */
export function filesContaining(dir: string, needle: string): string[] {
  const patterns = [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le')];
  return filesUnder(dir).filter((file) => {
    const bytes = readFileSync(file);
    return patterns.some((p) => bytes.includes(p));
  });
}
