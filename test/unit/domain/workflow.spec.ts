import type { LedgerEvent, LedgerEventType } from '../../../src/ledger/domain/events.js';
import { planAppend, PlannedEventRejection, streamsNeedingState, type StreamSnapshot } from '../../../src/ledger/domain/plan-append.js';
import { subjectStream } from '../../../src/ledger/domain/streams.js';
import { addCalendarMonths, evolveWorkflow, initialWorkflowState, needsWorkflowState, type RequestState, type WorkflowState } from '../../../src/ledger/domain/workflow.js';
import { exampleIds, exampleLedgerEvent, type ExampleIds } from '../../support/example-events.js';
import { given } from '../../support/given-when-then.js';

const ids = exampleIds('wf');
const RECEIVED_AT = '2025-01-31T10:00:00.000Z';
const LATER = '2025-02-10T09:00:00.000Z';

// ── event builders (rights requests default to request `ids.requestId`) ─────────
const received = (requestId = ids.requestId, occurredAt = RECEIVED_AT) =>
  exampleLedgerEvent('SubjectRequestReceived', { ids, occurredAt, data: { requestId, right: 'erasure' } });
const verified = (requestId = ids.requestId, occurredAt = LATER) => exampleLedgerEvent('SubjectRequestIdentityVerified', { ids, occurredAt, data: { requestId } });
const extended = (additionalMonths: 1 | 2 = 2, occurredAt = LATER, requestId = ids.requestId) =>
  exampleLedgerEvent('SubjectRequestExtended', { ids, occurredAt, data: { requestId, additionalMonths } });
const fulfilled = (requestId = ids.requestId, occurredAt = LATER) => exampleLedgerEvent('SubjectRequestFulfilled', { ids, occurredAt, data: { requestId } });
const rejected = (requestId = ids.requestId, occurredAt = LATER) => exampleLedgerEvent('SubjectRequestRejected', { ids, occurredAt, data: { requestId } });
const restricted = () => exampleLedgerEvent('ProcessingRestricted', { ids });
const restrictionLifted = () => exampleLedgerEvent('ProcessingRestrictionLifted', { ids });
const keyShredded = () => exampleLedgerEvent('SubjectKeyShredded', { ids });
const breachDetected = () => exampleLedgerEvent('BreachDetected', { ids });
const breachAssessed = () => exampleLedgerEvent('BreachAssessed', { ids });
const breachReported = (occurredAt?: string) => exampleLedgerEvent('BreachReportedToAuthority', { ids, ...(occurredAt ? { occurredAt } : {}) });
const breachNotified = () => exampleLedgerEvent('BreachSubjectsNotified', { ids });
const breachClosed = () => exampleLedgerEvent('BreachClosed', { ids });
const noticePublished = () => exampleLedgerEvent('PrivacyNoticePublished', { ids });
const accessed = (on: ExampleIds = ids) => exampleLedgerEvent('PersonalDataAccessed', { ids: on });

function requestOf(state: WorkflowState, requestId = ids.requestId): RequestState {
  const request = state.requests.get(requestId);
  if (!request) throw new Error(`no request ${requestId} in the state`);
  return request;
}

describe('rights request workflow (Art. 12, 15-22)', () => {
  describe('possible transitions', () => {
    it('a received request is open, due one calendar month after receipt, not extended', () => {
      given([])
        .when(received())
        .then((state) => {
          expect(requestOf(state)).toEqual({
            right: 'erasure',
            status: 'received',
            receivedAt: RECEIVED_AT,
            dueBy: '2025-02-28T10:00:00.000Z',
            extended: false,
          });
        });
    });

    it('received → verified', () => {
      given([received()])
        .when(verified())
        .then((state) => expect(requestOf(state).status).toBe('verified'));
    });

    it('verified → extended keeps the request verified and marks it extended', () => {
      given([received(), verified()])
        .when(extended(1))
        .then((state) => expect(requestOf(state)).toMatchObject({ status: 'verified', extended: true }));
    });

    it('verified → fulfilled', () => {
      given([received(), verified()])
        .when(fulfilled())
        .then((state) => expect(requestOf(state).status).toBe('fulfilled'));
    });

    it('verified → extended → fulfilled', () => {
      given([received(), verified(), extended(2)])
        .when(fulfilled())
        .then((state) => expect(requestOf(state)).toMatchObject({ status: 'fulfilled', extended: true }));
    });

    it('received → rejected (e.g. the identity could not be established)', () => {
      given([received()])
        .when(rejected())
        .then((state) => expect(requestOf(state).status).toBe('rejected'));
    });

    it('verified → rejected', () => {
      given([received(), verified()])
        .when(rejected())
        .then((state) => expect(requestOf(state).status).toBe('rejected'));
    });

    it('verified → extended → rejected', () => {
      given([received(), verified(), extended(1)])
        .when(rejected())
        .then((state) => expect(requestOf(state).status).toBe('rejected'));
    });

    it('requests of one subject are independent: a second request opens while the first is closed', () => {
      given([received('req-1'), verified('req-1'), fulfilled('req-1')])
        .when(received('req-2'))
        .then((state) => {
          expect(requestOf(state, 'req-1').status).toBe('fulfilled');
          expect(requestOf(state, 'req-2').status).toBe('received');
        });
    });
  });

  describe('impossible transitions', () => {
    const never: Array<[string, () => LedgerEvent]> = [
      ['verify', () => verified()],
      ['extend', () => extended(1)],
      ['fulfil', () => fulfilled()],
      ['reject', () => rejected()],
    ];

    it.each(never)('cannot %s a request that was never received', (_action, event) => {
      given([]).when(event()).thenRejects({ field: 'data.requestId', currentState: 'not_received', message: /never received/ });
    });

    it.each(never)('cannot %s a request when only another request was received', (_action, event) => {
      given([received('req-other')]).when(event()).thenRejects({ field: 'data.requestId', currentState: 'not_received' });
    });

    it('cannot fulfil a request before the identity is verified (Art. 12(6))', () => {
      given([received()])
        .when(fulfilled())
        .thenRejects({ field: 'data.requestId', currentState: 'received', message: /verified/ });
    });

    it('cannot fulfil an extended request whose identity was never verified', () => {
      given([received(), extended(1)])
        .when(fulfilled())
        .thenRejects({ field: 'data.requestId', currentState: 'received' });
    });

    const afterClosed: Array<[string, () => LedgerEvent]> = [...never, ['receive again', () => received()]];

    it.each(afterClosed)('cannot %s a fulfilled request', (_action, event) => {
      given([received(), verified(), fulfilled()]).when(event()).thenRejects({ field: 'data.requestId', currentState: 'fulfilled' });
    });

    it.each(afterClosed)('cannot %s a rejected request', (_action, event) => {
      given([received(), rejected()]).when(event()).thenRejects({ field: 'data.requestId', currentState: 'rejected' });
    });

    it('cannot receive the same request twice', () => {
      given([received()])
        .when(received())
        .thenRejects({ field: 'data.requestId', currentState: 'received', message: /already received/ });
    });

    it('cannot verify a request twice', () => {
      given([received(), verified()]).when(verified()).thenRejects({ field: 'data.requestId', currentState: 'verified' });
    });

    it('cannot extend a request twice, even when the two extensions add up to two months', () => {
      given([received(), verified(), extended(1)])
        .when(extended(1))
        .thenRejects({ field: 'data.requestId', currentState: 'verified, extended', message: /already extended/ });
    });

    it('cannot extend after the first month (the extension is decided within one month of receipt)', () => {
      given([received(), verified()])
        .when(extended(2, '2025-02-28T10:00:00.001Z'))
        .thenRejects({ field: 'occurredAt', currentState: 'verified', message: /2025-02-28T10:00:00\.000Z/ });
    });

    it('can still extend on the last instant of the first month', () => {
      given([received(), verified()])
        .when(extended(2, '2025-02-28T10:00:00.000Z'))
        .then((state) => expect(requestOf(state).extended).toBe(true));
    });
  });

  describe('deadlines', () => {
    it.each([
      ['31 Jan 2025 + 1 → 28 Feb 2025', '2025-01-31T10:00:00.000Z', 1, '2025-02-28T10:00:00.000Z'],
      ['31 Jan 2024 + 1 → 29 Feb 2024 (leap year)', '2024-01-31T10:00:00.000Z', 1, '2024-02-29T10:00:00.000Z'],
      ['30 Nov + 1 → 30 Dec', '2025-11-30T10:00:00.000Z', 1, '2025-12-30T10:00:00.000Z'],
      ['31 Mar + 2 → 31 May', '2025-03-31T10:00:00.000Z', 2, '2025-05-31T10:00:00.000Z'],
      ['31 Dec + 1 → 31 Jan of the next year', '2025-12-31T10:00:00.000Z', 1, '2026-01-31T10:00:00.000Z'],
      ['31 Jan + 3 → 30 Apr', '2025-01-31T10:00:00.000Z', 3, '2025-04-30T10:00:00.000Z'],
      ['28 Feb + 1 → 28 Mar (same day, not month end)', '2025-02-28T10:00:00.000Z', 1, '2025-03-28T10:00:00.000Z'],
      ['keeps the time of day to the millisecond', '2025-06-15T23:59:59.999Z', 1, '2025-07-15T23:59:59.999Z'],
    ])('%s', (_case, from, months, expected) => {
      expect(addCalendarMonths(from, months)).toBe(expected);
    });

    it('an extension by one month moves the deadline to two months after receipt (not one month after the old deadline)', () => {
      given([received(), verified()])
        .when(extended(1))
        .then((state) => expect(requestOf(state).dueBy).toBe('2025-03-31T10:00:00.000Z'));
    });

    it('an extension by two months moves the deadline to three months after receipt', () => {
      given([received(), verified()])
        .when(extended(2))
        .then((state) => expect(requestOf(state).dueBy).toBe('2025-04-30T10:00:00.000Z'));
    });

    it('receipt date and deadline are kept when the request is verified and fulfilled', () => {
      given([received(), verified(), extended(2)])
        .when(fulfilled())
        .then((state) => expect(requestOf(state)).toMatchObject({ receivedAt: RECEIVED_AT, dueBy: '2025-04-30T10:00:00.000Z' }));
    });
  });
});

describe('restriction of processing (Art. 18)', () => {
  it('restricting processing marks the subject restricted', () => {
    given([])
      .when(restricted())
      .then((state) => expect(state.restricted).toBe(true));
  });

  it('a restriction can be lifted', () => {
    given([restricted()])
      .when(restrictionLifted())
      .then((state) => expect(state.restricted).toBe(false));
  });

  it('cannot lift a restriction that was never made', () => {
    given([]).when(restrictionLifted()).thenRejects({ field: 'type', currentState: 'not_restricted' });
  });

  it('cannot lift a restriction twice', () => {
    given([restricted(), restrictionLifted()]).when(restrictionLifted()).thenRejects({ field: 'type', currentState: 'not_restricted' });
  });
});

describe('key shredding (Art. 17)', () => {
  it('shredding marks the subject key as shredded', () => {
    given([])
      .when(keyShredded())
      .then((state) => expect(state.keyShredded).toBe(true));
  });

  it('cannot shred the same key twice', () => {
    given([keyShredded()]).when(keyShredded()).thenRejects({ field: 'type', currentState: 'shredded' });
  });

  it('an access after erasure is recorded, not refused (the violation is flagged later)', () => {
    given([keyShredded()])
      .when(accessed())
      .then((state) => expect(state.keyShredded).toBe(true));
  });
});

describe('breach workflow (Art. 33-34)', () => {
  it('a detected breach is open', () => {
    given([])
      .when(breachDetected())
      .then((state) => expect(state.breach).toBe('open'));
  });

  it.each([
    ['assess', breachAssessed],
    ['report', breachReported],
    ['notify subjects of', breachNotified],
    ['close', breachClosed],
  ])('cannot %s a breach before it is detected', (_action, event) => {
    given([]).when(event()).thenRejects({ field: 'data.breachId', currentState: 'not_detected', message: /never detected/ });
  });

  it('detected → assessed → reported → subjects notified → closed', () => {
    const steps = [breachDetected(), breachAssessed(), breachReported(), breachNotified()];
    for (let i = 1; i < steps.length; i++) {
      given(steps.slice(0, i))
        .when(steps[i]!)
        .then((state) => expect(state.breach).toBe('open'));
    }
    given(steps)
      .when(breachClosed())
      .then((state) => expect(state.breach).toBe('closed'));
  });

  it('a report made after 72 hours is recorded, not refused (the lateness is flagged later)', () => {
    given([breachDetected()])
      .when(breachReported('2026-11-20T10:00:00.000Z'))
      .then((state) => expect(state.breach).toBe('open'));
  });

  it.each([
    ['assess', breachAssessed],
    ['report', breachReported],
    ['notify subjects of', breachNotified],
    ['close', breachClosed],
  ])('cannot %s a closed breach', (_action, event) => {
    given([breachDetected(), breachClosed()]).when(event()).thenRejects({ field: 'data.breachId', currentState: 'closed' });
  });

  it('cannot detect the same breach twice', () => {
    given([breachDetected()]).when(breachDetected()).thenRejects({ field: 'data.breachId', currentState: 'open', message: /already detected/ });
  });

  it('cannot detect a closed breach again', () => {
    given([breachDetected(), breachClosed()]).when(breachDetected()).thenRejects({ field: 'data.breachId', currentState: 'closed' });
  });
});

describe('privacy notices', () => {
  it('a notice version is published once', () => {
    given([])
      .when(noticePublished())
      .then((state) => expect(state.noticePublished).toBe(true));
  });

  it('cannot publish the same notice version twice', () => {
    given([noticePublished()]).when(noticePublished()).thenRejects({ field: 'data.version', currentState: 'published' });
  });
});

describe('processing facts are never refused by a workflow', () => {
  const facts: LedgerEventType[] = [
    'PersonalDataCollected',
    'PersonalDataAccessed',
    'PersonalDataDisclosed',
    'PersonalDataTransferred',
    'PersonalDataRectified',
    'PersonalDataErased',
    'AutomatedDecisionMade',
    'ConsentGranted',
    'ConsentWithdrawn',
    'PrivacyNoticeAcknowledged',
    'SubjectAffectedByBreach',
    'SubjectAgeFlagged',
    'ProcessingActivityRegistered',
  ];

  it.each(facts)('%s is accepted on an empty stream and leaves the workflow state as it was', (type) => {
    expect(needsWorkflowState(type)).toBe(false);
    given([])
      .when(exampleLedgerEvent(type, { ids }))
      .then((state) => expect(state).toEqual(initialWorkflowState));
  });
});

describe('planAppend', () => {
  const s1 = exampleIds('plan-1');
  const s2 = exampleIds('plan-2');
  const stream1 = subjectStream(s1.subjectId);
  const stream2 = subjectStream(s2.subjectId);
  const on = (subject: ExampleIds) => ({
    accessed: () => exampleLedgerEvent('PersonalDataAccessed', { ids: subject }),
    received: (requestId = subject.requestId) => exampleLedgerEvent('SubjectRequestReceived', { ids: subject, data: { requestId } }),
    verified: (requestId = subject.requestId) => exampleLedgerEvent('SubjectRequestIdentityVerified', { ids: subject, data: { requestId } }),
    fulfilled: (requestId = subject.requestId) => exampleLedgerEvent('SubjectRequestFulfilled', { ids: subject, data: { requestId } }),
  });
  const a = on(s1);
  const b = on(s2);
  const fresh = (revision: number | null, state: WorkflowState = initialWorkflowState): StreamSnapshot => ({ revision, state });

  function rejectionOf(run: () => unknown): PlannedEventRejection {
    try {
      run();
    } catch (error) {
      if (error instanceof PlannedEventRejection) return error;
      throw error;
    }
    throw new Error('expected a PlannedEventRejection, but the plan was accepted');
  }

  it('groups consecutive events of one stream into one append, in request order', () => {
    const events = [a.accessed(), a.accessed(), b.accessed(), a.accessed()];
    const plan = planAppend(events, new Map());
    expect(plan.map((p) => ({ streamId: p.streamId, eventIds: p.events.map((e) => e.eventId) }))).toEqual([
      { streamId: stream1, eventIds: [events[0]!.eventId, events[1]!.eventId] },
      { streamId: stream2, eventIds: [events[2]!.eventId] },
      { streamId: stream1, eventIds: [events[3]!.eventId] },
    ]);
  });

  it("appends pure processing facts at 'any' revision (no state was consulted)", () => {
    const plan = planAppend([a.accessed(), b.accessed()], new Map());
    expect(plan.map((p) => p.expectedRevision)).toEqual(['any', 'any']);
  });

  it('appends a stream whose state was loaded at the snapshot revision', () => {
    const plan = planAppend([a.received()], new Map([[stream1, fresh(4)]]));
    expect(plan).toEqual([{ streamId: stream1, expectedRevision: 4, events: [expect.objectContaining({ type: 'SubjectRequestReceived' })] }]);
  });

  it("appends a stream whose snapshot says it does not exist yet at 'no_stream'", () => {
    const plan = planAppend([a.received()], new Map([[stream1, fresh(null)]]));
    expect(plan[0]!.expectedRevision).toBe('no_stream');
  });

  it("mixes: the checked stream at its revision, an unchecked one at 'any'; a later group of a checked stream rides on the first check", () => {
    const plan = planAppend([a.received(), b.accessed(), a.verified()], new Map([[stream1, fresh(7)]]));
    expect(plan.map((p) => [p.streamId, p.expectedRevision])).toEqual([
      [stream1, 7],
      [stream2, 'any'],
      [stream1, 'any'],
    ]);
  });

  it('earlier events of the same batch count for later ones: received then verified then fulfilled in one batch passes', () => {
    const plan = planAppend([a.received(), a.verified(), a.fulfilled()], new Map([[stream1, fresh(null)]]));
    expect(plan).toHaveLength(1);
    expect(plan[0]!.events.map((e) => e.type)).toEqual(['SubjectRequestReceived', 'SubjectRequestIdentityVerified', 'SubjectRequestFulfilled']);
  });

  it('the stored state counts: a request verified before this batch can be fulfilled', () => {
    const state = [a.received(), a.verified()].reduce(evolveWorkflow, initialWorkflowState);
    const plan = planAppend([a.fulfilled()], new Map([[stream1, fresh(1, state)]]));
    expect(plan.map((p) => [p.streamId, p.expectedRevision, p.events.length])).toEqual([[stream1, 1, 1]]);
  });

  it('the stored state counts: a request only received before this batch cannot be fulfilled', () => {
    const state = [a.received()].reduce(evolveWorkflow, initialWorkflowState);
    const rejection = rejectionOf(() => planAppend([a.fulfilled()], new Map([[stream1, fresh(0, state)]])));
    expect(rejection.index).toBe(0);
    expect(rejection.rejection.currentState).toBe('received');
  });

  it('a rejection carries the index of the impossible event in the request and the workflow reason', () => {
    const rejection = rejectionOf(() => planAppend([b.accessed(), a.received(), a.fulfilled()], new Map([[stream1, fresh(null)]])));
    expect(rejection.index).toBe(2);
    expect(rejection.rejection.field).toBe('data.requestId');
    expect(rejection.rejection.currentState).toBe('received');
  });

  it('a request never received is rejected at its index even after other streams', () => {
    const rejection = rejectionOf(() => planAppend([a.accessed(), b.accessed(), a.fulfilled('req-missing')], new Map([[stream1, fresh(3)]])));
    expect(rejection.index).toBe(2);
    expect(rejection.rejection.currentState).toBe('not_received');
  });

  it("another stream's history does not count: a request received on one subject cannot be verified on another", () => {
    const rejection = rejectionOf(() =>
      planAppend([a.received('req-shared'), b.verified('req-shared')], new Map([[stream1, fresh(null)], [stream2, fresh(null)]])),
    );
    expect(rejection.index).toBe(1);
    expect(rejection.rejection.currentState).toBe('not_received');
  });

  it('asks for the state of exactly the streams with workflow events', () => {
    expect(streamsNeedingState([a.accessed(), b.received(), a.accessed()])).toEqual(new Set([stream2]));
  });
});
