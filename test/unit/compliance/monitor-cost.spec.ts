import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComplianceMonitor } from '../../../src/compliance/compliance-monitor.js';
import type { EventStore, NewEvent } from '../../../src/event-store/event-store.port.js';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import { canonicalDigest } from '../../../src/integrity/chain.js';
import type { ActorRef, LedgerEventDataMap, LedgerEventType } from '../../../src/ledger/domain/events.js';
import { REGISTER_STREAM } from '../../../src/ledger/domain/streams.js';
import { TestClock } from '../../support/compliance-clock.js';
import { activity, DPO, SPEC_CONFIG, SUPPORT_AGENT } from '../../support/compliance-context.js';

/*
 * Recording cost does not grow with a person's history (DESIGN principle 8): the monitor
 * follows a real SQLite log through its own subscription while one subject gathers thousands of
 * events — recordings collected and erased, consent given and withdrawn, requests answered,
 * restrictions, and violations piling up (unlawful transfers, recordings never erased) — with a
 * sweep after every batch. It must never read the log (no stream, no history), and the state it
 * loads for that subject must stay the same small size from the first hundreds of events to the last.
 */

const SUBJECT = 'cust-long-history';
const RECORDING = 'essential.service.recording';
const MARKETING = 'marketing.communications.email';
const BATCHES = 30;
const PER_BATCH = 100;
const MINUTE_MS = 60_000;

/** The real store, with every read the monitor makes through it counted. */
function countingReads(store: EventStore): { store: EventStore; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    store: {
      append: (requests) => store.append(requests),
      readStream: (streamId, options) => (reads.push(`readStream ${streamId}`), store.readStream(streamId, options)),
      readAll: (options) => (reads.push('readAll'), store.readAll(options)),
      headPosition: () => store.headPosition(),
      streamHead: (streamId) => store.streamHead(streamId),
      findByEventId: (eventId) => (reads.push(`findByEventId ${eventId}`), store.findByEventId(eventId)),
      subscribeToAll: (options) => store.subscribeToAll(options),
      close: () => store.close(),
    },
  };
}

function newEvent<T extends LedgerEventType>(type: T, occurredAt: Date, data: LedgerEventDataMap[T], subjectId: string | null, actor: ActorRef = SUPPORT_AGENT): NewEvent {
  const event = { eventId: randomUUID(), type, occurredAt: occurredAt.toISOString(), subjectId, actor, data: data as unknown as Record<string, unknown>, metadata: {} };
  return { ...event, contentDigest: canonicalDigest({ ...event, piiDigest: null }) };
}

/** The i-th fact of the long history, at `at`: a cycle of lawful processing with a violation every few events. */
function factOf(i: number, at: Date): NewEvent {
  const video = { categories: ['user.sensor.video'], purpose: RECORDING, legalBasis: 'contract', source: 'device' as const, processingActivityId: 'act-rec' };
  switch (i % 10) {
    case 0:
    case 1:
      return newEvent('PersonalDataCollected', at, video, SUBJECT);
    case 2:
      // Audio is kept 1 minute and never erased: every one becomes an open retention violation.
      return newEvent('PersonalDataCollected', at, { ...video, categories: ['user.sensor.audio'] }, SUBJECT);
    case 3:
      return newEvent('PersonalDataErased', at, { categories: ['user.sensor.video'], reason: 'retention_expired' }, SUBJECT);
    case 4:
      return i % 20 === 4 ? newEvent('ConsentGranted', at, { purposes: [MARKETING], method: 'in_app' }, SUBJECT) : newEvent('ConsentWithdrawn', at, { purposes: [MARKETING] }, SUBJECT);
    case 5:
      return newEvent('PersonalDataAccessed', at, { categories: ['user.contact.email'], purpose: MARKETING, legalBasis: 'consent', reasonCode: 'marketing_campaign' }, SUBJECT);
    case 6:
      return newEvent('SubjectRequestReceived', at, { requestId: `req-${i}`, right: 'access', channel: 'email' }, SUBJECT, DPO);
    case 7:
      return newEvent('SubjectRequestRejected', at, { requestId: `req-${i - 1}`, reason: 'manifestly unfounded' }, SUBJECT, DPO);
    case 8:
      return i % 20 === 8
        ? newEvent('ProcessingRestricted', at, { reason: 'accuracy contested', purposes: ['marketing'] }, SUBJECT, DPO)
        : newEvent('ProcessingRestrictionLifted', at, { reason: 'verified', subjectInformedAt: at.toISOString() }, SUBJECT, DPO);
    default:
      return newEvent(
        'PersonalDataTransferred',
        at,
        { categories: ['user.device.firmware_version'], purpose: 'essential.service.operations.improve', legalBasis: 'legitimate_interests', recipient: { id: 'vendor-telemetry-cn', kind: 'processor', country: 'CN' }, destinationCountry: 'CN', mechanism: 'none' },
        SUBJECT,
      );
  }
}

describe('ComplianceMonitor cost as a history grows', () => {
  let dir: string;
  let store: SqliteEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-monitor-cost-'));
    store = new SqliteEventStore({ file: join(dir, 'events.db'), synchronous: 'normal' });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`reads no history and keeps one small state for a subject through ${BATCHES * PER_BATCH} events, with a sweep after every batch`, async () => {
    const clock = new TestClock('2026-03-01T00:00:00.000Z');
    const counted = countingReads(store);
    const monitor = new ComplianceMonitor({ file: join(dir, 'compliance.db'), store: counted.store, clock: clock.now, config: SPEC_CONFIG, sweepSeconds: 0 });
    const registered = activity({
      activityId: 'act-rec',
      purpose: RECORDING,
      categories: ['user.sensor', 'user.contact.email'],
      retention: [
        { category: 'user.sensor.video', period: 'PT30M' },
        { category: 'user.sensor.audio', period: 'PT1M' },
      ],
    });
    await store.append([{ streamId: REGISTER_STREAM, expectedRevision: 'any', events: [newEvent('ProcessingActivityRegistered', clock.now(), registered, null, DPO)] }]);
    monitor.start();
    const stateSizes: number[] = [];
    try {
      for (let b = 0; b < BATCHES; b++) {
        const events = Array.from({ length: PER_BATCH }, (_, k) => factOf(b * PER_BATCH + k, new Date(clock.now().getTime() + k * 100)));
        await store.append([{ streamId: `subject-${SUBJECT}`, expectedRevision: 'any', events }]);
        await monitor.waitForPosition(await store.headPosition(), 10_000);
        clock.advance(10 * MINUTE_MS);
        await monitor.sweep();
        stateSizes.push(JSON.stringify(monitor.scopeState('subject', SUBJECT)).length);
      }

      expect(counted.reads).toEqual([]);
      // The history did pile up violations: open audio kept too long, transfers, marketing after withdrawal.
      const open = monitor.list({ subjectId: SUBJECT, status: 'open', limit: 100_000 });
      expect(open.filter((v) => v.rule === 'retention-exceeded').length).toBe(BATCHES * (PER_BATCH / 10));
      expect(open.filter((v) => v.rule === 'transfer-without-safeguard').length).toBe(BATCHES * (PER_BATCH / 10));
      expect(open.filter((v) => v.rule === 'processing-after-consent-withdrawal').length).toBeGreaterThan(0);
      // …while the state loaded per batch is what one batch's recordings and one open request need, at every size of the history.
      const [first] = stateSizes;
      expect(Math.max(...stateSizes)).toBeLessThan(first! * 1.25);
      expect(Math.max(...stateSizes)).toBeLessThan(8_000);
    } finally {
      await monitor.close();
    }
  }, 60_000);
});
