import { createHash } from 'node:crypto';

/**
 * A realistic story from the Immax NEO privacy statement (shared/reference/privacy-statement.txt),
 * as the events the services around the ledger would emit: the processing register, the
 * privacy notice, customers with phones, cameras and doorbells, recordings kept 30 days,
 * support staff with tickets, processors, an EEA transfer under SCCs, a legal order,
 * a consent withdrawal, an erasure request, a child's account and a breach.
 *
 * Event ids are derived from labels, so seeding twice records nothing new.
 */
export type DemoEvent = Record<string, unknown> & { eventId: string; type: string };

export function demoEventId(label: string): string {
  const h = createHash('sha256').update(`privacy-ledger-demo:${label}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const at = (day: number, time = '09:00:00') => `2026-10-${String(day).padStart(2, '0')}T${time}Z`;
const atNov = (day: number, time = '09:00:00') => `2026-11-${String(day).padStart(2, '0')}T${time}Z`;

const APP = { id: 'neo-app-backend', kind: 'service', system: 'neo-app' } as const;
const DEVICE_CLOUD = { id: 'device-cloud', kind: 'service', system: 'neo-device-cloud' } as const;
const ANALYTICS = { id: 'analytics-nightly', kind: 'service', system: 'analytics' } as const;
const MARKETING = { id: 'campaign-mailer', kind: 'service', system: 'marketing' } as const;
const DPO = { id: 'dpo-office', kind: 'dpo', system: 'privacy-office' } as const;
const SUPPORT_AGENT = { id: 'agent-17', kind: 'employee', system: 'support-console' } as const;
const SECURITY = { id: 'secops-3', kind: 'employee', system: 'security-console' } as const;
const LEGAL = { id: 'legal-desk-2', kind: 'employee', system: 'legal-case-tool' } as const;

const CLOUD_HOSTING = { id: 'proc-cloud-hosting-us', kind: 'processor', country: 'US' };
const PUSH_PROVIDER = { id: 'proc-push-notifications', kind: 'processor', country: 'IE' };
const POLICE = { id: 'authority-police-cz', kind: 'public_authority', country: 'CZ' };

export function demoStory(): DemoEvent[] {
  const events: DemoEvent[] = [];
  let n = 0;
  const add = (e: Omit<DemoEvent, 'eventId'>) => events.push({ eventId: demoEventId(`${n++}:${String(e['type'])}`), ...e } as DemoEvent);

  // ── Art. 30 processing register ──────────────────────────────────────────────
  const activity = (
    activityId: string,
    name: string,
    purpose: string,
    legalBasis: string,
    categories: string[],
    retention: Array<[string, string]>,
    recipients: object[] = [],
    transfers: object[] = [],
  ) =>
    add({
      type: 'ProcessingActivityRegistered',
      occurredAt: at(1, '08:00:00'),
      actor: DPO,
      data: {
        activityId,
        name,
        purpose,
        legalBasis,
        categories,
        dataSubjects: ['customer'],
        recipients,
        transfers,
        retention: retention.map(([category, period]) => ({ category, period })),
      },
    });
  activity('act-account', 'Creating and running the customer account', 'essential.service.account_creation', 'contract',
    ['user.name', 'user.contact.email', 'user.contact.phone_number', 'user.account.nickname', 'user.account.avatar', 'user.account.creation_timestamp', 'user.account.login_timestamp'],
    [['user.contact.email', 'until_account_termination'], ['user.name', 'until_account_termination']], [CLOUD_HOSTING],
    [{ country: 'US', mechanism: 'standard_contractual_clauses' }]);
  activity('act-login', 'Verifying identity and logging in', 'essential.service.authentication', 'contract',
    ['user.device.ip_address', 'user.device.imei', 'user.device.os_info', 'user.account.login_timestamp'], [['user.device.ip_address', 'P90D']]);
  activity('act-devices', 'Locating and diagnosing the products', 'essential.service.operations.diagnostics', 'contract',
    ['user.device.serial_number', 'user.device.mac_address', 'user.device.product_uuid', 'user.device.firmware_version', 'user.device.ip_address', 'user.device.imei', 'user.location.product_location'],
    [['user.device.ip_address', 'P90D']]);
  activity('act-recording', 'Video and audio recording (30-day plan)', 'essential.service.recording', 'contract',
    ['user.sensor.video', 'user.sensor.audio', 'user.sensor.still_image'], [['user.sensor.video', 'P30D'], ['user.sensor.audio', 'P30D']],
    [CLOUD_HOSTING], [{ country: 'US', mechanism: 'standard_contractual_clauses' }]);
  activity('act-motion', 'Motion detection', 'essential.service.event_detection', 'contract',
    ['user.sensor.motion', 'user.sensor.still_image'], [['user.sensor.motion', 'PT10S']]);
  activity('act-alerts', 'Sending alerts with a snapshot', 'essential.service.notifications', 'contract',
    ['user.sensor.still_image'], [], [PUSH_PROVIDER]);
  activity('act-support', 'Customer service', 'essential.service.operations.support', 'contract',
    ['user.contact.email', 'user.contact.phone_number', 'user.content.customer_service_record', 'user.device.serial_number', 'user.device.firmware_version', 'user.sensor.video'],
    [['user.content.customer_service_record', 'P2Y']]);
  activity('act-improve', 'Improving the user experience', 'essential.service.operations.improve', 'legitimate_interests',
    ['user.device.firmware_version', 'user.device.status'], []);
  activity('act-marketing', 'Promotional e-mails', 'marketing.communications.email', 'consent', ['user.contact.email', 'user.name'],
    [['user.contact.email', 'until_account_termination']]);
  activity('act-legal', 'Orders of courts and government agencies', 'third_party_sharing.legal_obligation', 'legal_obligation',
    ['user.contact.email', 'user.sensor.video', 'user.behavior.login_log'], [], [POLICE]);

  add({
    type: 'PrivacyNoticePublished',
    occurredAt: at(1, '08:30:00'),
    actor: DPO,
    data: { version: '2018-08-01', effectiveFrom: '2018-08-01T00:00:00Z', documentDigest: createHash('sha256').update('Privacy Statement for Immax NEO Services').digest('hex') },
  });

  // ── cust-1001: a customer with a phone, a camera and a doorbell ──────────────
  const alice = 'cust-1001';
  add({
    type: 'PersonalDataCollected', occurredAt: at(2), subjectId: alice, actor: APP,
    data: { categories: ['user.name', 'user.contact.email', 'user.account.nickname', 'user.account.creation_timestamp'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' },
    pii: { name: 'Alice Example', email: 'alice@example.org' },
  });
  add({ type: 'PrivacyNoticeAcknowledged', occurredAt: at(2, '09:01:00'), subjectId: alice, actor: APP, data: { version: '2018-08-01' } });
  add({
    type: 'PersonalDataCollected', occurredAt: at(2, '09:05:00'), subjectId: alice, actor: APP,
    data: { categories: ['user.device.ip_address', 'user.device.imei', 'user.device.os_info', 'user.account.login_timestamp'], purpose: 'essential.service.authentication', legalBasis: 'contract', source: 'device', deviceId: 'phone-88a1' },
  });
  for (const [device, day] of [['cam-4411', 3], ['doorbell-7302', 4]] as const) {
    add({
      type: 'PersonalDataCollected', occurredAt: at(day), subjectId: alice, actor: DEVICE_CLOUD,
      data: { categories: ['user.device.serial_number', 'user.device.mac_address', 'user.device.product_uuid', 'user.device.firmware_version', 'user.location.product_location'], purpose: 'essential.service.operations.diagnostics', legalBasis: 'contract', source: 'device', deviceId: device, processingActivityId: 'act-devices' },
    });
  }
  add({
    type: 'PersonalDataCollected', occurredAt: at(5, '18:42:10'), subjectId: alice, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.video', 'user.sensor.audio'], purpose: 'essential.service.recording', legalBasis: 'contract', source: 'device', deviceId: 'doorbell-7302', processingActivityId: 'act-recording' },
  });
  add({
    type: 'PersonalDataCollected', occurredAt: at(5, '18:42:11'), subjectId: alice, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.motion', 'user.sensor.still_image'], purpose: 'essential.service.event_detection', legalBasis: 'contract', source: 'device', deviceId: 'doorbell-7302', processingActivityId: 'act-motion' },
  });
  add({
    type: 'PersonalDataDisclosed', occurredAt: at(5, '18:42:12'), subjectId: alice, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.still_image'], purpose: 'essential.service.notifications', legalBasis: 'contract', recipient: PUSH_PROVIDER, processingActivityId: 'act-alerts' },
  });
  add({
    type: 'PersonalDataErased', occurredAt: at(5, '18:42:16'), subjectId: alice, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.motion'], reason: 'retention_expired' },
  });
  add({
    type: 'PersonalDataTransferred', occurredAt: at(5, '18:43:00'), subjectId: alice, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.video', 'user.sensor.audio'], purpose: 'essential.service.recording', legalBasis: 'contract', recipient: CLOUD_HOSTING, destinationCountry: 'US', mechanism: 'standard_contractual_clauses', processingActivityId: 'act-recording' },
  });
  add({
    type: 'ConsentGranted', occurredAt: at(6), subjectId: alice, actor: APP,
    data: { purposes: ['marketing.communications.email'], method: 'in_app', noticeVersion: '2018-08-01' },
  });
  add({
    type: 'PersonalDataAccessed', occurredAt: at(8, '07:00:00'), subjectId: alice, actor: MARKETING,
    data: { categories: ['user.contact.email', 'user.name'], purpose: 'marketing.communications.email', legalBasis: 'consent', reasonCode: 'marketing_campaign', processingActivityId: 'act-marketing' },
  });
  add({
    type: 'PersonalDataAccessed', occurredAt: at(12, '14:20:00'), subjectId: alice, actor: SUPPORT_AGENT,
    data: { categories: ['user.contact.email', 'user.device.serial_number', 'user.device.firmware_version'], purpose: 'essential.service.operations.support', legalBasis: 'contract', reasonCode: 'customer_initiated_support', ticketRef: 'SUP-1042', processingActivityId: 'act-support' },
  });
  add({
    type: 'PersonalDataAccessed', occurredAt: at(12, '14:25:00'), subjectId: alice, actor: SUPPORT_AGENT,
    data: { categories: ['user.sensor.video'], purpose: 'essential.service.operations.support', legalBasis: 'contract', reasonCode: 'customer_initiated_support', ticketRef: 'SUP-1042', justification: 'customer asked why the doorbell clip was missing audio' },
  });
  add({
    type: 'PersonalDataAccessed', occurredAt: at(20, '22:10:00'), subjectId: alice, actor: ANALYTICS,
    data: { categories: ['user.device.firmware_version', 'user.device.status'], purpose: 'essential.service.operations.improve', legalBasis: 'legitimate_interests', reasonCode: 'analytics_job', processingActivityId: 'act-improve' },
  });
  add({
    type: 'PersonalDataAccessed', occurredAt: at(22, '10:00:00'), subjectId: alice, actor: LEGAL,
    data: { categories: ['user.sensor.video', 'user.behavior.login_log'], purpose: 'third_party_sharing.legal_obligation', legalBasis: 'legal_obligation', reasonCode: 'third_party_legal_request', ticketRef: 'LEGAL-2026-17' },
  });
  add({
    type: 'PersonalDataDisclosed', occurredAt: at(22, '11:30:00'), subjectId: alice, actor: LEGAL,
    data: { categories: ['user.sensor.video', 'user.behavior.login_log'], purpose: 'third_party_sharing.legal_obligation', legalBasis: 'legal_obligation', recipient: POLICE, reasonCode: 'third_party_legal_request', legalReference: 'District court order 12 T 345/2026', ticketRef: 'LEGAL-2026-17', processingActivityId: 'act-legal' },
  });
  add({
    type: 'SubjectRequestReceived', occurredAt: atNov(2), subjectId: alice, actor: DPO,
    data: { requestId: 'req-2026-0031', right: 'consent_withdrawal', channel: 'in_app', purposes: ['marketing.communications.email'] },
  });
  add({ type: 'ConsentWithdrawn', occurredAt: atNov(2, '09:01:00'), subjectId: alice, actor: APP, data: { purposes: ['marketing.communications.email'], requestId: 'req-2026-0031' } });
  add({ type: 'SubjectRequestIdentityVerified', occurredAt: atNov(2, '09:02:00'), subjectId: alice, actor: DPO, data: { requestId: 'req-2026-0031', method: 'account_login' } });
  add({ type: 'SubjectRequestFulfilled', occurredAt: atNov(2, '09:03:00'), subjectId: alice, actor: DPO, data: { requestId: 'req-2026-0031', outcome: 'marketing e-mails stopped' } });
  add({
    type: 'PersonalDataErased', occurredAt: atNov(4, '18:42:05'), subjectId: alice, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.video', 'user.sensor.audio'], reason: 'retention_expired' },
  });
  // A campaign run from a stale list after the withdrawal: recorded, and flagged (Art. 7(3)).
  add({
    type: 'PersonalDataAccessed', occurredAt: atNov(9, '07:00:00'), subjectId: alice, actor: MARKETING,
    data: { categories: ['user.contact.email'], purpose: 'marketing.communications.email', legalBasis: 'consent', reasonCode: 'marketing_campaign', processingActivityId: 'act-marketing' },
  });
  add({
    type: 'SubjectRequestReceived', occurredAt: atNov(10), subjectId: alice, actor: DPO,
    data: { requestId: 'req-2026-0044', right: 'access', channel: 'email' },
  });
  add({ type: 'SubjectRequestIdentityVerified', occurredAt: atNov(11), subjectId: alice, actor: DPO, data: { requestId: 'req-2026-0044', method: 'email_confirmation' } });

  // ── cust-1002: erasure request, and affected by the breach ───────────────────
  const bob = 'cust-1002';
  add({
    type: 'PersonalDataCollected', occurredAt: at(3), subjectId: bob, actor: APP,
    data: { categories: ['user.name', 'user.contact.email', 'user.contact.phone_number'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' },
    pii: { name: 'Bob Sample', email: 'bob@example.net', phone: '+420 600 000 000' },
  });
  add({
    type: 'PersonalDataCollected', occurredAt: at(9), subjectId: bob, actor: DEVICE_CLOUD,
    data: { categories: ['user.sensor.video'], purpose: 'essential.service.recording', legalBasis: 'contract', source: 'device', deviceId: 'cam-5120', processingActivityId: 'act-recording' },
  });
  // An analytics export to a vendor in a country without adequacy, with no safeguard and no
  // entry in the register: recorded as evidence and flagged (Art. 44-46, Art. 30(1)(d)).
  add({
    type: 'PersonalDataTransferred', occurredAt: at(18, '02:00:00'), subjectId: bob, actor: ANALYTICS,
    data: { categories: ['user.device.firmware_version'], purpose: 'essential.service.operations.improve', legalBasis: 'legitimate_interests', recipient: { id: 'vendor-telemetry-cn', kind: 'processor', country: 'CN' }, destinationCountry: 'CN', mechanism: 'none' },
  });
  add({ type: 'SubjectAffectedByBreach', occurredAt: at(27, '16:00:00'), subjectId: bob, actor: SECURITY, data: { breachId: 'br-2026-007', categories: ['user.contact.email', 'user.contact.phone_number'] } });
  add({ type: 'SubjectRequestReceived', occurredAt: atNov(5), subjectId: bob, actor: DPO, data: { requestId: 'req-2026-0039', right: 'erasure', channel: 'email' } });
  add({ type: 'SubjectRequestIdentityVerified', occurredAt: atNov(6), subjectId: bob, actor: DPO, data: { requestId: 'req-2026-0039', method: 'document_check' } });

  // ── cust-1003: a child under 16 (the statement does not allow their accounts) ─
  const carla = 'cust-1003';
  add({
    type: 'PersonalDataCollected', occurredAt: at(14), subjectId: carla, actor: APP,
    data: { categories: ['user.contact.email', 'user.account.nickname'], purpose: 'essential.service.account_creation', legalBasis: 'contract', source: 'data_subject', processingActivityId: 'act-account' },
  });
  add({ type: 'SubjectAgeFlagged', occurredAt: at(15), subjectId: carla, actor: SUPPORT_AGENT, data: { minimumAge: 16, evidence: 'parent_report' } });

  // ── a breach: credentials store exposed (Art. 33-34) ─────────────────────────
  const breachId = 'br-2026-007';
  add({
    type: 'BreachDetected', occurredAt: at(27, '15:00:00'), actor: SECURITY,
    data: { breachId, awareAt: at(27, '15:00:00'), nature: ['confidentiality'], categories: ['user.contact.email', 'user.contact.phone_number'], approximateSubjects: 1200, description: 'support export file readable from a misconfigured storage bucket' },
  });
  add({ type: 'BreachAssessed', occurredAt: at(28), actor: DPO, data: { breachId, risk: 'high_risk', rationale: 'contact data usable for phishing of device owners' } });
  add({ type: 'BreachReportedToAuthority', occurredAt: at(29, '10:00:00'), actor: DPO, data: { breachId, authority: 'CZ-UOOU', reportRef: 'UOOU-2026-5531' } });
  add({ type: 'BreachSubjectsNotified', occurredAt: atNov(1), actor: DPO, data: { breachId, channel: 'email', subjectsNotified: 1200 } });

  return events;
}
