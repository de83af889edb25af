// The benchmark workload: privacy events as the services in the privacy statement emit them.
// 1 subject per 10 events; ~45% PersonalDataAccessed (support agents with a ticket, analytics
// and device-diagnostics jobs), ~45% PersonalDataCollected (device cloud, app backend), ~10%
// PersonalDataDisclosed to processors; 3-5 categories, a purpose, a legal basis, a reason code
// and a ticket. 5% of collections carry personal values (an e-mail) that are encrypted.
// Subjects are drawn uniformly from all subjects, so a stream's events are spread over the
// whole run (the hard case for any per-stream index). Deterministic for a seed, except eventIds
// (random v4 UUIDs, as clients send them).
import { hash, randomUUID } from 'node:crypto';

/** mulberry32: small, fast, seeded. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUPPORT_CATEGORIES = [
  'user.contact.email', 'user.contact.phone_number', 'user.contact.address', 'user.account.username', 'user.name.first',
  'user.name.last', 'user.device.serial_number', 'user.device.product_uuid', 'user.device.firmware_version',
  'user.device.status', 'user.content.customer_service_record', 'user.behavior.device_log', 'user.device.ip_address',
];
const DEVICE_CATEGORIES = [
  'user.sensor.video', 'user.sensor.audio', 'user.sensor.still_image', 'user.sensor.motion', 'user.sensor.temperature',
  'user.sensor.humidity', 'user.device.mac_address', 'user.device.ip_address', 'user.device.serial_number',
  'user.device.firmware_version', 'user.device.hardware_info', 'user.location.product_location', 'user.device.scene_configuration',
  'user.device.automation_rule', 'user.behavior.security_system_log', 'user.behavior.scene_use_log',
];
const ACCESS_PROFILES = [
  { weight: 5, kind: 'employee', system: 'support-console', actors: 400, actorPrefix: 'agent', reasonCode: 'customer_initiated_support', purpose: 'essential.service.operations.support', legalBasis: 'contract', ticket: 'SUP' },
  { weight: 2, kind: 'service', system: 'analytics-pipeline', actors: 12, actorPrefix: 'job-analytics', reasonCode: 'analytics_job', purpose: 'analytics.reporting.system.performance', legalBasis: 'legitimate_interests', ticket: 'RUN' },
  { weight: 2, kind: 'service', system: 'device-cloud', actors: 30, actorPrefix: 'svc-diagnostics', reasonCode: 'device_diagnostics', purpose: 'essential.service.operations', legalBasis: 'contract', ticket: 'DIAG' },
  { weight: 1, kind: 'employee', system: 'security-console', actors: 25, actorPrefix: 'sec', reasonCode: 'security_review', purpose: 'essential.service.security', legalBasis: 'legitimate_interests', ticket: 'SEC' },
];
const PROCESSORS = [
  { id: 'proc-cloud-hosting', kind: 'processor', country: 'DE' },
  { id: 'proc-email-delivery', kind: 'processor', country: 'IE' },
  { id: 'proc-payment', kind: 'processor', country: 'NL' },
];

function pickWeighted(rand, profiles) {
  const total = profiles.reduce((s, p) => s + p.weight, 0);
  let r = rand() * total;
  for (const p of profiles) if ((r -= p.weight) < 0) return p;
  return profiles[profiles.length - 1];
}

function pickSome(rand, from, min, max) {
  const n = min + Math.floor(rand() * (max - min + 1));
  const out = new Set();
  while (out.size < n) out.add(from[Math.floor(rand() * from.length)]);
  return [...out];
}

export function subjectName(i) {
  return `cust-${String(i).padStart(7, '0')}`;
}

/**
 * Generates the workload. `next()` returns one event as a caller sends it over HTTP
 * (`{ eventId, type, occurredAt, subjectId, actor, data, pii?, metadata }`).
 */
export function createWorkload({ events, seed = 42, subjectsPerEvent = 0.1, startAt = Date.parse('2026-11-01T00:00:00Z') }) {
  const rand = prng(seed);
  const subjects = Math.max(1, Math.round(events * subjectsPerEvent));
  let i = 0;
  const next = () => {
    const subjectIndex = Math.floor(rand() * subjects);
    const subjectId = subjectName(subjectIndex);
    const occurredAt = new Date(startAt + i * 37).toISOString();
    i++;
    const r = rand();
    let event;
    if (r < 0.45) {
      const p = pickWeighted(rand, ACCESS_PROFILES);
      event = {
        eventId: randomUUID(),
        type: 'PersonalDataAccessed',
        occurredAt,
        subjectId,
        actor: { id: `${p.actorPrefix}-${Math.floor(rand() * p.actors)}`, kind: p.kind, system: p.system },
        data: {
          categories: pickSome(rand, SUPPORT_CATEGORIES, 3, 5),
          purpose: p.purpose,
          legalBasis: p.legalBasis,
          reasonCode: p.reasonCode,
          ticketRef: `${p.ticket}-${100000 + Math.floor(rand() * 900000)}`,
        },
        metadata: { correlationId: `corr-${(rand() * 2 ** 52).toString(36)}`, emitter: p.system },
      };
    } else if (r < 0.9) {
      const fromDevice = rand() < 0.8;
      event = {
        eventId: randomUUID(),
        type: 'PersonalDataCollected',
        occurredAt,
        subjectId,
        actor: fromDevice
          ? { id: `svc-ingest-${Math.floor(rand() * 16)}`, kind: 'service', system: 'device-cloud' }
          : { id: `svc-account-${Math.floor(rand() * 8)}`, kind: 'service', system: 'app-backend' },
        data: {
          categories: pickSome(rand, fromDevice ? DEVICE_CATEGORIES : SUPPORT_CATEGORIES, 3, 5),
          purpose: fromDevice ? 'essential.service.operations' : 'essential.service',
          legalBasis: 'contract',
          source: fromDevice ? 'device' : 'data_subject',
          ...(fromDevice ? { deviceId: `dev-${subjectIndex}-${Math.floor(rand() * 4)}` } : {}),
        },
        ...(fromDevice || rand() > 0.5 ? {} : { pii: { email: `person${subjectIndex}@example.invalid` } }),
        metadata: { correlationId: `corr-${(rand() * 2 ** 52).toString(36)}`, emitter: fromDevice ? 'device-cloud' : 'app-backend' },
      };
    } else {
      const recipient = PROCESSORS[Math.floor(rand() * PROCESSORS.length)];
      event = {
        eventId: randomUUID(),
        type: 'PersonalDataDisclosed',
        occurredAt,
        subjectId,
        actor: { id: 'svc-notifications', kind: 'service', system: 'app-backend' },
        data: {
          categories: pickSome(rand, SUPPORT_CATEGORIES, 3, 5),
          purpose: 'essential.service.notifications.email',
          legalBasis: 'contract',
          recipient,
          reasonCode: 'service_operation',
          ticketRef: `OPS-${100000 + Math.floor(rand() * 900000)}`,
        },
        metadata: { correlationId: `corr-${(rand() * 2 ** 52).toString(36)}`, emitter: 'app-backend' },
      };
    }
    return event;
  };
  return { next, subjects, generated: () => i };
}

/**
 * The store-level form of an event (what RecordEventsHandler hands to EventStore.append):
 * personal values sealed (AES-256-GCM, real cipher), a content digest. The digest is opaque
 * to the store (compared only when an eventId repeats), so a SHA-256 over the event id and type
 * stands in for the handler's canonical digest here; the handler's own cost is in the HTTP figures.
 */
export function toNewEvent(event, seal) {
  const { pii, ...rest } = event;
  const sealed = pii ? seal(event.eventId, event.subjectId, pii) : undefined;
  return {
    ...rest,
    ...(sealed === undefined ? {} : { pii: sealed }),
    contentDigest: hash('sha256', `${event.eventId}/${event.type}/${event.subjectId}`),
  };
}

/** Groups a batch of store events into one append (one request per run of the same stream). */
export function toAppendRequests(newEvents) {
  const requests = [];
  for (const e of newEvents) {
    const streamId = `subject-${e.subjectId}`;
    const last = requests[requests.length - 1];
    if (last && last.streamId === streamId) last.events.push(e);
    else requests.push({ streamId, expectedRevision: 'any', events: [e] });
  }
  return requests;
}

/**
 * The same workload for in-process ingest, cheap to generate so the figure measures the store:
 * 4096 event bodies are built once (categories, purposes, actors, tickets as above, personal
 * values sealed with AES-256-GCM), and every event takes one of them with its own random v4
 * eventId, its subject (uniform over all subjects) and its timestamp.
 */
export function createStoreWorkload({ events, seed = 42, subjectsPerEvent = 0.1, seal, startAt = Date.parse('2026-11-01T00:00:00Z') }) {
  const source = createWorkload({ events: 4096 * 10, seed: seed + 1 });
  const templates = Array.from({ length: 4096 }, () => {
    const e = source.next();
    const { eventId: _id, subjectId: _s, occurredAt: _t, pii, ...body } = e;
    return { body, pii };
  });
  const rand = prng(seed);
  const subjects = Math.max(1, Math.round(events * subjectsPerEvent));
  let i = 0;
  let occurredAt = '';
  /** One store event (NewEvent) of the workload. */
  const next = () => {
    const t = templates[i & 4095];
    const subjectId = subjectName(Math.floor(rand() * subjects));
    if ((i & 63) === 0) occurredAt = new Date(startAt + i * 37).toISOString();
    i++;
    const eventId = randomUUID();
    return {
      eventId,
      type: t.body.type,
      occurredAt,
      subjectId,
      // Fresh objects per event, as a parsed request body would be.
      actor: { ...t.body.actor },
      data: { ...t.body.data, categories: [...t.body.data.categories] },
      ...(t.pii ? { pii: seal(eventId, subjectId, t.pii) } : {}),
      metadata: { ...t.body.metadata },
      contentDigest: hash('sha256', eventId),
    };
  };
  return { next, subjects, generated: () => i };
}
