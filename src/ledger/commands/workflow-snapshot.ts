import type { EventStore } from '../../event-store/event-store.port.js';
import type { LedgerEvent } from '../domain/events.js';
import type { StreamSnapshot } from '../domain/plan-append.js';
import { evolveWorkflow, initialWorkflowState } from '../domain/workflow.js';

/** A stream's workflow state (the domain's fold over its events) and its current revision. */
export async function loadWorkflowSnapshot(store: EventStore, streamId: string): Promise<StreamSnapshot> {
  const stored = await store.readStream(streamId);
  const state = stored.reduce((s, e) => evolveWorkflow(s, e as unknown as LedgerEvent), initialWorkflowState);
  const last = stored[stored.length - 1];
  return { state, revision: last ? last.streamRevision : null };
}
