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
    const prepared = await Promise.all(events.map((e) => this.prepare(e)));
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

  private async planAndAppend(ledgerEvents: readonly LedgerEvent[], prepared: readonly NewEvent[]): Promise<AppendedReceipt[]> {
    const byId = new Map(prepared.map((p) => [p.eventId, p]));
    for (let attempt = 1; ; attempt++) {
      const plan = planAppend(ledgerEvents, await this.loadSnapshots(ledgerEvents));
      try {
        const receipts = await this.store.append(
          plan.map((p) => ({ streamId: p.streamId, expectedRevision: p.expectedRevision, events: p.events.map((e) => byId.get(e.eventId)!) })),
        );
        const order = new Map(receipts.map((r) => [r.eventId, r]));
        return ledgerEvents.map((e) => order.get(e.eventId)!);
      } catch (error) {
        // Another writer advanced a stream whose workflow we checked: decide again.
        if (error instanceof WrongExpectedRevisionError && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** Encrypts personal values under the subject's key (fail closed) and digests the caller's content. */
  private async prepare({ event, pii }: ParsedEvent): Promise<NewEvent> {
    let sealed: string | undefined;
    let piiDigest: string | undefined;
    if (pii && event.subjectId !== null) {
      const key = await this.keyring.dataKey(event.subjectId, { create: true });
      if (!key) throw new Error('key store returned no key');
      sealed = sealPersonalValues(key, event.eventId, event.subjectId, pii);
      piiDigest = personalValuesDigest(key, pii);
    }
    return {
      eventId: event.eventId,
      type: event.type,
      occurredAt: event.occurredAt,
      subjectId: event.subjectId,
      actor: event.actor,
      data: event.data as unknown as Record<string, unknown>,
      ...(sealed === undefined ? {} : { pii: sealed }),
      metadata: event.metadata,
      contentDigest: canonicalDigest({ ...event, piiDigest: piiDigest ?? null }),
    };
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
