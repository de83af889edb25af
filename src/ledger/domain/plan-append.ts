import type { LedgerEvent } from './events.js';
import { streamOf } from './streams.js';
import { decideWorkflow, evolveWorkflow, needsWorkflowState, WorkflowRejection, type WorkflowState } from './workflow.js';

/** What the ledger knows of a stream before an append: its revision and workflow state. */
export interface StreamSnapshot {
  readonly revision: number | null;
  readonly state: WorkflowState;
}

export interface PlannedAppend {
  readonly streamId: string;
  /** The snapshot's revision when the stream's workflow was checked, otherwise 'any'. */
  readonly expectedRevision: number | 'no_stream' | 'any';
  readonly events: readonly LedgerEvent[];
}

/** A workflow rejection located at an event of the request. */
export class PlannedEventRejection extends Error {
  override readonly name = 'PlannedEventRejection';
  constructor(
    readonly index: number,
    readonly rejection: WorkflowRejection,
  ) {
    super(rejection.message);
  }
}

/** Streams whose workflow state must be loaded before `events` can be decided. */
export function streamsNeedingState(events: readonly LedgerEvent[]): Set<string> {
  const streams = new Set<string>();
  for (const event of events) if (needsWorkflowState(event.type)) streams.add(streamOf(event));
  return streams;
}

/**
 * Decides a caller's events in order against their streams' workflow states (earlier events
 * of the same request count) and groups consecutive events of one stream into one append:
 * the plan's events, taken in turn, are `events` in their order.
 * Streams whose state was consulted are appended at the snapshot revision, so a concurrent
 * writer makes the append fail and the caller re-plans; pure processing facts use 'any'.
 * Pure: throws PlannedEventRejection for the first impossible event.
 */
export function planAppend(events: readonly LedgerEvent[], snapshots: ReadonlyMap<string, StreamSnapshot>): PlannedAppend[] {
  const states = new Map<string, WorkflowState>();
  const plan: Array<{ streamId: string; expectedRevision: PlannedAppend['expectedRevision']; events: LedgerEvent[] }> = [];
  const checked = new Set<string>();
  events.forEach((event, index) => {
    const streamId = streamOf(event);
    const snapshot = snapshots.get(streamId);
    const state = states.get(streamId) ?? snapshot?.state;
    if (state) {
      try {
        decideWorkflow(state, event);
      } catch (error) {
        if (error instanceof WorkflowRejection) throw new PlannedEventRejection(index, error);
        throw error;
      }
      states.set(streamId, evolveWorkflow(state, event));
    }
    const last = plan[plan.length - 1];
    if (last && last.streamId === streamId) {
      last.events.push(event);
      return;
    }
    const firstTime = snapshot !== undefined && !checked.has(streamId);
    checked.add(streamId);
    plan.push({
      streamId,
      expectedRevision: firstTime ? (snapshot.revision ?? 'no_stream') : 'any',
      events: [event],
    });
  });
  return plan;
}
