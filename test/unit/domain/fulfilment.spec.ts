import { randomUUID } from 'node:crypto';
import type { ActorRef, LedgerEvent } from '../../../src/ledger/domain/events.js';
import { fulfilmentEvents, shredsKey, type FulfilmentInput } from '../../../src/ledger/domain/fulfilment.js';
import { planAppend, PlannedEventRejection } from '../../../src/ledger/domain/plan-append.js';
import { subjectStream } from '../../../src/ledger/domain/streams.js';
import { evolveWorkflow, initialWorkflowState, type WorkflowState } from '../../../src/ledger/domain/workflow.js';
import { parseEvent } from '../../../src/ledger/commands/record-events/event-envelope.dto.js';
import { exampleIds, exampleLedgerEvent } from '../../support/example-events.js';
import { given } from '../../support/given-when-then.js';

/*
 * What fulfilling a rights request records, per right (Art. 17, 18, 21, 7(3), 15, 16, 20),
 * as given/when/then specifications over the pure `fulfilmentEvents`:
 *
 *   givenRequest('erasure', { verified: true }).withCategories([...]).whenFulfilled().then(...)
 *
 * The history is built from real workflow events (received, verified, ...) and folded with
 * the domain's own evolve, so every spec starts in a state the ledger can actually reach.
 */

const ids = exampleIds('fulfil');
const SUBJECT = ids.subjectId;
const REQUEST = ids.requestId;
const RECEIVED_AT = '2026-10-01T10:00:00.000Z';
const FULFILLED_AT = '2026-10-20T12:00:00.000Z';
const DPO: ActorRef = { id: 'key-0123456789ab', kind: 'dpo', system: 'privacy-ledger' };
const RIGHTS = ['access', 'rectification', 'erasure', 'restriction', 'portability', 'objection', 'objection_automated_decision', 'consent_withdrawal'] as const;
type Right = (typeof RIGHTS)[number];

const receivedEvent = (right: Right, purposes?: string[]) =>
  exampleLedgerEvent('SubjectRequestReceived', { ids, occurredAt: RECEIVED_AT, data: { requestId: REQUEST, right, ...(purposes ? { purposes } : {}) } });
const verifiedEvent = () => exampleLedgerEvent('SubjectRequestIdentityVerified', { ids, occurredAt: '2026-10-02T10:00:00.000Z', data: { requestId: REQUEST } });
const shreddedEvent = () => exampleLedgerEvent('SubjectKeyShredded', { ids, occurredAt: '2026-10-03T10:00:00.000Z', data: { reason: 'earlier erasure' } });

interface Scenario {
  readonly right: Right;
  readonly history: LedgerEvent[];
  readonly purposes: string[];
  readonly categories: string[];
  readonly outcome?: string;
}

interface Fulfilment {
  readonly events: LedgerEvent[];
  readonly state: WorkflowState;
  readonly issuedIds: string[];
}

/** given a request of `right` (verified unless told otherwise), optionally on a subject whose key is already shredded. */
function givenRequest(right: Right, options: { verified?: boolean; purposes?: string[]; keyAlreadyShredded?: boolean } = {}) {
  const purposes = options.purposes ?? [];
  const history: LedgerEvent[] = [
    ...(options.keyAlreadyShredded ? [shreddedEvent()] : []),
    receivedEvent(right, options.purposes),
    ...(options.verified === false ? [] : [verifiedEvent()]),
  ];
  const scenario: Scenario = { right, history, purposes, categories: [] };
  const builder = (s: Scenario) => ({
    withCategories: (categories: string[]) => builder({ ...s, categories }),
    withOutcome: (outcome: string) => builder({ ...s, outcome }),
    whenFulfilled: (): Fulfilment => {
      const state = s.history.reduce(evolveWorkflow, initialWorkflowState);
      const request = state.requests.get(REQUEST);
      if (!request) throw new Error('given: the request was not received');
      const issuedIds: string[] = [];
      let n = 0;
      const input: FulfilmentInput = {
        subjectId: SUBJECT,
        requestId: REQUEST,
        request,
        state,
        purposes: s.purposes,
        categories: s.categories,
        actor: DPO,
        occurredAt: FULFILLED_AT,
        newEventId: () => {
          const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
          issuedIds.push(id);
          return id;
        },
        ...(s.outcome ? { outcome: s.outcome } : {}),
      };
      return { events: fulfilmentEvents(input), state, issuedIds };
    },
  });
  return builder(scenario);
}

const typesOf = (events: readonly LedgerEvent[]) => events.map((e) => e.type);

describe('fulfilling a rights request: the facts recorded per right', () => {
  describe('every fulfilment', () => {
    it.each(RIGHTS)('%s: ends with SubjectRequestFulfilled naming the request, by the fulfilling actor, at the given time', (right) => {
      const { events } = givenRequest(right, { purposes: ['marketing.communications.email'] }).whenFulfilled();
      const last = events[events.length - 1]!;
      expect(last).toEqual({
        eventId: expect.any(String) as string,
        type: 'SubjectRequestFulfilled',
        occurredAt: FULFILLED_AT,
        subjectId: SUBJECT,
        actor: DPO,
        data: { requestId: REQUEST },
        metadata: { causationId: REQUEST },
      });
    });

    it.each(RIGHTS)('%s: every event is about the subject, caused by the request, with a fresh id from the caller', (right) => {
      const { events, issuedIds } = givenRequest(right, { purposes: ['marketing.communications.email'] }).withCategories(['user.contact.email']).whenFulfilled();
      expect(events.map((e) => e.eventId)).toEqual(issuedIds);
      expect(new Set(issuedIds).size).toBe(issuedIds.length);
      for (const e of events) {
        expect({ subjectId: e.subjectId, occurredAt: e.occurredAt, actor: e.actor, metadata: e.metadata }).toEqual({
          subjectId: SUBJECT,
          occurredAt: FULFILLED_AT,
          actor: DPO,
          metadata: { causationId: REQUEST },
        });
      }
    });

    it('the outcome, when stated, is kept on SubjectRequestFulfilled', () => {
      const { events } = givenRequest('access').withOutcome('export delivered in the app').whenFulfilled();
      expect(events).toEqual([expect.objectContaining({ type: 'SubjectRequestFulfilled', data: { requestId: REQUEST, outcome: 'export delivered in the app' } })]);
    });

    it.each(RIGHTS)('%s: every event is one the ledger would accept from a caller (valid envelope and data)', (right) => {
      const { events } = givenRequest(right, { purposes: ['marketing.communications.email'] })
        .withCategories(['user.contact.email', 'user.name'])
        .withOutcome('done')
        .whenFulfilled();
      for (const e of events) {
        const { errors } = parseEvent({ ...e, subjectId: e.subjectId ?? undefined }, e.type, new Date('2026-11-01T00:00:00Z'));
        expect({ type: e.type, errors }).toEqual({ type: e.type, errors: [] });
      }
    });
  });

  describe('erasure (Art. 17)', () => {
    it('given a verified erasure request on a subject with collected categories, when fulfilled, then the data is erased with those categories, the key shredded, the request fulfilled — in that order', () => {
      const { events } = givenRequest('erasure').withCategories(['user.contact.email', 'user.name']).whenFulfilled();
      expect(typesOf(events)).toEqual(['PersonalDataErased', 'SubjectKeyShredded', 'SubjectRequestFulfilled']);
      expect(events[0]!.data).toEqual({ categories: ['user.contact.email', 'user.name'], reason: 'subject_request', requestId: REQUEST });
      expect(events[1]!.data).toEqual({ reason: expect.stringMatching(/erasure/) as string, requestId: REQUEST });
      expect(shredsKey(events)).toBe(true);
    });

    it('the erased categories are a copy: changing the input afterwards does not change the recorded fact', () => {
      const categories = ['user.contact.email'];
      const { events } = givenRequest('erasure').withCategories(categories).whenFulfilled();
      categories.push('user.name');
      expect(events[0]!.data).toMatchObject({ categories: ['user.contact.email'] });
    });

    it("given no collected categories, the erasure names the whole 'user' category", () => {
      const { events } = givenRequest('erasure').withCategories([]).whenFulfilled();
      expect(events[0]).toMatchObject({ type: 'PersonalDataErased', data: { categories: ['user'] } });
    });

    it("given the subject's key was already shredded, when a second erasure is fulfilled, then it records the erasure and the fulfilment but shreds nothing again", () => {
      const { events } = givenRequest('erasure', { keyAlreadyShredded: true }).withCategories(['user.name']).whenFulfilled();
      expect(typesOf(events)).toEqual(['PersonalDataErased', 'SubjectRequestFulfilled']);
      expect(shredsKey(events)).toBe(false);
    });
  });

  describe('restriction (Art. 18)', () => {
    it('given a verified restriction request with purposes, when fulfilled, then processing is restricted for those purposes, then the request is fulfilled', () => {
      const { events } = givenRequest('restriction', { purposes: ['marketing.communications.email'] }).whenFulfilled();
      expect(typesOf(events)).toEqual(['ProcessingRestricted', 'SubjectRequestFulfilled']);
      expect(events[0]!.data).toEqual({ reason: expect.stringMatching(/restriction/) as string, requestId: REQUEST, purposes: ['marketing.communications.email'] });
      expect(shredsKey(events)).toBe(false);
    });

    it('given a restriction request without purposes, processing is restricted for every purpose (no purposes field)', () => {
      const { events } = givenRequest('restriction').whenFulfilled();
      expect(typesOf(events)).toEqual(['ProcessingRestricted', 'SubjectRequestFulfilled']);
      expect(events[0]!.data).not.toHaveProperty('purposes');
    });

    it('and the restriction then shows in the workflow state, so it can later be lifted', () => {
      const { events, state } = givenRequest('restriction').whenFulfilled();
      const after = events.reduce(evolveWorkflow, state);
      expect(after.restricted).toBe(true);
      given([receivedEvent('restriction'), verifiedEvent(), ...events])
        .when(exampleLedgerEvent('ProcessingRestrictionLifted', { ids }))
        .then((s) => expect(s.restricted).toBe(false));
    });
  });

  describe('consent withdrawal (Art. 7(3)) and objection (Art. 21)', () => {
    it.each(['consent_withdrawal', 'objection'] as const)(
      'given a verified %s request with purposes, when fulfilled, then consent is withdrawn for exactly those purposes, then the request is fulfilled',
      (right) => {
        const purposes = ['marketing.communications.email', 'analytics.reporting'];
        const { events } = givenRequest(right, { purposes }).whenFulfilled();
        expect(typesOf(events)).toEqual(['ConsentWithdrawn', 'SubjectRequestFulfilled']);
        expect(events[0]!.data).toEqual({ purposes, requestId: REQUEST });
      },
    );

    it.each(['consent_withdrawal', 'objection'] as const)('given a %s request without purposes, nothing is withdrawn: only the fulfilment is recorded', (right) => {
      expect(typesOf(givenRequest(right).whenFulfilled().events)).toEqual(['SubjectRequestFulfilled']);
    });
  });

  describe('access, rectification, portability, objection to automated decisions', () => {
    it.each(['access', 'rectification', 'portability', 'objection_automated_decision'] as const)(
      'given a verified %s request (even with purposes and categories), when fulfilled, then only SubjectRequestFulfilled is recorded',
      (right) => {
        const { events } = givenRequest(right, { purposes: ['marketing.communications.email'] }).withCategories(['user.name']).whenFulfilled();
        expect(typesOf(events)).toEqual(['SubjectRequestFulfilled']);
        expect(shredsKey(events)).toBe(false);
      },
    );
  });

  describe('the fulfilment events against the workflow (planAppend)', () => {
    const stream = subjectStream(SUBJECT);

    function plan(f: Fulfilment) {
      return planAppend(f.events, new Map([[stream, { revision: 1, state: f.state }]]));
    }

    function rejectionOf(run: () => unknown): PlannedEventRejection {
      try {
        run();
      } catch (error) {
        if (error instanceof PlannedEventRejection) return error;
        throw error;
      }
      throw new Error('expected a PlannedEventRejection, but the plan was accepted');
    }

    it.each(RIGHTS)('%s: given a verified request, the events form one append on the subject stream at the stored revision', (right) => {
      const f = givenRequest(right, { purposes: ['marketing.communications.email'] }).withCategories(['user.name']).whenFulfilled();
      expect(plan(f).map((p) => ({ streamId: p.streamId, expectedRevision: p.expectedRevision, types: typesOf(p.events) }))).toEqual([
        { streamId: stream, expectedRevision: 1, types: typesOf(f.events) },
      ]);
    });

    it.each(RIGHTS)('%s: given a request that was only received (identity not verified), the fulfilment is refused at SubjectRequestFulfilled naming the state', (right) => {
      const f = givenRequest(right, { verified: false, purposes: ['marketing.communications.email'] }).withCategories(['user.name']).whenFulfilled();
      const rejection = rejectionOf(() => plan(f));
      expect(rejection.index).toBe(f.events.length - 1);
      expect(f.events[rejection.index]!.type).toBe('SubjectRequestFulfilled');
      expect({ field: rejection.rejection.field, currentState: rejection.rejection.currentState }).toEqual({ field: 'data.requestId', currentState: 'received' });
      expect(rejection.message).toMatch(/verified/);
    });

    it('an unverified erasure is refused as a whole, so the caller can decide before any key is destroyed', () => {
      const f = givenRequest('erasure', { verified: false }).withCategories(['user.name']).whenFulfilled();
      expect(shredsKey(f.events)).toBe(true);
      expect(() => plan(f)).toThrow(PlannedEventRejection);
    });

    it('given the key was shredded before, a second erasure passes the workflow (no second SubjectKeyShredded to refuse)', () => {
      const f = givenRequest('erasure', { keyAlreadyShredded: true }).withCategories(['user.name']).whenFulfilled();
      expect(() => plan(f)).not.toThrow();
    });

    it.each([
      ['fulfilled', [receivedEvent('access'), verifiedEvent(), exampleLedgerEvent('SubjectRequestFulfilled', { ids, data: { requestId: REQUEST } })]],
      ['rejected', [receivedEvent('access'), exampleLedgerEvent('SubjectRequestRejected', { ids, data: { requestId: REQUEST } })]],
    ] as const)('given a request already %s, fulfilling it again is refused naming that state', (status, history) => {
      const state = [...history].reduce(evolveWorkflow, initialWorkflowState);
      const request = state.requests.get(REQUEST)!;
      const events = fulfilmentEvents({
        subjectId: SUBJECT,
        requestId: REQUEST,
        request,
        state,
        purposes: [],
        categories: [],
        actor: DPO,
        occurredAt: FULFILLED_AT,
        newEventId: randomUUID,
      });
      const rejection = rejectionOf(() => planAppend(events, new Map([[stream, { revision: history.length - 1, state }]])));
      expect(rejection.rejection.currentState).toBe(status);
    });

    it('after the fulfilment the request is fulfilled and, for erasure, the key is shredded in the workflow state', () => {
      const f = givenRequest('erasure').withCategories(['user.name']).whenFulfilled();
      const after = f.events.reduce(evolveWorkflow, f.state);
      expect(after.requests.get(REQUEST)).toMatchObject({ status: 'fulfilled', right: 'erasure' });
      expect(after.keyShredded).toBe(true);
    });
  });
});

describe('the extension window across a leap-year February (Art. 12(3))', () => {
  // workflow.spec.ts covers 31 Jan 2025 → 28 Feb 2025; in a leap year the first month ends on 29 Feb.
  const leap = exampleIds('leap');
  const received = () => exampleLedgerEvent('SubjectRequestReceived', { ids: leap, occurredAt: '2024-01-31T10:00:00.000Z', data: { right: 'access' } });
  const extended = (occurredAt: string, additionalMonths: 1 | 2) => exampleLedgerEvent('SubjectRequestExtended', { ids: leap, occurredAt, data: { additionalMonths } });

  it('given a request received 31 Jan 2024, it is due 29 Feb 2024', () => {
    const state = [received()].reduce(evolveWorkflow, initialWorkflowState);
    expect(state.requests.get(leap.requestId)?.dueBy).toBe('2024-02-29T10:00:00.000Z');
  });

  it('an extension decided on 29 Feb 2024 at the time of receipt is still within the first month', () => {
    given([received()])
      .when(extended('2024-02-29T10:00:00.000Z', 1))
      .then((state) => expect(state.requests.get(leap.requestId)).toMatchObject({ extended: true, dueBy: '2024-03-31T10:00:00.000Z' }));
  });

  it('an extension decided on 29 Feb 2024 one millisecond later is refused, naming the deadline of the first month', () => {
    given([received()])
      .when(extended('2024-02-29T10:00:00.001Z', 2))
      .thenRejects({ field: 'occurredAt', currentState: 'received', message: /2024-02-29T10:00:00\.000Z/ });
  });

  it('an extension of an unverified request keeps it received; by two months it is due 30 Apr 2024', () => {
    given([received()])
      .when(extended('2024-02-01T10:00:00.000Z', 2))
      .then((state) => expect(state.requests.get(leap.requestId)).toMatchObject({ status: 'received', extended: true, dueBy: '2024-04-30T10:00:00.000Z' }));
  });

  it('a request received 29 Jan 2025 is due 28 Feb 2025 (the shorter month caps the day), and the window closes then', () => {
    const jan29 = exampleLedgerEvent('SubjectRequestReceived', { ids: leap, occurredAt: '2025-01-29T10:00:00.000Z', data: { right: 'access' } });
    given([jan29])
      .when(extended('2025-02-28T10:00:00.001Z', 1))
      .thenRejects({ field: 'occurredAt', currentState: 'received', message: /2025-02-28T10:00:00\.000Z/ });
  });
});
