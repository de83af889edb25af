import { randomUUID } from 'node:crypto';
import { Inject, NotFoundException } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CLOCK, type Clock } from '../../../clock.js';
import { SUBJECT_KEYRING, type SubjectKeyring } from '../../../crypto/subject-keyring.js';
import { EVENT_STORE, type AppendedReceipt, type EventStore } from '../../../event-store/event-store.port.js';
import { Followers } from '../../../followers/followers.js';
import { FOLLOWERS } from '../../../event-store/followers.js';
import { ProjectionRunner } from '../../../read-models/projection-runner.js';
import { SUBJECT_TIMELINE_TABLE } from '../../../../projections/subject-timeline/subject-timeline.projection.js';
import type { ActorRef, LedgerEvent } from '../../domain/events.js';
import { fulfilmentEvents, shredsKey } from '../../domain/fulfilment.js';
import { planAppend } from '../../domain/plan-append.js';
import { subjectStream } from '../../domain/streams.js';
import { loadWorkflowSnapshot } from '../workflow-snapshot.js';
import { RecordEventsCommand } from '../record-events/record-events.handler.js';

/**
 * Records events that destroy the subject's key: the workflow is decided first, so no key is
 * destroyed for an impossible step; then the key is shredded; then the facts are recorded.
 * A failure after shredding leaves the key destroyed (the safe side for the person) and a
 * retry records the facts.
 */
async function shredThenRecord(
  store: EventStore,
  keyring: SubjectKeyring,
  commands: CommandBus,
  subjectId: string,
  events: LedgerEvent[],
): Promise<AppendedReceipt[]> {
  const { state, revision } = await loadWorkflowSnapshot(store, subjectStream(subjectId));
  planAppend(events, new Map([[subjectStream(subjectId), { state, revision }]]));
  if (shredsKey(events)) await keyring.shred(subjectId);
  return commands.execute(new RecordEventsCommand(events.map((event) => ({ event }))));
}

/** Fulfils a verified rights request with the effects its right calls for (see fulfilmentEvents). */
export class FulfilSubjectRequestCommand extends Command<AppendedReceipt[]> {
  constructor(
    readonly subjectId: string,
    readonly requestId: string,
    readonly purposes: readonly string[],
    readonly actor: ActorRef,
    readonly outcome?: string,
  ) {
    super();
  }
}

@CommandHandler(FulfilSubjectRequestCommand)
export class FulfilSubjectRequestHandler implements ICommandHandler<FulfilSubjectRequestCommand, AppendedReceipt[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
    @Inject(ProjectionRunner) private readonly readModels: ProjectionRunner,
    @Inject(Followers) private readonly feed: Followers,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly commands: CommandBus,
  ) {}

  async execute(command: FulfilSubjectRequestCommand): Promise<AppendedReceipt[]> {
    await this.feed.caughtUpToHead([FOLLOWERS.readModels]);
    const { state } = await loadWorkflowSnapshot(this.store, subjectStream(command.subjectId));
    const request = state.requests.get(command.requestId);
    if (!request) throw new NotFoundException(`requestId: no request ${command.requestId} for this subject`);
    const categories = (
      this.readModels.db
        .prepare(
          `SELECT DISTINCT j.value AS category FROM ${SUBJECT_TIMELINE_TABLE} t, json_each(t.categories) j
           WHERE t.subject_id = ? AND t.type = 'PersonalDataCollected' ORDER BY j.value`,
        )
        .all(command.subjectId) as Array<{ category: string }>
    ).map((r) => r.category);
    const events = fulfilmentEvents({
      subjectId: command.subjectId,
      requestId: command.requestId,
      request,
      state,
      purposes: command.purposes,
      categories,
      actor: command.actor,
      occurredAt: this.clock().toISOString(),
      newEventId: randomUUID,
      ...(command.outcome ? { outcome: command.outcome } : {}),
    });
    return shredThenRecord(this.store, this.keyring, this.commands, command.subjectId, events);
  }
}

/** `ledger shred SUBJECT`: destroys the subject's key and records SubjectKeyShredded. */
export class ShredSubjectKeyCommand extends Command<AppendedReceipt[]> {
  constructor(
    readonly subjectId: string,
    readonly reason: string,
    readonly actor: ActorRef,
  ) {
    super();
  }
}

@CommandHandler(ShredSubjectKeyCommand)
export class ShredSubjectKeyHandler implements ICommandHandler<ShredSubjectKeyCommand, AppendedReceipt[]> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SUBJECT_KEYRING) private readonly keyring: SubjectKeyring,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly commands: CommandBus,
  ) {}

  async execute({ subjectId, reason, actor }: ShredSubjectKeyCommand): Promise<AppendedReceipt[]> {
    const event: LedgerEvent = {
      eventId: randomUUID(),
      type: 'SubjectKeyShredded',
      occurredAt: this.clock().toISOString(),
      subjectId,
      actor,
      data: { reason },
      metadata: { emitter: actor.system },
    };
    return shredThenRecord(this.store, this.keyring, this.commands, subjectId, [event]);
  }
}
