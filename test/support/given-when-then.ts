import type { LedgerEvent } from '../../src/ledger/domain/events.js';
import { decideWorkflow, evolveWorkflow, initialWorkflowState, WorkflowRejection, type WorkflowState } from '../../src/ledger/domain/workflow.js';

/**
 * Domain specs as specifications, over the pure workflow functions:
 *
 *   given([received, verified]).when(fulfilled).then((state) => ...)
 *   given([]).when(fulfilled).thenRejects({ field: 'data.requestId', currentState: 'not_received' })
 *
 * The history is itself decided event by event, so a spec with an impossible history fails
 * loudly instead of testing a state the ledger can never reach.
 */
export interface ExpectedRejection {
  readonly field: string;
  readonly currentState: string;
  /** Optional check of the human-readable reason. */
  readonly message?: RegExp;
}

export interface WorkflowOutcome {
  /** The event is accepted; `assert` receives the state after it. */
  then(assert: (state: WorkflowState) => void): void;
  /** The event is refused with a WorkflowRejection naming this field and current state. */
  thenRejects(expected: ExpectedRejection): void;
}

export interface WorkflowScenario {
  when(event: LedgerEvent): WorkflowOutcome;
}

function fold(history: readonly LedgerEvent[]): WorkflowState {
  return history.reduce((state, event, index) => {
    try {
      decideWorkflow(state, event);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`given: history event #${index} (${event.type}) is itself impossible: ${reason}`);
    }
    return evolveWorkflow(state, event);
  }, initialWorkflowState);
}

export function given(history: readonly LedgerEvent[]): WorkflowScenario {
  const before = fold(history);
  return {
    when(event) {
      return {
        then(assert) {
          try {
            decideWorkflow(before, event);
          } catch (error) {
            if (error instanceof WorkflowRejection) {
              throw new Error(`expected ${event.type} to be accepted, but it was rejected: ${error.field} (${error.currentState}): ${error.message}`);
            }
            throw error;
          }
          assert(evolveWorkflow(before, event));
        },
        thenRejects(expected) {
          let thrown: unknown;
          try {
            decideWorkflow(before, event);
          } catch (error) {
            thrown = error;
          }
          if (thrown === undefined) throw new Error(`expected ${event.type} to be rejected (${expected.field}, ${expected.currentState}), but it was accepted`);
          expect(thrown).toBeInstanceOf(WorkflowRejection);
          const rejection = thrown as WorkflowRejection;
          expect({ field: rejection.field, currentState: rejection.currentState }).toEqual({
            field: expected.field,
            currentState: expected.currentState,
          });
          if (expected.message) expect(rejection.message).toMatch(expected.message);
        },
      };
    },
  };
}
