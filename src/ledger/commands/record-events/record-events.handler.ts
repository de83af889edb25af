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
import { evolveWorkflow, initialWorkflowState } from '../../domain/workflow.js';
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
    const ledgerEvents = events.map((e) => e.event);
    const byId = new Map(prepared.map((p) => [p.eventId, p]));

    for (let attempt = 1; ; attempt++) {
      const snapshots = await this.loadSnapshots(ledgerEvents);
      let plan;
      try {
        plan = planAppend(ledgerEvents, snapshots);
      } catch (error) {
        // A retry of an append that already succeeded is answered with its first receipts,
        // not refused by the workflow it already advanced.
        if (error instanceof PlannedEventRejection) {
          const replay = await this.replayOfStored(prepared);
          if (replay) return replay;
        }
        throw error;
      }
      try {
        const receipts = await this.store.append(
          plan.map((p) => ({
            streamId: p.streamId,
            expectedRevision: p.expectedRevision,
            events: p.events.map((e) => byId.get(e.eventId)!),
          })),
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
    for (const streamId of streamsNeedingState(events)) {
      const stored = await this.store.readStream(streamId);
      const state = stored.reduce((s, e) => evolveWorkflow(s, e as unknown as LedgerEvent), initialWorkflowState);
      const last = stored[stored.length - 1];
      snapshots.set(streamId, { revision: last ? last.streamRevision : null, state });
    }
    return snapshots;
  }

  private async replayOfStored(events: readonly NewEvent[]): Promise<AppendedReceipt[] | null> {
    const receipts: AppendedReceipt[] = [];
    for (const event of events) {
      const stored = await this.store.findByEventId(event.eventId);
      if (!stored) return null;
      const receipt = {
        eventId: stored.eventId,
        streamId: stored.streamId,
        streamRevision: stored.streamRevision,
        globalPosition: stored.globalPosition,
        hash: stored.hash,
      };
      if (stored.contentDigest !== event.contentDigest) throw new EventIdConflictError(event.eventId, receipt);
      receipts.push({ ...receipt, duplicate: true });
    }
    return receipts;
  }
}
