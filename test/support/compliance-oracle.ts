import type { Violation } from '../../src/compliance/compliance-monitor.js';
import {
  addDuration,
  covers,
  evidenceOf,
  hoursAfter,
  isAccountabilityPurpose,
  processingFacts,
  type EvidenceRef,
  type Finding,
  type MonitorConfig,
  type Register,
  type ScopeEvent,
} from '../../src/compliance/rule.js';
import type { StoredEvent } from '../../src/event-store/event-store.port.js';
import type { LedgerEvent, ProcessingActivityRegistered } from '../../src/ledger/domain/events.js';
import { addCalendarMonths } from '../../src/ledger/domain/workflow.js';
import { REGISTER_STREAM, subjectStream } from '../../src/ledger/domain/streams.js';

/**
 * The oracle for the incremental compliance monitor: the twelve rules as they were written
 * before they became folds — each a function of a scope's WHOLE history (the register as it
 * stood at each event, and the time) — and the monitor that re-evaluated every touched scope
 * from scratch on each batch and on each sweep. It is slow by design (cost grows with
 * history) and kept only so a property test can check that the incremental monitor opens and
 * resolves exactly what a from-scratch evaluation of the same history does.
 *
 * The rule bodies are the ones of commit 212bd1b (src/compliance/rules/*.ts), unchanged but for
 * their names; the monitor keeps the semantics of that commit's ComplianceMonitor (a violation
 * is stored once by id, cured by a finding's resolution, superseded when the rule stops finding
 * it, never reopened; a scope's next deadline decides when a sweep re-evaluates it).
 */

export interface RuleContext {
  readonly scopeId: string;
  readonly events: readonly ScopeEvent[];
  /** The register as it stood just before the given global position. */
  registerAt(globalPosition: number): Register;
  readonly now: Date;
  readonly config: MonitorConfig;
}

export interface OracleRule {
  readonly id: string;
  readonly article: string;
  readonly title: string;
  readonly scope: 'subject' | 'breach';
  evaluate(ctx: RuleContext): Finding[];
  /** Earliest future moment at which this rule could open a new violation without a new event. */
  nextDeadline?(ctx: RuleContext): string | null;
}

// ── purpose-limitation

/**
 * Purpose limitation — GDPR Art. 5(1)(b): personal data is processed only for the purposes it
 * was collected and registered for. A category processed for a purpose that no activity of
 * the register (as it stood at that moment) names for that category is a violation. A later
 * registration does not cure processing that already happened.
 */
const purposeLimitationOracle: OracleRule = {
  id: 'purpose-limitation',
  article: 'Art. 5(1)(b)',
  title: 'Category processed for a purpose not registered for it',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const e of ctx.events) {
      const facts = processingFacts(e.event);
      if (!facts || isAccountabilityPurpose(facts.purpose)) continue;
      const register = [...ctx.registerAt(e.globalPosition).values()];
      const unregistered = facts.categories.filter(
        (category) => !register.some((a) => covers(a.purpose, facts.purpose) && a.categories.some((c) => covers(c, category))),
      );
      if (unregistered.length === 0) continue;
      findings.push({
        key: e.event.eventId,
        openedAt: e.event.occurredAt,
        evidence: [evidenceOf(e)],
        detail: `${unregistered.join(', ')} processed for ${facts.purpose}, which the register does not name for ${unregistered.length > 1 ? 'them' : 'it'}`,
      });
    }
    return findings;
  },
};
// ── consent-missing

/**
 * No legal basis — GDPR Art. 6(1)(a): processing for a purpose that rests on consent needs the
 * subject's consent in force at that moment (granted, and not withdrawn since). Processing
 * after a withdrawal is the separate rule of Art. 7(3).
 */
const consentMissingOracle: OracleRule = {
  id: 'consent-missing',
  article: 'Art. 6(1)(a)',
  title: 'Consent-based purpose processed without consent in force',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    const everGranted = new Set<string>();
    const inForce = new Set<string>();
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'ConsentGranted') {
        for (const p of event.data.purposes) {
          everGranted.add(p);
          inForce.add(p);
        }
      }
      if (event.type === 'ConsentWithdrawn') for (const p of event.data.purposes) inForce.delete(p);
      const facts = processingFacts(event);
      if (!facts) continue;
      const needsConsent = facts.legalBasis === 'consent' || ctx.config.consentPurposes.has(facts.purpose);
      // Withdrawn consent is Art. 7(3)'s rule; this one is for consent never given.
      if (needsConsent && !inForce.has(facts.purpose) && !everGranted.has(facts.purpose)) {
        findings.push({
          key: event.eventId,
          openedAt: event.occurredAt,
          evidence: [evidenceOf(e)],
          detail: `${facts.purpose} rests on consent and the subject never gave it`,
        });
      }
    }
    return findings;
  },
};
// ── processing-after-consent-withdrawal

/**
 * Withdrawal of consent — GDPR Art. 7(3): once the subject withdraws consent for a purpose,
 * processing for that purpose stops (until consent is given again).
 */
const processingAfterConsentWithdrawalOracle: OracleRule = {
  id: 'processing-after-consent-withdrawal',
  article: 'Art. 7(3)',
  title: 'Processing for a purpose after its consent was withdrawn',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    // Taxonomy purposes are hierarchical: withdrawing `marketing` withdraws `marketing.communications.email`.
    const consentChanges: Array<{ purpose: string; granted: boolean; evidence: EvidenceRef }> = [];
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'ConsentWithdrawn') for (const p of event.data.purposes) consentChanges.push({ purpose: p, granted: false, evidence: evidenceOf(e) });
      if (event.type === 'ConsentGranted') for (const p of event.data.purposes) consentChanges.push({ purpose: p, granted: true, evidence: evidenceOf(e) });
      const facts = processingFacts(event);
      const latest = facts ? consentChanges.filter((c) => covers(c.purpose, facts.purpose)).at(-1) : undefined;
      const withdrawal = latest && !latest.granted ? latest.evidence : undefined;
      if (facts && withdrawal) {
        findings.push({
          key: event.eventId,
          openedAt: event.occurredAt,
          evidence: [withdrawal, evidenceOf(e)],
          detail: `${facts.purpose} processed after the subject withdrew consent for it`,
        });
      }
    }
    return findings;
  },
};
// ── processing-while-restricted

/**
 * Restriction — GDPR Art. 18(2): while processing is restricted, personal data is only stored,
 * apart from the exceptions of Art. 18(2) (legal claims, legal obligations; and the ledger's
 * own accountability reads). Restriction may name purposes; without them it covers all.
 */
const processingWhileRestrictedOracle: OracleRule = {
  id: 'processing-while-restricted',
  article: 'Art. 18(2)',
  title: 'Processing other than storage while processing is restricted',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    let restriction: { evidence: EvidenceRef; purposes: readonly string[] | null } | null = null;
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'ProcessingRestricted') restriction = { evidence: evidenceOf(e), purposes: event.data.purposes ?? null };
      if (event.type === 'ProcessingRestrictionLifted') restriction = null;
      const facts = processingFacts(event);
      if (!facts || !restriction || isAccountabilityPurpose(facts.purpose)) continue;
      if (restriction.purposes && !restriction.purposes.some((p) => covers(p, facts.purpose))) continue;
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [restriction.evidence, evidenceOf(e)],
        detail: `${event.type} for ${facts.purpose} while processing was restricted`,
      });
    }
    return findings;
  },
};
// ── processing-after-erasure

/**
 * Right to erasure — GDPR Art. 17: after a subject's data was erased or their key shredded,
 * no further processing of their personal data (the ledger's own accountability record and
 * legal obligations excepted, Art. 17(3)(b),(e)). Recorded as evidence, never refused.
 */
const processingAfterErasureOracle: OracleRule = {
  id: 'processing-after-erasure',
  article: 'Art. 17',
  title: 'Processing after erasure or key shredding',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    // What was erased, by category; shredding the key erases every personal value (`user`).
    const erasures: Array<{ categories: readonly string[]; evidence: EvidenceRef }> = [];
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type === 'SubjectKeyShredded') erasures.push({ categories: ['user'], evidence: evidenceOf(e) });
      if (event.type === 'PersonalDataErased' && event.data.reason !== 'retention_expired') {
        erasures.push({ categories: event.data.categories, evidence: evidenceOf(e) });
      }
      const facts = processingFacts(event);
      if (!facts || isAccountabilityPurpose(facts.purpose)) continue;
      const erasure = erasures.find((x) => facts.categories.some((c) => x.categories.some((erased) => covers(erased, c))));
      if (!erasure) continue;
      const again = facts.categories.filter((c) => erasure.categories.some((erased) => covers(erased, c)));
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [erasure.evidence, evidenceOf(e)],
        detail: `${event.type} of ${again.join(', ')} for ${facts.purpose} after ${again.length > 1 ? 'they were' : 'it was'} erased`,
      });
    }
    return findings;
  },
};
// ── retention-exceeded

interface Held {
  readonly collected: EvidenceRef;
  readonly category: string;
  readonly deadline: string;
  readonly activityId: string;
}

/** Every collected category with a registered retention, and when it must be gone. */
function heldData(ctx: RuleContext): Array<Held & { erasedAt?: string; erasedBy?: EvidenceRef }> {
  const held: Array<Held & { erasedAt?: string; erasedBy?: EvidenceRef }> = [];
  for (const e of ctx.events) {
    const { event } = e;
    if (event.type === 'PersonalDataCollected') {
      const register = [...ctx.registerAt(e.globalPosition).values()];
      const activities = event.data.processingActivityId
        ? register.filter((a) => a.activityId === event.data.processingActivityId)
        : register.filter((a) => a.purpose === event.data.purpose);
      for (const category of event.data.categories) {
        for (const activity of activities) {
          const rule = activity.retention.find((r) => covers(r.category, category));
          const deadline = rule ? addDuration(event.occurredAt, rule.period) : null;
          if (deadline) held.push({ collected: evidenceOf(e), category, deadline, activityId: activity.activityId });
        }
      }
    }
    const erasesAll = event.type === 'SubjectKeyShredded';
    const erased = event.type === 'PersonalDataErased' ? event.data.categories : [];
    for (const h of held) {
      if (h.erasedAt) continue;
      if (erasesAll || erased.some((c) => covers(c, h.category))) {
        h.erasedAt = event.occurredAt;
        h.erasedBy = evidenceOf(e);
      }
    }
  }
  return held;
}

/**
 * Storage limitation — GDPR Art. 5(1)(e): data is kept no longer than the retention its
 * processing activity registers (video 10 or 30 days by plan, motion signals seconds,
 * account data until termination). Opens when the period ends with the data not erased;
 * resolved when it is finally erased.
 */
const retentionExceededOracle: OracleRule = {
  id: 'retention-exceeded',
  article: 'Art. 5(1)(e)',
  title: 'Data kept beyond its registered retention',
  scope: 'subject',
  evaluate(ctx) {
    const now = ctx.now.toISOString();
    const findings: Finding[] = [];
    for (const h of heldData(ctx)) {
      const late = h.erasedAt ? h.erasedAt > h.deadline : now > h.deadline;
      if (!late) continue;
      findings.push({
        key: `${h.collected.eventId}:${h.category}:${h.activityId}`,
        openedAt: h.deadline,
        evidence: [h.collected],
        detail: `${h.category} collected for ${h.activityId} was due for erasure at ${h.deadline}`,
        ...(h.erasedAt && h.erasedBy ? { resolvedAt: h.erasedAt, resolvedBy: [h.erasedBy] } : {}),
      });
    }
    return findings;
  },
  nextDeadline(ctx) {
    const now = ctx.now.toISOString();
    const pending = heldData(ctx)
      .filter((h) => !h.erasedAt && h.deadline >= now)
      .map((h) => h.deadline)
      .sort();
    return pending[0] ?? null;
  },
};
// ── breach-authority-notice-late

function breachFacts(ctx: RuleContext) {
  let detected: ScopeEvent | null = null;
  let reported: ScopeEvent | null = null;
  let unlikelyRisk: ScopeEvent | null = null;
  for (const e of ctx.events) {
    if (e.event.type === 'BreachDetected') detected = e;
    if (e.event.type === 'BreachReportedToAuthority') reported ??= e;
    if (e.event.type === 'BreachAssessed') unlikelyRisk = e.event.data.risk === 'unlikely' ? e : null;
  }
  if (!detected || detected.event.type !== 'BreachDetected') return null;
  return { detected, deadline: hoursAfter(detected.event.data.awareAt, 72), reported, unlikelyRisk };
}

/**
 * Breach notification to the supervisory authority — GDPR Art. 33(1): without undue delay and
 * where feasible within 72 hours of becoming aware, unless the breach is unlikely to result in
 * a risk; a later notice must give the reasons for the delay. Opens when 72 hours pass with no
 * notice (and no recorded reason for the delay); a late notice still sent resolves it.
 */
const breachAuthorityNoticeLateOracle: OracleRule = {
  id: 'breach-authority-notice-late',
  article: 'Art. 33(1)',
  title: 'No notice to the supervisory authority within 72 hours of awareness',
  scope: 'breach',
  evaluate(ctx) {
    const facts = breachFacts(ctx);
    if (!facts) return [];
    const { detected, deadline, reported, unlikelyRisk } = facts;
    if (unlikelyRisk && unlikelyRisk.event.occurredAt <= deadline) return [];
    const reportedAt = reported?.event.occurredAt;
    if (reportedAt !== undefined && reportedAt <= deadline) return [];
    if (reportedAt === undefined && ctx.now.toISOString() <= deadline) return [];
    const finding: Finding = {
      key: 'authority-notice',
      openedAt: deadline,
      evidence: [evidenceOf(detected)],
      detail: `aware at ${detected.event.type === 'BreachDetected' ? detected.event.data.awareAt : ''}; no notice to the authority by ${deadline}`,
    };
    return [reported ? { ...finding, resolvedAt: reported.event.occurredAt, resolvedBy: [evidenceOf(reported)] } : finding];
  },
  nextDeadline(ctx) {
    const facts = breachFacts(ctx);
    return facts && !facts.reported && !facts.unlikelyRisk && facts.deadline >= ctx.now.toISOString() ? facts.deadline : null;
  },
};
// ── breach-subjects-not-notified

function highRisk(ctx: RuleContext) {
  let assessed: ScopeEvent | null = null;
  let notified: ScopeEvent | null = null;
  for (const e of ctx.events) {
    if (e.event.type === 'BreachAssessed') assessed = e.event.data.risk === 'high_risk' ? e : null;
    if (e.event.type === 'BreachSubjectsNotified') notified ??= e;
  }
  if (!assessed) return null;
  return { assessed, notified, deadline: hoursAfter(assessed.event.occurredAt, ctx.config.breachSubjectNoticeHours) };
}

/**
 * Communication to the data subjects — GDPR Art. 34(1): a breach likely to result in a high
 * risk is communicated to the affected subjects without undue delay (measured here as the
 * configured hours after the high-risk assessment). Resolved when the subjects are notified.
 */
const breachSubjectsNotNotifiedOracle: OracleRule = {
  id: 'breach-subjects-not-notified',
  article: 'Art. 34',
  title: 'High-risk breach not communicated to the affected subjects',
  scope: 'breach',
  evaluate(ctx) {
    const facts = highRisk(ctx);
    if (!facts) return [];
    const { assessed, notified, deadline } = facts;
    const notifiedAt = notified?.event.occurredAt;
    if (notifiedAt !== undefined && notifiedAt <= deadline) return [];
    if (notifiedAt === undefined && ctx.now.toISOString() <= deadline) return [];
    const finding = {
      key: 'subject-notice',
      openedAt: deadline,
      evidence: [evidenceOf(assessed)],
      detail: `assessed high risk; the affected subjects were not told by ${deadline}`,
    };
    return [notified ? { ...finding, resolvedAt: notified.event.occurredAt, resolvedBy: [evidenceOf(notified)] } : finding];
  },
  nextDeadline(ctx) {
    const facts = highRisk(ctx);
    return facts && !facts.notified && facts.deadline >= ctx.now.toISOString() ? facts.deadline : null;
  },
};
// ── rights-request-overdue

interface RequestTrack {
  received: EvidenceRef;
  receivedAt: string;
  dueBy: string;
  closedAt?: string;
  closedBy?: EvidenceRef;
}

function requests(ctx: RuleContext): Map<string, RequestTrack> {
  const tracks = new Map<string, RequestTrack>();
  for (const e of ctx.events) {
    const { event } = e;
    if (event.type === 'SubjectRequestReceived') {
      tracks.set(event.data.requestId, { received: evidenceOf(e), receivedAt: event.occurredAt, dueBy: addCalendarMonths(event.occurredAt, 1) });
    }
    if (event.type === 'SubjectRequestExtended') {
      const t = tracks.get(event.data.requestId);
      if (t) t.dueBy = addCalendarMonths(t.receivedAt, 1 + event.data.additionalMonths);
    }
    if (event.type === 'SubjectRequestFulfilled' || event.type === 'SubjectRequestRejected') {
      const t = tracks.get(event.data.requestId);
      if (t && !t.closedAt) {
        t.closedAt = event.occurredAt;
        t.closedBy = evidenceOf(e);
      }
    }
  }
  return tracks;
}

/**
 * Time limit for rights requests — GDPR Art. 12(3): a request is answered within one month of
 * receipt (calendar-month rule), extended at most by two further months. Opens when the
 * deadline passes with the request open; resolved when it is finally answered.
 */
const rightsRequestOverdueOracle: OracleRule = {
  id: 'rights-request-overdue',
  article: 'Art. 12(3)',
  title: 'Rights request not answered by its deadline',
  scope: 'subject',
  evaluate(ctx) {
    const now = ctx.now.toISOString();
    const findings: Finding[] = [];
    for (const [requestId, t] of requests(ctx)) {
      const late = t.closedAt ? t.closedAt > t.dueBy : now > t.dueBy;
      if (!late) continue;
      findings.push({
        key: requestId,
        openedAt: t.dueBy,
        evidence: [t.received],
        detail: `request ${requestId} received ${t.receivedAt} was due by ${t.dueBy}`,
        ...(t.closedAt && t.closedBy ? { resolvedAt: t.closedAt, resolvedBy: [t.closedBy] } : {}),
      });
    }
    return findings;
  },
  nextDeadline(ctx) {
    const now = ctx.now.toISOString();
    const due = [...requests(ctx).values()].filter((t) => !t.closedAt && t.dueBy >= now).map((t) => t.dueBy).sort();
    return due[0] ?? null;
  },
};
// ── child-data-not-erased

function childFacts(ctx: RuleContext) {
  let flagged: ScopeEvent | null = null;
  let erased: ScopeEvent | null = null;
  for (const e of ctx.events) {
    if (e.event.type === 'SubjectAgeFlagged') flagged ??= e;
    // Only erasing everything counts: shredding the key, or erasing the whole `user` taxonomy.
    const erasesAll = e.event.type === 'SubjectKeyShredded' || (e.event.type === 'PersonalDataErased' && e.event.data.categories.includes('user'));
    if (flagged && !erased && erasesAll) erased = e;
  }
  if (!flagged) return null;
  return { flagged, erased, deadline: hoursAfter(flagged.event.occurredAt, ctx.config.childErasureDays * 24) };
}

/**
 * Children — GDPR Art. 8 and the privacy statement ("children under 16 are not permitted to
 * create accounts; we will delete the information as soon as possible"): data of a subject
 * flagged under the minimum age is erased within the configured period.
 */
const childDataNotErasedOracle: OracleRule = {
  id: 'child-data-not-erased',
  article: 'Art. 8',
  title: "A child's data not erased within the configured period",
  scope: 'subject',
  evaluate(ctx) {
    const facts = childFacts(ctx);
    if (!facts) return [];
    const { flagged, erased, deadline } = facts;
    const erasedAt = erased?.event.occurredAt;
    if (erasedAt !== undefined && erasedAt <= deadline) return [];
    if (erasedAt === undefined && ctx.now.toISOString() <= deadline) return [];
    const finding = { key: 'child-erasure', openedAt: deadline, evidence: [evidenceOf(flagged)], detail: `flagged under the minimum age; data still held after ${deadline}` };
    return [erased ? { ...finding, resolvedAt: erased.event.occurredAt, resolvedBy: [evidenceOf(erased)] } : finding];
  },
  nextDeadline(ctx) {
    const facts = childFacts(ctx);
    return facts && !facts.erased && facts.deadline >= ctx.now.toISOString() ? facts.deadline : null;
  },
};
// ── transfer-without-safeguard

/**
 * Transfers to third countries — GDPR Art. 44-46: personal data leaves the EEA only to a
 * country with an adequacy decision (Art. 45) or under appropriate safeguards (Art. 46,
 * SCCs, BCRs) or an Art. 49 derogation. A transfer recorded with no mechanism, or claiming
 * adequacy for a country that has none, is a violation.
 */
const transferWithoutSafeguardOracle: OracleRule = {
  id: 'transfer-without-safeguard',
  article: 'Art. 44-46',
  title: 'Transfer outside the EEA without adequacy or a safeguard',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type !== 'PersonalDataTransferred') continue;
      const { destinationCountry: country, mechanism } = event.data;
      if (ctx.config.eeaCountries.has(country)) continue;
      // Art. 45: a transfer to an adequate country needs no further safeguard, whatever was recorded.
      const lawful = ctx.config.adequateCountries.has(country) || (mechanism !== 'none' && mechanism !== 'adequacy_decision');
      if (lawful) continue;
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [evidenceOf(e)],
        detail: mechanism === 'none' ? `transfer to ${country} with no safeguard` : `transfer to ${country} relies on an adequacy decision ${country} does not have`,
      });
    }
    return findings;
  },
};
// ── disclosure-to-unregistered-recipient

/**
 * Recipients — GDPR Art. 13(1)(e) and 30(1)(d): the recipients of personal data are named to
 * the subject and in the record of processing activities. A disclosure or transfer to a
 * recipient that no registered activity names (as the register stood then) is a violation.
 */
const disclosureToUnregisteredRecipientOracle: OracleRule = {
  id: 'disclosure-to-unregistered-recipient',
  article: 'Art. 13(1)(e), 30(1)(d)',
  title: 'Disclosure to a recipient that is not in the register',
  scope: 'subject',
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const e of ctx.events) {
      const { event } = e;
      if (event.type !== 'PersonalDataDisclosed' && event.type !== 'PersonalDataTransferred') continue;
      const recipient = event.data.recipient;
      const registered = [...ctx.registerAt(e.globalPosition).values()].some((a) => a.recipients.some((r) => r.id === recipient.id));
      if (registered) continue;
      findings.push({
        key: event.eventId,
        openedAt: event.occurredAt,
        evidence: [evidenceOf(e)],
        detail: `${event.type === 'PersonalDataDisclosed' ? 'disclosed' : 'transferred'} to ${recipient.kind} ${recipient.id}, which no registered activity names`,
      });
    }
    return findings;
  },
};

export const ORACLE_RULES: readonly OracleRule[] = [
  purposeLimitationOracle,
  consentMissingOracle,
  processingAfterConsentWithdrawalOracle,
  processingWhileRestrictedOracle,
  processingAfterErasureOracle,
  retentionExceededOracle,
  breachAuthorityNoticeLateOracle,
  breachSubjectsNotNotifiedOracle,
  rightsRequestOverdueOracle,
  childDataNotErasedOracle,
  transferWithoutSafeguardOracle,
  disclosureToUnregisteredRecipientOracle,
];

type Scope = 'subject' | 'breach';

/**
 * The from-scratch monitor, in memory: every evaluation reads the scope's whole history (up to
 * the last batch it was given) and runs every rule over it.
 */
export class OracleMonitor {
  private readonly streams = new Map<string, ScopeEvent[]>();
  private readonly registrations: Array<{ position: number; activity: ProcessingActivityRegistered }> = [];
  private readonly violations = new Map<string, Violation>();
  private readonly deadlines = new Map<string, { scope: Scope; scopeId: string; deadline: string }>();
  /** Ids in the order the monitor announced them (onOpened). */
  readonly opened: string[] = [];

  constructor(
    private readonly config: MonitorConfig,
    private readonly rules: readonly OracleRule[] = ORACLE_RULES,
  ) {}

  /** A batch of the log: the scopes it touched re-evaluated, as the old follow() did. */
  follow(events: readonly StoredEvent[], now: Date): void {
    const scopes = new Map<string, { scope: Scope; scopeId: string }>();
    for (const e of events) {
      const stream = this.streams.get(e.streamId) ?? [];
      stream.push({ event: e as unknown as LedgerEvent, globalPosition: e.globalPosition });
      this.streams.set(e.streamId, stream);
      if (e.streamId === REGISTER_STREAM) this.registrations.push({ position: e.globalPosition, activity: e.data as unknown as ProcessingActivityRegistered });
      if (e.subjectId !== null) scopes.set(`subject:${e.subjectId}`, { scope: 'subject', scopeId: e.subjectId });
      if (e.streamId.startsWith('breach-')) scopes.set(`breach:${e.streamId.slice(7)}`, { scope: 'breach', scopeId: e.streamId.slice(7) });
    }
    for (const { scope, scopeId } of scopes.values()) this.evaluate(scope, scopeId, now);
  }

  /** Re-evaluates the scopes whose next deadline has passed. */
  sweep(now: Date): number {
    const due = [...this.deadlines.values()].filter((d) => d.deadline <= now.toISOString());
    for (const d of due) this.evaluate(d.scope, d.scopeId, now);
    return due.length;
  }

  /** Every scope with a history evaluated once at `now`: what a monitor rebuilding its state does. */
  evaluateAll(now: Date): void {
    for (const streamId of this.streams.keys()) {
      if (streamId.startsWith('subject-')) this.evaluate('subject', streamId.slice('subject-'.length), now);
      if (streamId.startsWith('breach-')) this.evaluate('breach', streamId.slice('breach-'.length), now);
    }
  }

  evaluate(scope: Scope, scopeId: string, now: Date): void {
    const events = this.streams.get(scope === 'subject' ? subjectStream(scopeId) : `breach-${scopeId}`) ?? [];
    const ctx: RuleContext = { scopeId, events, registerAt: this.registerAt, now, config: this.config };
    let nextDeadline: string | null = null;
    for (const rule of this.rules) {
      if (rule.scope !== scope) continue;
      const findings = rule.evaluate(ctx);
      for (const finding of findings) this.store(rule, scope, scopeId, finding, now.toISOString());
      const current = new Set(findings.map((f) => `${rule.id}:${scope}:${scopeId}:${f.key}`));
      for (const v of this.violations.values()) {
        if (v.rule !== rule.id || v.scope !== scope || v.scopeId !== scopeId || v.status !== 'open' || current.has(v.id)) continue;
        this.violations.set(v.id, { ...v, status: 'resolved', resolvedAt: now.toISOString(), resolvedBy: [], resolution: 'superseded' });
      }
      const deadline = rule.nextDeadline?.(ctx) ?? null;
      if (deadline && (!nextDeadline || deadline < nextDeadline)) nextDeadline = deadline;
    }
    if (nextDeadline) this.deadlines.set(`${scope}:${scopeId}`, { scope, scopeId, deadline: nextDeadline });
    else this.deadlines.delete(`${scope}:${scopeId}`);
  }

  /** Every violation stored, by id. */
  list(): Violation[] {
    return [...this.violations.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private registerAt = (position: number): Register => {
    const register = new Map<string, ProcessingActivityRegistered>();
    for (const r of this.registrations) {
      if (r.position >= position) break;
      register.set(r.activity.activityId, r.activity);
    }
    return register;
  };

  private store(rule: OracleRule, scope: Scope, scopeId: string, finding: Finding, now: string): void {
    const id = `${rule.id}:${scope}:${scopeId}:${finding.key}`;
    const existing = this.violations.get(id);
    if (existing) {
      if (existing.status === 'open' && finding.resolvedAt) {
        this.violations.set(id, { ...existing, status: 'resolved', resolvedAt: finding.resolvedAt, resolvedBy: finding.resolvedBy ?? [], resolution: 'cured' });
      }
      return;
    }
    this.violations.set(id, {
      id,
      rule: rule.id,
      article: rule.article,
      title: rule.title,
      scope,
      scopeId,
      status: finding.resolvedAt ? 'resolved' : 'open',
      openedAt: finding.openedAt,
      detectedAt: now,
      resolvedAt: finding.resolvedAt ?? null,
      evidence: finding.evidence,
      resolvedBy: finding.resolvedBy ?? [],
      resolution: finding.resolvedAt ? 'cured' : null,
      detail: finding.detail,
    });
    this.opened.push(id);
  }
}
