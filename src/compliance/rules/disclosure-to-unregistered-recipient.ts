import { evidenceOf, type ComplianceRule, type Finding } from '../rule.js';

/**
 * Recipients — GDPR Art. 13(1)(e) and 30(1)(d): the recipients of personal data are named to
 * the subject and in the record of processing activities. A disclosure or transfer to a
 * recipient that no registered activity names (as the register stood then) is a violation.
 */
export const disclosureToUnregisteredRecipientRule: ComplianceRule = {
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
