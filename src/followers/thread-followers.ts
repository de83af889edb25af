import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Violation } from '../compliance/compliance-monitor.js';
import type { LedgerConfig } from '../config/ledger-config.js';
import type { EventStore } from '../event-store/event-store.port.js';
import { ConsumerStoppedError, type ConsumerStatus, type QuarantinedEvent } from '../event-store/log-feed.js';
import type { SignedCheckpoint } from '../integrity/checkpoint-signer.js';
import type { LedgerLogger } from '../observability/ledger-logger.js';
import type { FollowerThreadData, FromFollowerThread, ToFollowerThread } from './follower-thread-protocol.js';
import { Followers } from './followers.js';

/**
 * The compiled follower thread's script. From the compiled service it sits beside this file;
 * from sources run by ts-jest it is the build of the same source (npm test builds first).
 * Null when there is no compiled script (then the service runs its followers inline).
 */
export function followerThreadScript(): string | null {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.ts')
    ? [here.replace(/[/\\]src[/\\]followers[/\\]thread-followers\.ts$/, '/dist/src/followers/follower-thread.js')]
    : [here.replace(/thread-followers\.js$/, 'follower-thread.js')];
  return candidates.find((file) => existsSync(file)) ?? null;
}

interface Waiter {
  readonly position: number;
  readonly names: readonly string[] | null;
  resolve(): void;
  reject(error: Error): void;
}

const MAX_RESTART_MS = 60_000;

/**
 * Every follower in a worker thread of its own (the second core), seen from the service
 * thread: appends are signalled to it, each follower's position comes back after every batch,
 * and the followers' own writes (signing a checkpoint on demand, a deadline sweep) are asked
 * of it. If the thread dies, every follower counts as stopped (reads that need one answer 503)
 * and the thread is started again, each follower resuming from its own checkpoint.
 */
export class ThreadFollowers extends Followers {
  readonly mode = 'thread';
  private worker: Worker | null = null;
  private current: ConsumerStatus[];
  private quarantine: QuarantinedEvent[] = [];
  private waiters: Waiter[] = [];
  private calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private nextCall = 1;
  private unregister: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  private restartDelay = 1000;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: {
      readonly script: string;
      readonly config: LedgerConfig;
      readonly store: EventStore;
      readonly runMonitors: boolean;
      readonly logger: LedgerLogger;
      /** Their positions before the thread reports (from the files, read by the service thread). */
      readonly initial: ConsumerStatus[];
      readonly onOpened?: (violation: Violation) => void;
    },
  ) {
    super();
    this.current = options.initial;
  }

  start(): void {
    if (this.worker || this.stopping) return;
    const data: FollowerThreadData = { config: this.options.config, runMonitors: this.options.runMonitors };
    const worker = new Worker(this.options.script, { workerData: data });
    this.worker = worker;
    worker.on('message', (message: FromFollowerThread) => this.receive(message));
    worker.on('error', (error) => this.options.logger.pino.error({ err: error }, 'the follower thread failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.unregister?.();
      this.unregister = null;
      for (const call of this.calls.values()) call.reject(new Error('the follower thread exited'));
      this.calls.clear();
      if (this.stopping) return;
      // Loud, then retried: every follower resumes from its own checkpoint.
      this.options.logger.pino.error({ code }, 'the follower thread exited; restarting it');
      this.current = this.current.map((s) => ({ ...s, state: 'stopped', error: 'the follower thread exited' }));
      this.settle();
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.start();
      }, this.restartDelay);
      this.restartTimer.unref();
      this.restartDelay = Math.min(MAX_RESTART_MS, this.restartDelay * 2);
    });
    this.unregister = this.options.store.onAppended?.(() => this.send({ type: 'appended' })) ?? null;
  }

  private send(message: ToFollowerThread): void {
    this.worker?.postMessage(message);
  }

  private receive(message: FromFollowerThread): void {
    switch (message.type) {
      case 'progress':
        this.current = message.status;
        if (message.quarantined) this.quarantine = message.quarantined;
        if (message.status.every((s) => s.state === 'following')) this.restartDelay = 1000;
        this.settle();
        return;
      case 'opened':
        this.options.onOpened?.(message.violation);
        return;
      case 'rpc-result': {
        const call = this.calls.get(message.id);
        this.calls.delete(message.id);
        if (message.ok) call?.resolve(message.value);
        else call?.reject(new Error(message.error));
        return;
      }
      case 'stopped':
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown message ${JSON.stringify(unknown)}`);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (!worker) return;
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), 30_000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: 'stop' });
    });
    await this.stopping;
    this.stopping = null;
    this.worker = null;
    for (const w of this.waiters) w.reject(new Error('the followers were stopped'));
    this.waiters = [];
  }

  private rpc<T>(op: 'checkpoint' | 'sweep'): Promise<T> {
    if (!this.worker) return Promise.reject(new ConsumerStoppedError(op === 'checkpoint' ? 'merkle-log' : 'compliance'));
    const id = this.nextCall++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: (value) => resolve(value as T), reject });
      this.send({ type: 'rpc', id, op });
    });
  }

  checkpoint(): Promise<SignedCheckpoint | null> {
    return this.rpc<SignedCheckpoint | null>('checkpoint');
  }

  sweep(): Promise<number> {
    return this.rpc<number>('sweep');
  }

  status(): ConsumerStatus[] {
    return this.current;
  }

  quarantined(): QuarantinedEvent[] {
    return this.quarantine;
  }

  private named(names: readonly string[] | null): ConsumerStatus[] {
    return names === null ? this.current : this.current.filter((s) => names.includes(s.name));
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const pending: Waiter[] = [];
    for (const w of this.waiters) {
      const slots = this.named(w.names);
      const stopped = slots.find((s) => s.state === 'stopped' && s.position < w.position);
      if (stopped) w.reject(new ConsumerStoppedError(stopped.name));
      else if (slots.every((s) => s.position >= w.position)) w.resolve();
      else pending.push(w);
    }
    this.waiters = pending;
  }

  caughtUp(position: number, names: readonly string[] | null = null, timeoutMs = 10_000): Promise<void> {
    const slots = this.named(names);
    if (slots.every((s) => s.position >= position)) return Promise.resolve();
    const stopped = slots.find((s) => s.state === 'stopped');
    if (stopped) return Promise.reject(new ConsumerStoppedError(stopped.name));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${slots.map((s) => s.name).join(', ')} did not reach position ${position} in ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        position,
        names,
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.push(waiter);
    });
  }

  async caughtUpToHead(names: readonly string[] | null = null, timeoutMs?: number): Promise<number> {
    const head = await this.options.store.headPosition();
    await this.caughtUp(head, names, timeoutMs);
    return head;
  }
}
