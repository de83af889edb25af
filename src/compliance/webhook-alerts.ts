import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Violation } from './compliance-monitor.js';

export interface WebhookAlertOptions {
  readonly file: string;
  readonly urls: readonly string[];
  /** HMAC-SHA256 key for the X-Ledger-Signature header. */
  readonly secret: string;
  readonly clock: Clock;
  /** First retry delay; each further retry doubles it. */
  readonly baseDelayMs?: number;
  readonly maxAttempts?: number;
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface Delivery {
  readonly id: string;
  readonly violationId: string;
  readonly url: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
}

/**
 * The signature a receiver checks: HMAC-SHA256 over `<timestamp>.<body>` with the shared
 * secret, hex, sent as `X-Ledger-Signature: sha256=<hex>` beside `X-Ledger-Timestamp`.
 */
export function signAlert(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * At-least-once delivery of newly opened violations to the configured webhooks: each alert is
 * written to an outbox before any attempt, so a restart resumes pending deliveries; failures
 * are retried with exponential backoff until `maxAttempts`, and every state is queryable.
 * Receivers deduplicate by the `X-Ledger-Delivery` id.
 */
export class WebhookAlerts {
  private readonly db: Db;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly options: WebhookAlertOptions) {
    mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS webhook_deliveries (
      id TEXT PRIMARY KEY, violation_id TEXT NOT NULL, url TEXT NOT NULL, payload TEXT NOT NULL,
      status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at TEXT, last_error TEXT, delivered_at TEXT,
      UNIQUE (violation_id, url))`);
  }

  get enabled(): boolean {
    return this.options.urls.length > 0;
  }

  /** Queues one delivery per webhook for a newly opened violation (idempotent per violation and URL). */
  enqueue(violation: Violation): void {
    const now = this.options.clock().toISOString();
    const insert = this.db.prepare(
      "INSERT OR IGNORE INTO webhook_deliveries (id, violation_id, url, payload, status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)",
    );
    const payload = JSON.stringify({ type: 'violation.opened', violation });
    for (const url of this.options.urls) insert.run(randomUUID(), violation.id, url, payload, now);
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => void this.deliverDue(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.running) await new Promise((r) => setTimeout(r, 10));
    this.db.close();
  }

  /** Attempts every delivery whose time has come; returns how many were attempted. */
  async deliverDue(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const now = this.options.clock();
      const due = this.db
        .prepare("SELECT id, url, payload, attempts FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at")
        .all(now.toISOString()) as Array<{ id: string; url: string; payload: string; attempts: number }>;
      for (const d of due) await this.attempt(d);
      return due.length;
    } catch (error) {
      this.options.onError?.(error);
      return 0;
    } finally {
      this.running = false;
    }
  }

  private async attempt(d: { id: string; url: string; payload: string; attempts: number }): Promise<void> {
    const timestamp = this.options.clock().toISOString();
    let failure: string | null = null;
    try {
      const response = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-ledger-delivery': d.id,
          'x-ledger-timestamp': timestamp,
          'x-ledger-signature': signAlert(this.options.secret, timestamp, d.payload),
        },
        body: d.payload,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      if (!response.ok) failure = `HTTP ${response.status}`;
      await response.body?.cancel();
    } catch (error) {
      failure = error instanceof Error ? error.name : 'network error';
    }
    const attempts = d.attempts + 1;
    if (failure === null) {
      this.db.prepare("UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, delivered_at = ?, next_attempt_at = NULL, last_error = NULL WHERE id = ?").run(attempts, this.options.clock().toISOString(), d.id);
      return;
    }
    const max = this.options.maxAttempts ?? 8;
    const delay = (this.options.baseDelayMs ?? 1000) * 2 ** (attempts - 1);
    const next = new Date(this.options.clock().getTime() + delay).toISOString();
    this.db
      .prepare('UPDATE webhook_deliveries SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?')
      .run(attempts >= max ? 'failed' : 'pending', attempts, failure, attempts >= max ? null : next, d.id);
  }

  deliveries(violationId?: string): Delivery[] {
    const rows = (
      violationId
        ? this.db.prepare('SELECT * FROM webhook_deliveries WHERE violation_id = ? ORDER BY url').all(violationId)
        : this.db.prepare('SELECT * FROM webhook_deliveries ORDER BY rowid DESC LIMIT 500').all()
    ) as Array<{ id: string; violation_id: string; url: string; status: Delivery['status']; attempts: number; next_attempt_at: string | null; last_error: string | null; delivered_at: string | null }>;
    return rows.map((r) => ({
      id: r.id,
      violationId: r.violation_id,
      url: r.url,
      status: r.status,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      lastError: r.last_error,
      deliveredAt: r.delivered_at,
    }));
  }
}
