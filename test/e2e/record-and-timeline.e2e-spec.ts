import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { LEDGER_EVENT_TYPES, type LedgerEventType } from '../../src/ledger/domain/events.js';
import type { TimelineEntry } from '../../src/ledger/queries/subject-timeline/subject-timeline.query.js';
import { exampleCatalogue, exampleEvent, exampleIds, isSubjectEvent, type EventBody } from '../support/example-events.js';
import { startLedger, type TestLedger } from '../support/ledger-app.js';
import {
  actorIdOfKey,
  appendBatch,
  appendEvent,
  errorsOf,
  filesContaining,
  getTimeline,
  logHead,
  readiness,
  settled,
  timelinePage,
  type ReceiptBody,
} from '../support/ledger-http.js';

/*
 * The foundation through HTTP, against the real service on the embedded SQLite store:
 * record events, answer "who touched this person's data, when, and why", refuse bad input
 * without leaving a trace, and keep every promise across a restart.
 */

const HASH = /^[0-9a-f]{64}$/;
const AUDIT_PURPOSE = 'essential.service.audit';

/** A subject id no other test uses. */
function freshSubject(tag: string): string {
  return `subj-${tag}-${randomUUID().slice(0, 8)}`;
}

function accessed(subjectId: string, overrides: { occurredAt?: string; actorId?: string; data?: Record<string, unknown> } = {}): EventBody {
  return exampleEvent('PersonalDataAccessed', {
    ids: { ...exampleIds('t'), subjectId },
    ...(overrides.occurredAt ? { occurredAt: overrides.occurredAt } : {}),
    ...(overrides.actorId ? { actor: { id: overrides.actorId, kind: 'employee', system: 'support-console' } } : {}),
    ...(overrides.data ? { data: overrides.data } : {}),
  });
}

function eventIds(entries: readonly TimelineEntry[]): string[] {
  return entries.map((e) => e.eventId);
}

/** Entries that are not the ledger's own record of earlier timeline reads. */
function withoutAuditReads(entries: readonly TimelineEntry[]): TimelineEntry[] {
  return entries.filter((e) => !e.why.purposes.includes(AUDIT_PURPOSE));
}

describe('recording events and reading the subject timeline', () => {
  let ledger: TestLedger;
  let emitter: string;
  let auditor: string;

  beforeAll(async () => {
    ledger = await startLedger();
    emitter = await ledger.key('emitter');
    auditor = await ledger.key('auditor');
  });
  afterAll(async () => ledger.destroy());

  describe('who touched the data, what, why and when', () => {
    it('shows an appended access with who, what, why, when and the receipt of the append', async () => {
      const subjectId = freshSubject('who');
      const startedAt = new Date().toISOString();
      const body = accessed(subjectId, { data: { justification: 'doorbell offline since the firmware update' } });
      const res = await appendEvent(ledger, emitter, body);
      expect(res.status).toBe(201);
      const receipt = res.body as ReceiptBody;
      expect(receipt).toEqual({
        eventId: body.eventId,
        streamId: `subject-${subjectId}`,
        streamRevision: 0,
        globalPosition: expect.any(Number) as number,
        hash: expect.stringMatching(HASH) as string,
      });

      const page = await timelinePage(ledger, auditor, subjectId);
      expect(page.subjectId).toBe(subjectId);
      expect(page.entries).toHaveLength(1);
      const entry = page.entries[0]!;
      expect(entry).toMatchObject({
        eventId: body.eventId,
        type: 'PersonalDataAccessed',
        occurredAt: '2026-11-01T10:00:00.000Z',
        who: { actorId: 'agent-17', kind: 'employee', system: 'support-console' },
        what: { action: 'accessed', categories: ['user.contact.email', 'user.device.serial_number'] },
        why: {
          purposes: ['essential.service.operations.support'],
          legalBasis: 'contract',
          reasonCode: 'customer_initiated_support',
          ticketRef: 'SUP-1042',
          justification: 'doorbell offline since the firmware update',
        },
        personalValues: 'none',
        receipt: { streamRevision: receipt.streamRevision, globalPosition: receipt.globalPosition, hash: receipt.hash },
      });
      expect(entry.recordedAt >= startedAt).toBe(true);
      expect(page.nextCursor).toBeNull();
    });

    it('states when in UTC, whatever offset the emitter used', async () => {
      const subjectId = freshSubject('when');
      const body = accessed(subjectId, { occurredAt: '2026-11-01T12:30:00+02:00' });
      expect((await appendEvent(ledger, emitter, body)).status).toBe(201);
      const page = await timelinePage(ledger, auditor, subjectId);
      expect(page.entries.map((e) => e.occurredAt)).toEqual(['2026-11-01T10:30:00.000Z']);
    });

    it('shows to whom data was disclosed, under which reference, and for which legal request', async () => {
      const ids = { ...exampleIds('disclosure'), subjectId: freshSubject('disclosed') };
      const body = exampleEvent('PersonalDataDisclosed', { ids });
      expect((await appendEvent(ledger, emitter, body)).status).toBe(201);
      const [entry] = (await timelinePage(ledger, auditor, ids.subjectId)).entries;
      expect(entry).toMatchObject({
        who: { actorId: 'legal-team-3', kind: 'employee', system: 'legal-console' },
        what: { action: 'disclosed', categories: ['user.sensor.video'] },
        why: { purposes: ['third_party_sharing.legal_obligation'], legalBasis: 'legal_obligation', reasonCode: 'third_party_legal_request', ticketRef: 'LEGAL-77' },
        recipient: { id: 'police-berlin', kind: 'public_authority', country: 'DE' },
        details: { legalReference: 'court order 12 Js 345/26' },
      });
    });
  });

  describe('the event catalogue', () => {
    it(`records one valid event of each of the ${LEDGER_EVENT_TYPES.length} types, each on its stream`, async () => {
      const ids = { ...exampleIds(`cat-${randomUUID().slice(0, 8)}`), subjectId: freshSubject('catalogue') };
      const events = exampleCatalogue(ids);
      expect(new Set(events.map((e) => e.type))).toEqual(new Set<LedgerEventType>(LEDGER_EVENT_TYPES));
      expect(LEDGER_EVENT_TYPES).toHaveLength(27);

      const receipts: ReceiptBody[] = [];
      for (const event of events) {
        const res = await appendEvent(ledger, emitter, event);
        expect({ type: event.type, status: res.status, body: res.status === 201 ? 'receipt' : (res.body as unknown) }).toEqual({
          type: event.type,
          status: 201,
          body: 'receipt',
        });
        receipts.push(res.body as ReceiptBody);
      }

      const expectedStream = (event: EventBody): string => {
        if (isSubjectEvent(event.type)) return `subject-${ids.subjectId}`;
        if (event.type === 'ProcessingActivityRegistered') return 'register-processing';
        if (event.type === 'PrivacyNoticePublished') return `notice-${ids.noticeVersion}`;
        return `breach-${ids.breachId}`;
      };
      expect(receipts.map((r) => r.streamId)).toEqual(events.map(expectedStream));
      expect(events.filter((e) => !isSubjectEvent(e.type)).every((e) => e.subjectId === undefined)).toBe(true);

      const page = await timelinePage(ledger, auditor, ids.subjectId, { limit: '500' });
      const subjectEvents = events.filter((e) => isSubjectEvent(e.type));
      expect(eventIds(page.entries)).toEqual(subjectEvents.map((e) => e.eventId));
      expect(page.entries.map((e) => e.type)).toEqual(subjectEvents.map((e) => e.type));
      expect(page.entries.map((e) => e.receipt.streamRevision)).toEqual(subjectEvents.map((_, i) => i));
    });
  });

  describe('filters', () => {
    /** Five events on a fresh subject, one hour apart, by different actors for different purposes. */
    async function seed(tag: string): Promise<{ subjectId: string; ids: string[] }> {
      const subjectId = freshSubject(tag);
      const ids = { ...exampleIds(tag), subjectId };
      const events = [
        accessed(subjectId, {
          occurredAt: '2026-11-01T08:00:00Z',
          actorId: 'agent-1',
          data: { categories: ['user.contact.email'] },
        }),
        exampleEvent('PersonalDataCollected', { ids, occurredAt: '2026-11-01T09:00:00Z' }),
        accessed(subjectId, {
          occurredAt: '2026-11-01T10:00:00Z',
          actorId: 'agent-2',
          data: { categories: ['user.sensor.video', 'user.contact.email'], purpose: 'essential.service.security', reasonCode: 'security_review' },
        }),
        exampleEvent('ConsentGranted', { ids, occurredAt: '2026-11-01T11:00:00Z' }),
        exampleEvent('PersonalDataDisclosed', { ids, occurredAt: '2026-11-01T12:00:00Z' }),
      ];
      const res = await appendBatch(ledger, emitter, events);
      expect(res.status).toBe(201);
      return { subjectId, ids: events.map((e) => e.eventId) };
    }

    it('time range: from is inclusive, to is exclusive', async () => {
      const { subjectId, ids } = await seed('range');
      const page = await timelinePage(ledger, auditor, subjectId, { from: '2026-11-01T09:00:00Z', to: '2026-11-01T11:00:00Z' });
      expect(eventIds(page.entries)).toEqual([ids[1], ids[2]]);
    });

    it('time range bounds may carry an offset', async () => {
      const { subjectId, ids } = await seed('range-offset');
      // 10:00+01:00 is 09:00Z and 12:00+01:00 is 11:00Z: an offset ignored would answer ids[2], ids[3].
      const page = await timelinePage(ledger, auditor, subjectId, { from: '2026-11-01T10:00:00+01:00', to: '2026-11-01T12:00:00+01:00' });
      expect(eventIds(page.entries)).toEqual([ids[1], ids[2]]);
    });

    it('category: entries that touched that category', async () => {
      const { subjectId, ids } = await seed('category');
      const page = await timelinePage(ledger, auditor, subjectId, { category: 'user.sensor.video' });
      expect(eventIds(page.entries)).toEqual([ids[1], ids[2], ids[4]]);
    });

    it('purpose: a single purpose or one of a list of purposes (consent)', async () => {
      const { subjectId, ids } = await seed('purpose');
      const security = await timelinePage(ledger, auditor, subjectId, { purpose: 'essential.service.security' });
      expect(eventIds(security.entries)).toEqual([ids[2]]);
      const marketing = await timelinePage(ledger, auditor, subjectId, { purpose: 'marketing.communications.email' });
      expect(eventIds(marketing.entries)).toEqual([ids[3]]);
    });

    it('actor: entries by that actor only', async () => {
      const { subjectId, ids } = await seed('actor');
      const page = await timelinePage(ledger, auditor, subjectId, { actor: 'agent-2' });
      expect(eventIds(page.entries)).toEqual([ids[2]]);
      expect(page.entries[0]!.who.actorId).toBe('agent-2');
    });

    it('filters combine', async () => {
      const { subjectId, ids } = await seed('combined');
      const page = await timelinePage(ledger, auditor, subjectId, { category: 'user.contact.email', to: '2026-11-01T09:00:00Z' });
      expect(eventIds(page.entries)).toEqual([ids[0]]);
    });
  });

  describe('cursor pagination', () => {
    async function fiveEvents(tag: string): Promise<{ subjectId: string; ids: string[] }> {
      const subjectId = freshSubject(tag);
      const events = [8, 9, 10, 11, 12].map((h) => accessed(subjectId, { occurredAt: `2026-11-01T${String(h).padStart(2, '0')}:00:00Z` }));
      expect((await appendBatch(ledger, emitter, events)).status).toBe(201);
      return { subjectId, ids: events.map((e) => e.eventId) };
    }

    async function allPages(subjectId: string, query: Record<string, string>): Promise<{ pages: string[][]; cursors: Array<string | null> }> {
      const pages: string[][] = [];
      const cursors: Array<string | null> = [];
      let cursor: string | null = null;
      do {
        const page = await timelinePage(ledger, auditor, subjectId, { ...query, ...(cursor ? { cursor } : {}) });
        pages.push(eventIds(page.entries));
        cursors.push(page.nextCursor);
        cursor = page.nextCursor;
      } while (cursor !== null && pages.length < 10);
      return { pages, cursors };
    }

    it('limit=2 over 5 events, newest first: 3 pages, no duplicates or gaps, nextCursor null at the end', async () => {
      const { subjectId, ids } = await fiveEvents('pages-desc');
      const { pages, cursors } = await allPages(subjectId, { limit: '2', order: 'desc' });
      expect(pages).toEqual([
        [ids[4], ids[3]],
        [ids[2], ids[1]],
        [ids[0]],
      ]);
      expect(cursors.map((c) => c === null)).toEqual([false, false, true]);
    });

    it('limit=2 over 5 events, oldest first (bounded in time, so the reads recorded meanwhile are outside): 3 pages', async () => {
      const { subjectId, ids } = await fiveEvents('pages-asc');
      const { pages, cursors } = await allPages(subjectId, { limit: '2', to: '2026-11-02T00:00:00Z' });
      expect(pages).toEqual([
        [ids[0], ids[1]],
        [ids[2], ids[3]],
        [ids[4]],
      ]);
      expect(cursors[2]).toBeNull();
    });

    it('a page exactly at the end has no next cursor', async () => {
      const { subjectId, ids } = await fiveEvents('pages-exact');
      const page = await timelinePage(ledger, auditor, subjectId, { limit: '5', order: 'desc' });
      expect(eventIds(page.entries)).toEqual([...ids].reverse());
      expect(page.nextCursor).toBeNull();
    });
  });

  describe('reads are processing too', () => {
    it("records a timeline read as PersonalDataAccessed by the caller for audit, shown on the next read", async () => {
      const subjectId = freshSubject('audited');
      const body = accessed(subjectId);
      expect((await appendEvent(ledger, emitter, body)).status).toBe(201);

      const first = await timelinePage(ledger, auditor, subjectId);
      expect(eventIds(first.entries)).toEqual([body.eventId]);

      const second = await timelinePage(ledger, auditor, subjectId);
      expect(second.entries).toHaveLength(2);
      const read = second.entries[1]!;
      expect(read).toMatchObject({
        type: 'PersonalDataAccessed',
        who: { actorId: actorIdOfKey(auditor), kind: 'auditor', system: 'privacy-ledger' },
        what: { action: 'accessed' },
        why: { purposes: [AUDIT_PURPOSE], reasonCode: 'audit' },
      });
      // The read returned the subject's contact e-mail and device serial categories: the record says so.
      expect(read.what.categories).toEqual(expect.arrayContaining(['user.contact.email', 'user.device.serial_number']));
    });

    it('records the ticket that justified the read', async () => {
      const subjectId = freshSubject('audited-ticket');
      expect((await appendEvent(ledger, emitter, accessed(subjectId))).status).toBe(201);
      await timelinePage(ledger, auditor, subjectId, { ticketRef: 'DPO-CASE-12' });
      const page = await timelinePage(ledger, auditor, subjectId, { purpose: AUDIT_PURPOSE });
      expect(page.entries.map((e) => e.why.ticketRef)).toEqual(['DPO-CASE-12']);
    });

    it('records a read by an admin key under that key', async () => {
      const subjectId = freshSubject('audited-admin');
      await timelinePage(ledger, ledger.adminKey, subjectId);
      const page = await timelinePage(ledger, auditor, subjectId, { purpose: AUDIT_PURPOSE });
      expect(page.entries.map((e) => e.who.actorId)).toEqual([actorIdOfKey(ledger.adminKey)]);
    });
  });

  describe('read-your-writes', () => {
    it('a read right after the 201 contains the event, every time', async () => {
      const subjectId = freshSubject('ryw');
      for (let i = 0; i < 20; i++) {
        const body = accessed(subjectId, { actorId: 'agent-ryw' });
        expect((await appendEvent(ledger, emitter, body)).status).toBe(201);
        const page = await timelinePage(ledger, auditor, subjectId, { actor: 'agent-ryw', order: 'desc', limit: '1' });
        expect(eventIds(page.entries)).toEqual([body.eventId]);
      }
    });

    it('a read right after a batch 201 contains every event of the batch', async () => {
      const subjectId = freshSubject('ryw-batch');
      const events = Array.from({ length: 50 }, () => accessed(subjectId));
      expect((await appendBatch(ledger, emitter, events)).status).toBe(201);
      const page = await timelinePage(ledger, auditor, subjectId, { limit: '500' });
      expect(eventIds(page.entries)).toEqual(events.map((e) => e.eventId));
    });
  });

  describe('refused input names the field, says why, and leaves no trace', () => {
    /** Sends, expects a 400 naming `field` with a reason matching `reason`, and checks nothing was written. */
    async function expectRefused(
      send: () => Promise<Response>,
      expected: { field: string | RegExp; reason: RegExp },
      emptySubject?: string,
    ): Promise<Response> {
      const before = await logHead(ledger);
      const res = await send();
      expect({ status: res.status, errors: errorsOf(res) }).toEqual({
        status: 400,
        errors: expect.arrayContaining([
          {
            field: typeof expected.field === 'string' ? expected.field : (expect.stringMatching(expected.field) as string),
            reason: expect.stringMatching(expected.reason) as string,
          },
        ]) as unknown,
      });
      expect(await logHead(ledger)).toBe(before);
      if (emptySubject !== undefined) expect((await timelinePage(ledger, auditor, emptySubject)).entries).toEqual([]);
      return res;
    }

    it('an unknown data category, naming the value', async () => {
      const subjectId = freshSubject('bad-category');
      const body = accessed(subjectId, { data: { categories: ['user.contact.email', 'user.shoe_size'] } });
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'data.categories', reason: /unknown data category 'user\.shoe_size'/ }, subjectId);
    });

    it('a missing purpose', async () => {
      const subjectId = freshSubject('no-purpose');
      const body = accessed(subjectId);
      delete body.data['purpose'];
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'data.purpose', reason: /^is required$/ }, subjectId);
    });

    it('an unknown purpose, naming the value', async () => {
      const subjectId = freshSubject('bad-purpose');
      const body = accessed(subjectId, { data: { purpose: 'selling.to.brokers' } });
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'data.purpose', reason: /selling\.to\.brokers/ }, subjectId);
    });

    it.each([
      ['not a date', 'yesterday'],
      ['an impossible date', '2026-02-30T10:00:00Z'],
    ])('a bad timestamp (%s)', async (_case, occurredAt) => {
      const subjectId = freshSubject('bad-time');
      await expectRefused(() => appendEvent(ledger, emitter, accessed(subjectId, { occurredAt })), { field: 'occurredAt', reason: /ISO 8601/ }, subjectId);
    });

    it('a timestamp without a time zone', async () => {
      const subjectId = freshSubject('no-zone');
      await expectRefused(
        () => appendEvent(ledger, emitter, accessed(subjectId, { occurredAt: '2026-11-01T10:00:00' })),
        { field: 'occurredAt', reason: /time zone/ },
        subjectId,
      );
    });

    it('a timestamp in the future', async () => {
      const subjectId = freshSubject('future');
      const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString();
      await expectRefused(() => appendEvent(ledger, emitter, accessed(subjectId, { occurredAt: tomorrow })), { field: 'occurredAt', reason: /future/ }, subjectId);
    });

    it('an unknown event type', async () => {
      const subjectId = freshSubject('bad-type');
      const body = { ...accessed(subjectId), type: 'PersonalDataSold' };
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'type', reason: /event types/ }, subjectId);
    });

    it('an eventId that is not a UUID', async () => {
      const subjectId = freshSubject('bad-id');
      await expectRefused(() => appendEvent(ledger, emitter, { ...accessed(subjectId), eventId: 'event-1' }), { field: 'eventId', reason: /UUID/ }, subjectId);
    });

    it('an unknown actor kind', async () => {
      const subjectId = freshSubject('bad-actor');
      const body = { ...accessed(subjectId), actor: { id: 'agent-17', kind: 'robot', system: 'support-console' } };
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'actor.kind', reason: /must be one of/ }, subjectId);
    });

    it('an extra field at the top level', async () => {
      const subjectId = freshSubject('extra-top');
      const body = { ...accessed(subjectId), note: 'called the customer' };
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'note', reason: /not a known field/ }, subjectId);
    });

    it('an extra field inside data', async () => {
      const subjectId = freshSubject('extra-data');
      const body = accessed(subjectId, { data: { customerName: 'x' } });
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'data.customerName', reason: /not a known field/ }, subjectId);
    });

    it('an extra field inside the actor', async () => {
      const subjectId = freshSubject('extra-actor');
      const body = { ...accessed(subjectId), actor: { id: 'agent-17', kind: 'employee', system: 'support-console', email: 'x' } };
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'actor.email', reason: /not a known field/ }, subjectId);
    });

    it('a subjectId that is an e-mail address, without echoing it', async () => {
      const res = await expectRefused(() => appendEvent(ledger, emitter, accessed('jane.doe@example.com')), { field: 'subjectId', reason: /pseudonymous/ });
      expect(JSON.stringify(res.body)).not.toContain('jane.doe@example.com');
    });

    it('a subjectId that is a phone number', async () => {
      await expectRefused(() => appendEvent(ledger, emitter, accessed('4915112345678')), { field: 'subjectId', reason: /pseudonymous/ });
    });

    it('a subject event without subjectId', async () => {
      const body: Partial<EventBody> = accessed('unused');
      delete body.subjectId;
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'subjectId', reason: /required/ });
    });

    it('a subjectId on BreachDetected (a breach is not about one subject)', async () => {
      const subjectId = freshSubject('breach-subject');
      const body = { ...exampleEvent('BreachDetected', { ids: exampleIds(`refused-${randomUUID().slice(0, 8)}`) }), subjectId };
      await expectRefused(() => appendEvent(ledger, emitter, body), { field: 'subjectId', reason: /must be absent/ }, subjectId);
    });

    it('a body that is not valid JSON', async () => {
      await expectRefused(
        () => ledger.http().post('/v1/events').set('authorization', `Bearer ${emitter}`).set('content-type', 'application/json').send('{"eventId": "'),
        { field: /^\(?body\)?$/, reason: /JSON/ },
      );
    });

    it('a body that is JSON but not an object', async () => {
      await expectRefused(() => appendEvent(ledger, emitter, []), { field: '(body)', reason: /JSON object/ });
    });

    it('a body over the documented 4 MiB limit: 413, nothing stored', async () => {
      const subjectId = freshSubject('huge');
      const big = JSON.stringify({ events: [accessed(subjectId)], padding: 'p'.repeat(4 * 1024 * 1024) });
      const before = await logHead(ledger);
      const res = await ledger.http().post('/v1/events/batch').set('authorization', `Bearer ${emitter}`).set('content-type', 'application/json').send(big);
      expect(res.status).toBe(413);
      expect((res.body as { message: string }).message).toMatch(/large|limit/i);
      expect(await logHead(ledger)).toBe(before);
    });

    it('a batch of more than 1000 events', async () => {
      const subjectId = freshSubject('big-batch');
      const events = Array.from({ length: 1001 }, () => accessed(subjectId));
      await expectRefused(() => appendBatch(ledger, emitter, events), { field: 'events', reason: /at most 1000/ }, subjectId);
    });

    it('a batch that repeats an eventId', async () => {
      const subjectId = freshSubject('repeat-batch');
      const first = accessed(subjectId);
      const events = [first, accessed(subjectId), { ...accessed(subjectId), eventId: first.eventId }];
      await expectRefused(() => appendBatch(ledger, emitter, events), { field: 'events[2].eventId', reason: /events\[0\]/ }, subjectId);
    });

    describe('bad timeline filters (and the refused read is not recorded as an access)', () => {
      it.each([
        ['an unknown filter', { colour: 'red' }, 'colour', /not a known filter/],
        ['a limit of 0', { limit: '0' }, 'limit', /1 to 500/],
        ['a limit that is not a number', { limit: 'ten' }, 'limit', /1 to 500/],
        ['a limit above 500', { limit: '501' }, 'limit', /1 to 500/],
        ['a cursor this API never returned', { cursor: 'not-a-cursor' }, 'cursor', /cursor/],
        ['an unknown category', { category: 'user.shoe_size' }, 'category', /user\.shoe_size/],
        ['an unknown purpose', { purpose: 'selling.to.brokers' }, 'purpose', /selling\.to\.brokers/],
        ['a bad from', { from: 'last week' }, 'from', /ISO 8601/],
      ])('%s', async (_case, query, field, reason) => {
        const subjectId = freshSubject('bad-filter');
        expect((await appendEvent(ledger, emitter, accessed(subjectId))).status).toBe(201);
        await expectRefused(() => getTimeline(ledger, auditor, subjectId, query), { field, reason });
        const page = await timelinePage(ledger, auditor, subjectId);
        expect(page.entries.filter((e) => e.why.purposes.includes(AUDIT_PURPOSE))).toEqual([]);
      });

      it('a subject id that is a phone number (reading it would record the number as a subject id)', async () => {
        await expectRefused(() => getTimeline(ledger, auditor, '4915112345678'), { field: 'subjectId', reason: /pseudonymous/ });
      });
    });
  });

  describe('callers and roles', () => {
    it('401 without a key, with a malformed key and with an unknown key; nothing stored, no read recorded', async () => {
      const subjectId = freshSubject('unauth');
      const unknownKey = `plk_${'0'.repeat(12)}_${'A'.repeat(43)}`;
      const before = await logHead(ledger);
      expect((await ledger.http().post('/v1/events').send(accessed(subjectId))).status).toBe(401);
      expect((await appendEvent(ledger, 'not-a-key', accessed(subjectId))).status).toBe(401);
      expect((await appendEvent(ledger, unknownKey, accessed(subjectId))).status).toBe(401);
      expect((await ledger.http().get(`/v1/subjects/${subjectId}/timeline`)).status).toBe(401);
      expect((await getTimeline(ledger, unknownKey, subjectId)).status).toBe(401);
      expect(await logHead(ledger)).toBe(before);
    });

    it('a key changed by one character is refused', async () => {
      const tampered = auditor.slice(0, -1) + (auditor.endsWith('A') ? 'B' : 'A');
      expect((await getTimeline(ledger, tampered, freshSubject('tampered'))).status).toBe(401);
    });

    it('403 when an emitter reads a timeline; no read recorded', async () => {
      const subjectId = freshSubject('emitter-reads');
      expect((await appendEvent(ledger, emitter, accessed(subjectId))).status).toBe(201);
      const before = await logHead(ledger);
      const res = await getTimeline(ledger, emitter, subjectId);
      expect(res.status).toBe(403);
      expect((res.body as { message: string }).message).toMatch(/auditor/);
      expect(await logHead(ledger)).toBe(before);
    });

    it('403 when an auditor appends; nothing stored', async () => {
      const subjectId = freshSubject('auditor-writes');
      const before = await logHead(ledger);
      const res = await appendEvent(ledger, auditor, accessed(subjectId));
      expect(res.status).toBe(403);
      expect((res.body as { message: string }).message).toMatch(/emitter/);
      expect((await appendBatch(ledger, auditor, [accessed(subjectId)])).status).toBe(403);
      expect(await logHead(ledger)).toBe(before);
      expect((await timelinePage(ledger, auditor, subjectId)).entries).toEqual([]);
    });

    it('an admin can append and read', async () => {
      const subjectId = freshSubject('admin');
      const body = accessed(subjectId);
      expect((await appendEvent(ledger, ledger.adminKey, body)).status).toBe(201);
      expect(eventIds((await timelinePage(ledger, ledger.adminKey, subjectId)).entries)).toEqual([body.eventId]);
    });

    it('the key may also be sent as X-API-Key', async () => {
      const res = await ledger.http().get(`/v1/subjects/${freshSubject('x-api-key')}/timeline`).set('x-api-key', auditor);
      expect(res.status).toBe(200);
    });
  });

  describe('idempotency by eventId', () => {
    it('the same eventId with the same body: 200 and the identical receipt, stored once', async () => {
      const subjectId = freshSubject('dup');
      const body = accessed(subjectId);
      const first = await appendEvent(ledger, emitter, body);
      expect(first.status).toBe(201);
      const before = await logHead(ledger);
      const again = await appendEvent(ledger, emitter, body);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await logHead(ledger)).toBe(before);
      expect(eventIds((await timelinePage(ledger, auditor, subjectId)).entries)).toEqual([body.eventId]);
    });

    it('the same eventId in upper case is the same event', async () => {
      const subjectId = freshSubject('dup-case');
      const body = accessed(subjectId);
      const first = await appendEvent(ledger, emitter, body);
      const again = await appendEvent(ledger, emitter, { ...body, eventId: body.eventId.toUpperCase() });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    });

    it('the same eventId with a different body: 409 naming eventId; the first event stays as it was', async () => {
      const subjectId = freshSubject('dup-conflict');
      const body = accessed(subjectId);
      const first = await appendEvent(ledger, emitter, body);
      expect(first.status).toBe(201);
      const before = await logHead(ledger);
      const res = await appendEvent(ledger, emitter, { ...body, data: { ...body.data, ticketRef: 'SUP-9999' } });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ field: 'eventId' });
      expect((res.body as { message: string }).message).toContain(body.eventId);
      expect(await logHead(ledger)).toBe(before);
      const page = await timelinePage(ledger, auditor, subjectId);
      expect(page.entries.map((e) => [e.eventId, e.why.ticketRef])).toEqual([[body.eventId, 'SUP-1042']]);
    });
  });

  describe('workflow conflicts (409)', () => {
    it("fulfilling a request that was never received: 409 with currentState 'not_received'; nothing stored", async () => {
      const ids = { ...exampleIds('wf-never'), subjectId: freshSubject('wf-never') };
      const before = await logHead(ledger);
      const res = await appendEvent(ledger, emitter, exampleEvent('SubjectRequestFulfilled', { ids }));
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ field: 'data.requestId', currentState: 'not_received' });
      expect(await logHead(ledger)).toBe(before);
    });

    it("fulfilling a request before the requester's identity is verified: 409", async () => {
      const ids = { ...exampleIds('wf-unverified'), subjectId: freshSubject('wf-unverified') };
      expect((await appendEvent(ledger, emitter, exampleEvent('SubjectRequestReceived', { ids }))).status).toBe(201);
      const res = await appendEvent(ledger, emitter, exampleEvent('SubjectRequestFulfilled', { ids }));
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ field: 'data.requestId', currentState: 'received' });
      expect((res.body as { message: string }).message).toMatch(/verified/);
    });

    it('a retry of a successful workflow event (same eventId, same body): 200 with the first receipt, not a 409', async () => {
      const ids = { ...exampleIds('wf-retry'), subjectId: freshSubject('wf-retry') };
      const receivedEvent = exampleEvent('SubjectRequestReceived', { ids });
      const verifiedEvent = exampleEvent('SubjectRequestIdentityVerified', { ids });
      const first = await appendEvent(ledger, emitter, receivedEvent);
      expect(first.status).toBe(201);
      const retry = await appendEvent(ledger, emitter, receivedEvent);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);

      // Even after the workflow moved on (verified, fulfilled), the retry of verify is answered, not refused.
      const verified = await appendEvent(ledger, emitter, verifiedEvent);
      expect(verified.status).toBe(201);
      expect((await appendEvent(ledger, emitter, exampleEvent('SubjectRequestFulfilled', { ids }))).status).toBe(201);
      const lateRetry = await appendEvent(ledger, emitter, verifiedEvent);
      expect(lateRetry.status).toBe(200);
      expect(lateRetry.body).toEqual(verified.body);
    });

    it('two different receipts of the same request sent at the same time: one is recorded, the other is a 409', async () => {
      const ids = { ...exampleIds('wf-race'), subjectId: freshSubject('wf-race') };
      const [a, b] = await Promise.all([
        appendEvent(ledger, emitter, exampleEvent('SubjectRequestReceived', { ids })),
        appendEvent(ledger, emitter, exampleEvent('SubjectRequestReceived', { ids, data: { channel: 'email' } })),
      ]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      expect((a.status === 409 ? a : b).body).toMatchObject({ field: 'data.requestId', currentState: 'received' });
      const page = await timelinePage(ledger, auditor, ids.subjectId);
      expect(page.entries.map((e) => e.what.action)).toEqual(['request_received']);
    });

    it('the same workflow event sent twice at the same time: both answered with one receipt, stored once', async () => {
      const ids = { ...exampleIds('wf-race-retry'), subjectId: freshSubject('wf-race-retry') };
      const event = exampleEvent('SubjectRequestReceived', { ids });
      const [a, b] = await Promise.all([appendEvent(ledger, emitter, event), appendEvent(ledger, emitter, event)]);
      expect([a.status, b.status].sort()).toEqual([200, 201]);
      expect(a.body).toEqual(b.body);
      expect(eventIds((await timelinePage(ledger, auditor, ids.subjectId)).entries)).toEqual([event.eventId]);
    });

    it('a batch that repeats a recorded workflow event and adds the next step: the repeat gets its first receipt, the new event is recorded', async () => {
      const ids = { ...exampleIds('wf-outbox'), subjectId: freshSubject('wf-outbox') };
      const receivedEvent = exampleEvent('SubjectRequestReceived', { ids });
      const verifiedEvent = exampleEvent('SubjectRequestIdentityVerified', { ids });
      const first = await appendEvent(ledger, emitter, receivedEvent);
      expect(first.status).toBe(201);
      const res = await appendBatch(ledger, emitter, [receivedEvent, verifiedEvent]);
      expect([res.status, res.body]).toEqual([201, expect.objectContaining({ receipts: expect.any(Array) as unknown })]);
      const receipts = (res.body as { receipts: ReceiptBody[] }).receipts;
      expect(receipts[0]).toEqual(first.body);
      expect(receipts[1]).toMatchObject({ eventId: verifiedEvent.eventId, streamRevision: 1 });
      expect(eventIds((await timelinePage(ledger, auditor, ids.subjectId)).entries)).toEqual([receivedEvent.eventId, verifiedEvent.eventId]);
    });

    it('a workflow event repeated with the same eventId but another body: 409 naming eventId', async () => {
      const ids = { ...exampleIds('wf-retry-conflict'), subjectId: freshSubject('wf-retry-conflict') };
      const receivedEvent = exampleEvent('SubjectRequestReceived', { ids });
      expect((await appendEvent(ledger, emitter, receivedEvent)).status).toBe(201);
      const res = await appendEvent(ledger, emitter, { ...receivedEvent, data: { ...receivedEvent.data, channel: 'email' } });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ field: 'eventId' });
    });
  });

  describe('batches are atomic', () => {
    it('one invalid event (events[2] has an unknown purpose): 400 naming events[2].data.purpose, none stored', async () => {
      const a = freshSubject('batch-bad-a');
      const b = freshSubject('batch-bad-b');
      const events = [accessed(a), accessed(b), accessed(a, { data: { purpose: 'selling.to.brokers' } }), accessed(b)];
      const before = await logHead(ledger);
      const res = await appendBatch(ledger, emitter, events);
      expect(res.status).toBe(400);
      expect(errorsOf(res)).toEqual([{ field: 'events[2].data.purpose', reason: expect.stringContaining('selling.to.brokers') as string }]);
      expect(await logHead(ledger)).toBe(before);
      expect((await timelinePage(ledger, auditor, a)).entries).toEqual([]);
      expect((await timelinePage(ledger, auditor, b)).entries).toEqual([]);
    });

    it("the 3rd event contradicts the workflow (fulfilled before verified): 409 naming events[2], none stored", async () => {
      const ids = { ...exampleIds('batch-wf'), subjectId: freshSubject('batch-wf') };
      const other = freshSubject('batch-wf-other');
      const events = [accessed(other), exampleEvent('SubjectRequestReceived', { ids }), exampleEvent('SubjectRequestFulfilled', { ids }), accessed(ids.subjectId)];
      const before = await logHead(ledger);
      const res = await appendBatch(ledger, emitter, events);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ field: 'events[2].data.requestId', currentState: 'received' });
      expect(await logHead(ledger)).toBe(before);
      expect((await timelinePage(ledger, auditor, ids.subjectId)).entries).toEqual([]);
      expect((await timelinePage(ledger, auditor, other)).entries).toEqual([]);
    });

    it('a whole request lifecycle in one batch is accepted (earlier events of the batch count)', async () => {
      const ids = { ...exampleIds('batch-lifecycle'), subjectId: freshSubject('batch-lifecycle') };
      const events = (['SubjectRequestReceived', 'SubjectRequestIdentityVerified', 'SubjectRequestExtended', 'SubjectRequestFulfilled'] as const).map((type) =>
        exampleEvent(type, { ids }),
      );
      const res = await appendBatch(ledger, emitter, events);
      expect(res.status).toBe(201);
      const page = await timelinePage(ledger, auditor, ids.subjectId);
      expect(page.entries.map((e) => e.what.action)).toEqual(['request_received', 'request_identity_verified', 'request_extended', 'request_fulfilled']);
    });

    it('a valid batch across several subjects: receipts in request order; re-sent whole: 200 with the same receipts', async () => {
      const [s1, s2, s3] = [freshSubject('batch-1'), freshSubject('batch-2'), freshSubject('batch-3')];
      const events = [
        accessed(s1),
        accessed(s2),
        exampleEvent('SubjectRequestReceived', { ids: { ...exampleIds('batch-multi'), subjectId: s1 } }),
        exampleEvent('ConsentGranted', { ids: { ...exampleIds('batch-multi'), subjectId: s3 } }),
        exampleEvent('PersonalDataCollected', { ids: { ...exampleIds('batch-multi'), subjectId: s2 } }),
        exampleEvent('BreachDetected', { ids: exampleIds(`batch-multi-${randomUUID().slice(0, 8)}`) }),
      ];
      const before = await logHead(ledger);
      const res = await appendBatch(ledger, emitter, events);
      expect(res.status).toBe(201);
      const receipts = (res.body as { receipts: ReceiptBody[] }).receipts;
      expect(receipts.map((r) => r.eventId)).toEqual(events.map((e) => e.eventId));
      expect(receipts.map((r) => r.streamId)).toEqual([
        `subject-${s1}`,
        `subject-${s2}`,
        `subject-${s1}`,
        `subject-${s3}`,
        `subject-${s2}`,
        expect.stringMatching(/^breach-/) as string,
      ]);
      expect(receipts.map((r) => r.streamRevision)).toEqual([0, 0, 1, 0, 1, 0]);
      expect(new Set(receipts.map((r) => r.globalPosition))).toEqual(new Set(events.map((_, i) => before + i)));
      expect(receipts.every((r) => HASH.test(r.hash))).toBe(true);
      expect(await logHead(ledger)).toBe(before + events.length);

      const again = await appendBatch(ledger, emitter, events);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(res.body);
      expect(await logHead(ledger)).toBe(before + events.length);

      expect(eventIds((await timelinePage(ledger, auditor, s1)).entries)).toEqual([events[0]!.eventId, events[2]!.eventId]);
      expect(eventIds((await timelinePage(ledger, auditor, s2)).entries)).toEqual([events[1]!.eventId, events[4]!.eventId]);
    });
  });

  describe('health and docs', () => {
    it('GET /health/live answers without a key', async () => {
      const res = await ledger.http().get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('GET /health/ready reports the log head, how far the read models are, and every follower of the log feed', async () => {
      const head = await settled(ledger);
      const ready = await readiness(ledger);
      // The service as deployed: the followers on a thread of their own.
      expect(ready).toEqual(expect.objectContaining({ status: 'ok', logHead: head, readModelsAt: head, lag: 0, followersRunIn: 'thread', quarantined: [] }));
      expect(ready.followers).toEqual(
        ['projections', 'merkle-log', 'compliance'].map((name) => ({ name, state: 'following', position: head, lag: 0, quarantined: 0, error: null })),
      );
      expect(head).toBeGreaterThan(0);
    });

    it('GET /docs serves the OpenAPI page as HTML', async () => {
      const res = await ledger.http().get('/docs').redirects(2);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toMatch(/swagger/i);
    });

    it('GET /docs-json lists the append, batch and timeline operations and documents the batch limit', async () => {
      const res = await ledger.http().get('/docs-json');
      expect(res.status).toBe(200);
      const paths = (res.body as { paths: Record<string, Record<string, unknown>> }).paths;
      expect(paths['/v1/events']).toHaveProperty('post');
      expect(paths['/v1/events/batch']).toHaveProperty('post');
      expect(paths['/v1/subjects/{subjectId}/timeline']).toHaveProperty('get');
      expect(JSON.stringify(paths['/v1/events/batch'])).toMatch(/1000/);
    });
  });
});

describe('restart on the same data dir', () => {
  let first: TestLedger | undefined;
  let second: TestLedger | undefined;

  afterAll(async () => {
    await first?.close();
    await (second ?? first)?.destroy();
  });

  it('keeps the timeline, resumes the projection from its checkpoint, and keeps every idempotency promise', async () => {
    first = await startLedger();
    const emitter = await first.key('emitter');
    const auditor = await first.key('auditor');
    const subjectId = freshSubject('restart');
    const ids = { ...exampleIds('restart'), subjectId };

    const plain = accessed(subjectId);
    const withPii = { ...exampleEvent('SubjectRequestReceived', { ids }), pii: { requesterName: 'Jane Doe' } };
    const batch = [exampleEvent('SubjectRequestIdentityVerified', { ids }), exampleEvent('PersonalDataCollected', { ids })];
    const r1 = await appendEvent(first, emitter, plain);
    const r2 = await appendEvent(first, emitter, withPii);
    const r3 = await appendBatch(first, emitter, batch);
    expect([r1.status, r2.status, r3.status]).toEqual([201, 201, 201]);
    const before = await timelinePage(first, auditor, subjectId, { limit: '500' });
    expect(eventIds(before.entries)).toEqual([plain.eventId, withPii.eventId, ...batch.map((e) => e.eventId)]);
    const headAtClose = await settled(first);
    await first.close();

    second = await startLedger({ dataDir: first.dataDir });
    // The read models resume where their durable checkpoint says, not from zero.
    expect(await readiness(second)).toMatchObject({ logHead: headAtClose, readModelsAt: headAtClose });

    // Keys made before the restart still work; the timeline is intact (plus the recorded read).
    const after = await timelinePage(second, auditor, subjectId, { limit: '500' });
    expect(withoutAuditReads(after.entries)).toEqual(before.entries);
    expect(after.entries).toHaveLength(before.entries.length + 1);

    // Idempotency survives the restart, also for an event with personal values.
    const dupPlain = await appendEvent(second, emitter, plain);
    expect(dupPlain.status).toBe(200);
    expect(dupPlain.body).toEqual(r1.body);
    const dupPii = await appendEvent(second, emitter, withPii);
    expect(dupPii.status).toBe(200);
    expect(dupPii.body).toEqual(r2.body);
    const dupBatch = await appendBatch(second, emitter, batch);
    expect(dupBatch.status).toBe(200);
    expect(dupBatch.body).toEqual(r3.body);
    const conflict = await appendEvent(second, emitter, { ...plain, data: { ...plain.data, ticketRef: 'SUP-0001' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ field: 'eventId' });
    const piiConflict = await appendEvent(second, emitter, { ...withPii, pii: { requesterName: 'John Doe' } });
    expect(piiConflict.status).toBe(409);
    expect(piiConflict.body).toMatchObject({ field: 'eventId' });

    // The workflow state is rebuilt from the log: the verified request can now be fulfilled.
    const fulfilled = exampleEvent('SubjectRequestFulfilled', { ids });
    const r4 = await appendEvent(second, emitter, fulfilled);
    expect(r4.status).toBe(201);

    // New events appear, and every event appears exactly once (no replay duplicates).
    const final = await timelinePage(second, auditor, subjectId, { limit: '500' });
    const all = eventIds(final.entries);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(final.entries.map((e) => e.receipt.globalPosition)).size).toBe(all.length);
    expect(eventIds(withoutAuditReads(final.entries))).toEqual([plain.eventId, withPii.eventId, ...batch.map((e) => e.eventId), fulfilled.eventId]);
    // The stream's chain continues after the restart: revisions stay contiguous, the new event has its receipt.
    expect(final.entries.map((e) => e.receipt.streamRevision)).toEqual(final.entries.map((_, i) => i));
    const r4Receipt = r4.body as ReceiptBody;
    expect(final.entries.find((e) => e.eventId === fulfilled.eventId)?.receipt).toEqual({
      streamRevision: r4Receipt.streamRevision,
      globalPosition: r4Receipt.globalPosition,
      hash: r4Receipt.hash,
    });
    expect(await settled(second)).toBe((await readiness(second)).readModelsAt);
  });
});

describe('personal values', () => {
  const EMAIL = 'jane.doe@example.com';
  let ledger: TestLedger;

  beforeAll(async () => {
    ledger = await startLedger();
  });
  afterAll(async () => ledger.destroy());

  it('are stored encrypted: shown as encrypted, never in a response body, never in plain text in any file of the data dir', async () => {
    const emitter = await ledger.key('emitter');
    const auditor = await ledger.key('auditor');
    const subjectId = freshSubject('pii');
    const bodies: string[] = [];
    const record = (res: Response): Response => {
      bodies.push(res.text);
      return res;
    };

    const withPii = { ...accessed(subjectId), pii: { email: EMAIL } };
    const without = accessed(subjectId);
    expect(record(await appendEvent(ledger, emitter, withPii)).status).toBe(201);
    expect(record(await appendEvent(ledger, emitter, without)).status).toBe(201);
    expect(record(await appendEvent(ledger, emitter, withPii)).status).toBe(200);
    expect(record(await appendEvent(ledger, emitter, { ...withPii, pii: { email: 'other@example.com' } })).status).toBe(409);
    expect(record(await appendBatch(ledger, emitter, [{ ...accessed(subjectId), pii: { email: EMAIL } }])).status).toBe(201);
    // A refused event that carried the value does not echo it either.
    expect(record(await appendEvent(ledger, emitter, { ...accessed(subjectId, { data: { purpose: 'nope' } }), pii: { email: EMAIL } })).status).toBe(400);

    const page = await timelinePage(ledger, auditor, subjectId);
    bodies.push(JSON.stringify(page));
    const personalValues = Object.fromEntries(page.entries.map((e) => [e.eventId, e.personalValues]));
    expect(personalValues[withPii.eventId]).toBe('encrypted');
    expect(personalValues[without.eventId]).toBe('none');

    for (const text of bodies) expect(text).not.toContain(EMAIL);
    expect(filesContaining(ledger.dataDir, EMAIL)).toEqual([]);
    await ledger.close();
    expect(filesContaining(ledger.dataDir, EMAIL)).toEqual([]);
  });
});
