import type { Violation } from '../compliance/compliance-monitor.js';
import type { LedgerConfig } from '../config/ledger-config.js';
import type { ConsumerStatus, QuarantinedEvent } from '../event-store/log-feed.js';

/** What the service thread hands the follower thread at start. */
export interface FollowerThreadData {
  readonly config: LedgerConfig;
  readonly runMonitors: boolean;
}

export type ToFollowerThread =
  | { readonly type: 'appended' }
  | { readonly type: 'rpc'; readonly id: number; readonly op: 'checkpoint' | 'sweep' }
  | { readonly type: 'stop' };

export type FromFollowerThread =
  | { readonly type: 'progress'; readonly status: ConsumerStatus[]; readonly quarantined?: QuarantinedEvent[] }
  | { readonly type: 'opened'; readonly violation: Violation }
  | { readonly type: 'rpc-result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'rpc-result'; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly type: 'stopped' };
