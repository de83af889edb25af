import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { canonicalDigest } from '../../../integrity/chain.js';
import {
  EVENT_STORE,
  EventIdConflictError,
  WrongExpectedRevisionError,
  type AppendedReceipt,
  type EventStore,
  type NewEvent,
} from '../../../event-store/event-store.port.js';
import { SUBJECT_KEYRING, type SubjectKeyring } from '../../../crypto/subject-keyring.js';
import { personalValuesDigest, sealPersonalValues } from '../../../crypto/personal-values-cipher.js';
import type { LedgerEvent } from '../../domain/events.js';
import { planAppend, PlannedEventRejection, streamsNeedingState, type StreamSnapshot } from '../../domain/plan-append.js';
import { loadWorkflowSnapshot } from '../workflow-snapshot.js';
import type { ParsedEvent } from './event-envelope.dto.js';

/**
 * The event as the store takes it. The content digest covers the caller's event and a keyed
 * digest of its personal values (not their ciphertext, which differs on every encryption), so
 * a retry with the same body is recognised; it is compared with digests stored by earlier
 * versions, so its input stays exactly `{ ...event, piiDigest }`.
 */
function newEvent(event: LedgerEvent, pii: { values: Readonly<Record<string, string>>; key: Buffer } | null): NewEvent {
  const sealed = pii && event.subjectId !== null ? sealPersonalValues(pii.key, event.eventId, event.subjectId, pii.values) : undefined;
  const piiDigest = pii ? personalValuesDigest(pii.key, pii.values) : null;
  return {
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    subjectId: event.subjectId,
    actor: event.actor,
    data: event.data as unknown as Record<string, unknown>,
    ...(sealed === undefined ? {} : { pii: sealed }),
    metadata: event.metadata,
    contentDigest: canonicalDigest(digestInput(event, piiDigest)),
  };
}

const EVENT_MEMBERS = new Set(['actor', 'data', 'eventId', 'metadata', 'occurredAt', 'subjectId', 'type']);

/**
 * `{ ...event, piiDigest }`, built member by member in canonical order when the event holds
 * only the members of LedgerEvent (so the digest takes it without reordering); anything else
 * is spread as ever, so the digested content never differs from earlier versions'.
 */
function digestInput(event: LedgerEvent, piiDigest: string | null): object {
  for (const key in event) if (!EVENT_MEMBERS.has(key)) return { ...event, piiDigest };
  const { actor, data, eventId, metadata, occurredAt, subjectId, type } = event;
  return { actor, data, eventId, metadata, occurredAt, piiDigest, subjectId, type };
}

/** Records events a caller states, in order, atomically; resolves with one receipt per event. */
export class RecordEventsCommand extends Command<AppendedReceipt[]> {
  constructor(readonly events: readonly ParsedEvent[]) {
    super();
  }
}

const MAX_ATTEMPTS = 5;

@CommandHandler(RecordEventsCommand)
export class RecordEventsHandler implements ICommandHandler<RecordEventsCommand, AppendedReceipt[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
  ) {}

  async execute({ events }: RecordEventsCommand): Promise<AppendedReceipt[]> {
    const prepared = await this.prepare(events);
    try {
      return await this.planAndAppend(events.map((e) => e.event), prepared);
    } catch (error) {
      if (!(error instanceof PlannedEventRejection)) throw error;
      // A retry that repeats events already recorded is answered with their first receipts,
      // not refused by the workflow they already advanced; only the new events are decided.
      const stored = await this.storedReceipts(prepared);
      if (stored.size === 0) throw error;
      const fresh = events.filter((e) => !stored.has(e.event.eventId));
      const appended = fresh.length === 0 ? [] : await this.planAndAppend(fresh.map((e) => e.event), prepared.filter((p) => !stored.has(p.eventId)));
      const byId = new Map([...stored.values(), ...appended].map((r) => [r.eventId, r]));
      return events.map((e) => byId.get(e.event.eventId)!);
    }
  }

  /** `prepared[i]` is the store form of `ledgerEvents[i]`; receipts come back in that order. */
  private async planAndAppend(ledgerEvents: readonly LedgerEvent[], prepared: readonly NewEvent[]): Promise<AppendedReceipt[]> {
    for (let attempt = 1; ; attempt++) {
      const plan = planAppend(ledgerEvents, await this.loadSnapshots(ledgerEvents));
      // The plan keeps the request's order (see planAppend), so its events are `prepared` in turn.
      let next = 0;
      const requests = plan.map((p) => ({
        streamId: p.streamId,
        expectedRevision: p.expectedRevision,
        events: p.events.map((e) => {
          const event = prepared[next++]!;
          if (event.eventId !== e.eventId) throw new Error('append plan out of request order');
          return event;
        }),
      }));
      try {
        // The store answers in request order, events in order: the caller's order.
        return await this.store.append(requests);
      } catch (error) {
        // Another writer advanced a stream whose workflow we checked: decide again.
        if (error instanceof WrongExpectedRevisionError && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /**
   * The store form of each event: personal values encrypted under the subject's key (fail
   * closed) and the caller's content digested. Only events with personal values need a key,
   * and each subject's key is asked for once per request; everything else is synchronous.
   */
  private async prepare(events: readonly ParsedEvent[]): Promise<NewEvent[]> {
    const subjects = new Set<string>();
    for (const { event, pii } of events) if (pii && event.subjectId !== null) subjects.add(event.subjectId);
    const keys = new Map<string, Buffer>();
    if (subjects.size > 0) {
      const ids = [...subjects];
      const found = await Promise.all(ids.map((id) => this.keyring.dataKey(id, { create: true })));
      ids.forEach((id, i) => {
        const key = found[i];
        if (!key) throw new Error('key store returned no key');
        keys.set(id, key);
      });
    }
    return events.map(({ event, pii }) => newEvent(event, pii && event.subjectId !== null ? { values: pii, key: keys.get(event.subjectId)! } : null));
  }

  private async loadSnapshots(events: readonly LedgerEvent[]): Promise<Map<string, StreamSnapshot>> {
    const snapshots = new Map<string, StreamSnapshot>();
    for (const streamId of streamsNeedingState(events)) snapshots.set(streamId, await loadWorkflowSnapshot(this.store, streamId));
    return snapshots;
  }

  /** Receipts of the events already in the log (same content), keyed by eventId; a conflict throws. */
  private async storedReceipts(events: readonly NewEvent[]): Promise<Map<string, AppendedReceipt>> {
    const receipts = new Map<string, AppendedReceipt>();
    for (const event of events) {
      const stored = await this.store.findByEventId(event.eventId);
      if (!stored) continue;
      const receipt = {
        eventId: stored.eventId,
        streamId: stored.streamId,
        streamRevision: stored.streamRevision,
        globalPosition: stored.globalPosition,
        hash: stored.hash,
      };
      if (stored.contentDigest !== event.contentDigest) throw new EventIdConflictError(event.eventId, receipt);
      receipts.set(event.eventId, { ...receipt, duplicate: true });
    }
    return receipts;
  }
}
