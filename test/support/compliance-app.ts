import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import type { Violation } from '../../src/compliance/compliance-monitor.js';
import { TestClock } from './compliance-clock.js';
import { startLedger, type TestLedger } from './ledger-app.js';

/**
 * The real ledger service (embedded store, temp data dir, nothing mocked) started like
 * `startLedger`, but on a clock the test drives, so deadline rules can be walked through
 * days in milliseconds. Deadline sweeps run only before reads (LEDGER_COMPLIANCE_SWEEP_SECONDS=0),
 * so a violation opens exactly when the test next reads the registers. Pass `dataDir` (and the
 * same clock) to start it again on the files a closed one left.
 */
export interface ComplianceLedger extends TestLedger {
  readonly clock: TestClock;
}

export async function startComplianceLedger(options: { env?: Record<string, string>; clock?: TestClock; dataDir?: string } = {}): Promise<ComplianceLedger> {
  const clock = options.clock ?? new TestClock(new Date(), true);
  const ledger = await startLedger({
    dataDir: options.dataDir ?? mkdtempSync(join(tmpdir(), 'ledger-compliance-')),
    env: { LEDGER_COMPLIANCE_SWEEP_SECONDS: '0', ...options.env },
    clock: clock.now,
  });
  return Object.assign(ledger, { clock });
}

export interface ViolationsPage {
  readonly violations: Violation[];
  readonly nextCursor: string | null;
  readonly rules: Array<{ id: string; article: string; title: string }>;
}

/** GET with a bearer key and a query; fails with the body unless the answer is `status`. */
export async function getAs(ledger: TestLedger, key: string, path: string, query: Record<string, string> = {}, status = 200): Promise<Response> {
  const res = await ledger.http().get(path).set('authorization', `Bearer ${key}`).query(query);
  if (res.status !== status) throw new Error(`GET ${path} ${JSON.stringify(query)}: expected ${status}, got ${res.status}: ${res.text}`);
  return res;
}

/** Every violation matching the filters, following the cursor to the last page. */
export async function allViolations(ledger: TestLedger, key: string, query: Record<string, string> = {}): Promise<Violation[]> {
  const found: Violation[] = [];
  let cursor: string | null = null;
  do {
    const page: ViolationsPage = (await getAs(ledger, key, '/v1/violations', { ...query, limit: '100', ...(cursor ? { cursor } : {}) })).body as ViolationsPage;
    found.push(...page.violations);
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

/** The id the monitor gives a violation: rule, scope, scope id and the rule's key. */
export function violationId(rule: string, scope: 'subject' | 'breach', scopeId: string, key: string): string {
  return `${rule}:${scope}:${scopeId}:${key}`;
}
