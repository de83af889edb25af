import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Violation } from '../../src/compliance/compliance-monitor.js';
import { signAlert, type Delivery } from '../../src/compliance/webhook-alerts.js';
import { ConfigError, loadConfig } from '../../src/config/ledger-config.js';
import { TestClock } from '../support/compliance-clock.js';
import { getAs, startComplianceLedger, violationId, type ComplianceLedger } from '../support/compliance-app.js';
import type { EventBody } from '../support/example-events.js';
import { appendEvent, type ReceiptBody } from '../support/ledger-http.js';

/*
 * Alerts: each newly opened violation is POSTed to every configured webhook from an outbox,
 * signed (HMAC-SHA256 over `<timestamp>.<body>`), retried with exponential backoff, and its
 * delivery state is visible to auditors. The receivers are real HTTP servers on 127.0.0.1:
 * `/primary` answers by the violation's subject (ok, flaky: 500 twice then 200, down: always
 * 500, restart: 500 until the test brings it up), `/secondary` always accepts.
 */

const SECRET = 'whsec-test-0123456789abcdef';
const BASE_DELAY_MS = 50;
const MAX_ATTEMPTS = 8;
const CN_VENDOR = { id: 'vendor-telemetry-cn', kind: 'processor', country: 'CN' };
const IMPROVE = 'essential.service.operations.improve';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly answered: number;
  readonly violationId: string;
}

interface OpenedAlert {
  readonly type: string;
  readonly violation: Violation;
}

function header(r: Received, name: string): string {
  const value = r.headers[name];
  if (typeof value !== 'string') throw new Error(`no ${name} header`);
  return value;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webhook alerts for newly opened violations', () => {
  let receiver: Server;
  let base: string;
  const received: Received[] = [];
  let restartReceiverUp = false;
  let ledger: ComplianceLedger;
  let emitter: string;
  let auditor: string;
  const clock = new TestClock(new Date(), true);
  /** Violation ids by subject, as the tests open them. */
  const openedFor = new Map<string, string>();

  function primaryStatus(subjectId: string, deliveryId: string): number {
    const before = received.filter((r) => r.path === '/primary' && r.headers['x-ledger-delivery'] === deliveryId).length;
    if (subjectId.startsWith('hook-flaky')) return before < 2 ? 500 : 200;
    if (subjectId.startsWith('hook-down')) return 500;
    if (subjectId.startsWith('hook-restart')) return restartReceiverUp ? 200 : 500;
    return 200;
  }

  function env(): Record<string, string> {
    return { LEDGER_WEBHOOK_URLS: `${base}/primary, ${base}/secondary`, LEDGER_WEBHOOK_SECRET: SECRET, LEDGER_WEBHOOK_BASE_DELAY_MS: String(BASE_DELAY_MS) };
  }

  /** Records a transfer to China with no safeguard: exactly one violation (the vendor is registered). */
  async function openViolation(subjectId: string): Promise<string> {
    const event: EventBody = {
      eventId: randomUUID(),
      type: 'PersonalDataTransferred',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      subjectId,
      actor: { id: 'analytics-nightly', kind: 'service', system: 'analytics' },
      data: { categories: ['user.device.firmware_version'], purpose: IMPROVE, legalBasis: 'legitimate_interests', recipient: CN_VENDOR, destinationCountry: 'CN', mechanism: 'none' },
    };
    const res = await appendEvent(ledger, emitter, event);
    if (res.status !== 201) throw new Error(`transfer refused: ${res.status} ${res.text}`);
    const id = violationId('transfer-without-safeguard', 'subject', subjectId, (res.body as ReceiptBody).eventId);
    openedFor.set(subjectId, id);
    return id;
  }

  const requestsFor = (id: string, path = '/primary') => received.filter((r) => r.violationId === id && r.path === path);

  async function deliveries(): Promise<Delivery[]> {
    const res = await getAs(ledger, auditor, '/v1/alerts/deliveries');
    expect((res.body as { webhooks: boolean }).webhooks).toBe(true);
    return (res.body as { deliveries: Delivery[] }).deliveries;
  }

  async function deliveryOf(id: string, path = '/primary'): Promise<Delivery | undefined> {
    return (await deliveries()).find((d) => d.violationId === id && d.url === `${base}${path}`);
  }

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        let alert: OpenedAlert | null = null;
        try {
          alert = JSON.parse(body) as OpenedAlert;
        } catch {
          alert = null;
        }
        const status = path === '/primary' && alert ? primaryStatus(alert.violation.scopeId, String(req.headers['x-ledger-delivery'])) : 200;
        received.push({ path, headers: req.headers, body, answered: status, violationId: alert?.violation.id ?? '' });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'receiver failing');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    ledger = await startComplianceLedger({ clock, env: env() });
    [emitter, auditor] = await Promise.all([ledger.key('emitter'), ledger.key('auditor')]);
    const res = await appendEvent(ledger, emitter, {
      eventId: randomUUID(),
      type: 'ProcessingActivityRegistered',
      occurredAt: new Date(Date.now() - 3_600_000).toISOString(),
      actor: { id: 'dpo-office', kind: 'dpo', system: 'privacy-office' },
      data: { activityId: 'act-improve', name: 'Improving the service', purpose: IMPROVE, legalBasis: 'legitimate_interests', categories: ['user.device.firmware_version'], dataSubjects: ['customer'], recipients: [CN_VENDOR], transfers: [], retention: [] },
    });
    if (res.status !== 201) throw new Error(`register refused: ${res.text}`);
  });

  afterAll(async () => {
    await ledger.destroy();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('delivers a newly opened violation to every webhook, signed so the receiver can check it, and shows it delivered', async () => {
    const id = await openViolation('hook-ok-1');

    const [primary] = await until('the primary delivery', () => (requestsFor(id).length > 0 ? requestsFor(id) : undefined));
    const [secondary] = await until('the secondary delivery', () => (requestsFor(id, '/secondary').length > 0 ? requestsFor(id, '/secondary') : undefined));

    for (const r of [primary!, secondary!]) {
      const timestamp = header(r, 'x-ledger-timestamp');
      expect(new Date(timestamp).toISOString()).toBe(timestamp);
      expect(header(r, 'x-ledger-signature')).toBe(signAlert(SECRET, timestamp, r.body));
      expect(header(r, 'x-ledger-signature')).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(header(r, 'x-ledger-signature')).not.toBe(signAlert('another-secret-0123456789', timestamp, r.body));
      expect(header(r, 'x-ledger-signature')).not.toBe(signAlert(SECRET, timestamp, r.body.replace('hook-ok-1', 'hook-ok-2')));
      expect(header(r, 'content-type')).toMatch(/^application\/json/);
      const alert = JSON.parse(r.body) as OpenedAlert;
      expect(alert.type).toBe('violation.opened');
      expect(alert.violation).toMatchObject({ id, rule: 'transfer-without-safeguard', article: 'Art. 44-46', scope: 'subject', scopeId: 'hook-ok-1', status: 'open' });
      expect(alert.violation.evidence).toEqual([{ eventId: id.split(':').pop(), globalPosition: expect.any(Number) }]);
    }
    expect(header(primary!, 'x-ledger-delivery')).not.toBe(header(secondary!, 'x-ledger-delivery'));

    const state = await until('both deliveries recorded as delivered', async () => {
      const mine = (await deliveries()).filter((d) => d.violationId === id);
      return mine.length === 2 && mine.every((d) => d.status === 'delivered') ? mine : undefined;
    });
    expect(state.map((d) => [d.url, d.status, d.attempts, d.lastError, d.nextAttemptAt]).sort()).toEqual([
      [`${base}/primary`, 'delivered', 1, null, null],
      [`${base}/secondary`, 'delivered', 1, null, null],
    ]);
    expect(state.find((d) => d.url.endsWith('/primary'))!.id).toBe(header(primary!, 'x-ledger-delivery'));
    expect(state.every((d) => d.deliveredAt !== null)).toBe(true);

    const view = (await getAs(ledger, auditor, `/v1/violations/${encodeURIComponent(id)}`)).body as Violation & { deliveries: Delivery[] };
    expect(view.deliveries.map((d) => [d.url, d.status, d.attempts])).toEqual([
      [`${base}/primary`, 'delivered', 1],
      [`${base}/secondary`, 'delivered', 1],
    ]);
  });

  it('a receiver that fails twice (HTTP 500) gets it on the third attempt, after growing delays; the state shows delivered after 3 attempts', async () => {
    const id = await openViolation('hook-flaky-1');

    const attempts = await until('three attempts on the flaky receiver', () => (requestsFor(id).length >= 3 ? requestsFor(id) : undefined));
    const primary = await until('the delivery recorded as delivered', async () => {
      const d = await deliveryOf(id);
      return d?.status === 'delivered' ? d : undefined;
    });

    expect(attempts.map((a) => a.answered)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((a) => header(a, 'x-ledger-delivery')))).toEqual(new Set([primary.id]));
    const times = attempts.map((a) => new Date(header(a, 'x-ledger-timestamp')).getTime());
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(BASE_DELAY_MS);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(2 * BASE_DELAY_MS);
    for (const a of attempts) expect(header(a, 'x-ledger-signature')).toBe(signAlert(SECRET, header(a, 'x-ledger-timestamp'), a.body));
    expect(primary).toMatchObject({ status: 'delivered', attempts: 3, lastError: null, nextAttemptAt: null });

    const view = (await getAs(ledger, auditor, `/v1/violations/${encodeURIComponent(id)}`)).body as Violation & { deliveries: Delivery[] };
    expect(view.deliveries.map((d) => [d.url, d.status, d.attempts])).toEqual([
      [`${base}/primary`, 'delivered', 3],
      [`${base}/secondary`, 'delivered', 1],
    ]);
  });

  it(`a receiver that always fails is retried with doubling delays and ends 'failed' after ${MAX_ATTEMPTS} attempts; the other webhook is not held up`, async () => {
    const id = await openViolation('hook-down-1');
    const delays: number[] = [];

    for (let n = 1; n <= MAX_ATTEMPTS; n++) {
      const attempt = await until(`attempt ${n}`, () => requestsFor(id)[n - 1]);
      const state = await until(`the state after attempt ${n}`, async () => {
        const d = await deliveryOf(id);
        return d && d.attempts === n ? d : undefined;
      });
      expect(state.lastError).toBe('HTTP 500');
      if (n < MAX_ATTEMPTS) {
        expect(state.status).toBe('pending');
        delays.push(new Date(state.nextAttemptAt!).getTime() - new Date(header(attempt, 'x-ledger-timestamp')).getTime());
        // Skip the wait: the next attempt is due at the next poll.
        clock.advance(60_000);
      } else {
        expect(state).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, nextAttemptAt: null, deliveredAt: null });
      }
    }

    // nextAttemptAt = attempt time + 50 ms * 2^(n-1), plus the time the failed request took.
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(BASE_DELAY_MS * 2 ** i);
      expect(delay).toBeLessThan(BASE_DELAY_MS * 2 ** i + 250);
    });
    clock.advance(3_600_000);
    await new Promise((r) => setTimeout(r, 1100));
    expect(requestsFor(id)).toHaveLength(MAX_ATTEMPTS);
    expect(await deliveryOf(id, '/secondary')).toMatchObject({ status: 'delivered', attempts: 1 });
  }, 20_000);

  it('a delivered violation is not delivered again, even when its subject is evaluated again', async () => {
    const okId = openedFor.get('hook-ok-1')!;
    const flaky = openedFor.get('hook-flaky-1')!;

    // Reading the violations records reads on these subjects: their scopes are evaluated again.
    await getAs(ledger, auditor, '/v1/violations', { subjectId: 'hook-ok-1' });
    await getAs(ledger, auditor, '/v1/violations', { subjectId: 'hook-flaky-1' });
    clock.advance(3_600_000);
    await new Promise((r) => setTimeout(r, 1200));

    expect(requestsFor(okId)).toHaveLength(1);
    expect(requestsFor(okId, '/secondary')).toHaveLength(1);
    expect(requestsFor(flaky)).toHaveLength(3);
    expect((await deliveries()).filter((d) => d.violationId === okId || d.violationId === flaky)).toHaveLength(4);
  });

  it('pending deliveries survive a restart of the service and are delivered afterwards, once', async () => {
    const id = await openViolation('hook-restart-1');
    await until('a first failed attempt', () => (requestsFor(id).length >= 1 ? true : undefined));
    await until('the failure recorded', async () => ((await deliveryOf(id))?.attempts === 1 ? true : undefined));
    const firstDeliveryId = header(requestsFor(id)[0]!, 'x-ledger-delivery');

    await ledger.close();
    restartReceiverUp = true;
    ledger = await startComplianceLedger({ clock, env: env(), dataDir: ledger.dataDir });
    auditor = await ledger.key('auditor');
    clock.advance(60_000);

    const delivered = await until('the delivery after the restart', async () => {
      const d = await deliveryOf(id);
      return d?.status === 'delivered' ? d : undefined;
    });
    // Failed attempts before the restart (one, or more if a retry slipped in before the close), then exactly one success after it.
    const attempts = requestsFor(id);
    expect(attempts.map((r) => r.answered)).toEqual([...attempts.slice(0, -1).map(() => 500), 200]);
    expect(new Set(attempts.map((r) => header(r, 'x-ledger-delivery')))).toEqual(new Set([firstDeliveryId]));
    expect(delivered).toMatchObject({ id: firstDeliveryId, attempts: attempts.length, lastError: null });
    await new Promise((r) => setTimeout(r, 600));
    expect(requestsFor(id)).toHaveLength(attempts.length);
    expect((await deliveries()).filter((d) => d.violationId === id)).toHaveLength(2);
  });

  describe('configuration', () => {
    it('LEDGER_WEBHOOK_URLS without a secret is refused, naming LEDGER_WEBHOOK_SECRET', () => {
      let error: unknown;
      try {
        loadConfig({ LEDGER_DATA_DIR: '/tmp/unused', LEDGER_WEBHOOK_URLS: 'https://alerts.example.org/ledger' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('LEDGER_WEBHOOK_SECRET');
      expect((error as ConfigError).message).toMatch(/^LEDGER_WEBHOOK_SECRET: /);
    });

    it('a secret shorter than 16 characters is refused too', () => {
      expect(() => loadConfig({ LEDGER_WEBHOOK_URLS: 'https://alerts.example.org/ledger', LEDGER_WEBHOOK_SECRET: 'short' })).toThrow(/LEDGER_WEBHOOK_SECRET/);
    });

    it.each(['ftp://alerts.example.org/drop', 'alerts.example.org', 'https://ok.example.org, file:///etc/passwd'])('a non-http(s) URL (%s) is refused, naming LEDGER_WEBHOOK_URLS', (urls) => {
      let error: unknown;
      try {
        loadConfig({ LEDGER_WEBHOOK_URLS: urls, LEDGER_WEBHOOK_SECRET: SECRET });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('LEDGER_WEBHOOK_URLS');
    });

    it('a valid list is read with its base delay; without URLs alerts are off', () => {
      const config = loadConfig({ LEDGER_WEBHOOK_URLS: 'https://a.example.org/x, http://127.0.0.1:9/y', LEDGER_WEBHOOK_SECRET: SECRET, LEDGER_WEBHOOK_BASE_DELAY_MS: '250' });
      expect(config).toMatchObject({ webhookUrls: ['https://a.example.org/x', 'http://127.0.0.1:9/y'], webhookSecret: SECRET, webhookBaseDelayMs: 250 });
      expect(loadConfig({}).webhookUrls).toEqual([]);
    });
  });
});
