import { randomUUID } from 'node:crypto';
import type { CommandBus } from '@nestjs/cqrs';
import type { ActorRef } from '../domain/events.js';
import { RecordEventsCommand } from '../commands/record-events/record-events.handler.js';

export interface ReadRecord {
  readonly subjectId: string;
  readonly actor: ActorRef;
  readonly categories: Iterable<string>;
  readonly purpose: string;
  readonly reasonCode: string;
  readonly justification: string;
  readonly ticketRef?: string;
  /** When the read happened (the service clock). */
  readonly at: Date;
}

/**
 * DESIGN principle 5, reads are processing too: a read that returns a subject's data to a
 * person is appended to that subject's stream as PersonalDataAccessed by the reader — before
 * the answer leaves the ledger, so no read goes unrecorded. The pseudonymous id itself is
 * always among the categories read.
 */
export async function recordRead(commands: CommandBus, read: ReadRecord): Promise<void> {
  await recordReads(commands, [read]);
}

/** Several reads (one per subject an answer names), recorded together in one atomic append. */
export async function recordReads(commands: CommandBus, reads: readonly ReadRecord[]): Promise<void> {
  if (reads.length === 0) return;
  await commands.execute(
    new RecordEventsCommand(
      reads.map((read) => ({
        event: {
          eventId: randomUUID(),
          type: 'PersonalDataAccessed',
          occurredAt: read.at.toISOString(),
          subjectId: read.subjectId,
          actor: read.actor,
          data: {
            categories: [...new Set<string>(['user.unique_id', ...read.categories])],
            purpose: read.purpose,
            legalBasis: 'legal_obligation',
            reasonCode: read.reasonCode,
            ...(read.ticketRef ? { ticketRef: read.ticketRef } : {}),
            justification: read.justification,
          },
          metadata: { emitter: 'privacy-ledger' },
        },
      })),
    ),
  );
}
