import { evidenceOf, report, reportFound, type ComplianceRule, type Unreported } from '../rule.js';

export type DisclosureToUnregisteredRecipientState = Unreported;

/**
 * Recipients — GDPR Art. 13(1)(e) and 30(1)(d): the recipients of personal data are named to
 * the subject and in the record of processing activities. A disclosure or transfer to a
 * recipient that no registered activity names (as the register stood then) is a violation.
 *
 * State: only the findings not yet reported; each is judged once, at its own event.
 */
export const disclosureToUnregisteredRecipientRule: ComplianceRule<DisclosureToUnregisteredRecipientState> = {
  id: 'disclosure-to-unregistered-recipient',
  article: 'Art. 13(1)(e), 30(1)(d)',
  title: 'Disclosure to a recipient that is not in the register',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ found: [] }),
  evolve(state, e, register) {
    const { event } = e;
    if (event.type !== 'PersonalDataDisclosed' && event.type !== 'PersonalDataTransferred') return state;
    const recipient = event.data.recipient;
    const registered = [...register.values()].some((a) => a.recipients.some((r) => r.id === recipient.id));
    if (registered) return state;
    return report(state, {
      key: event.eventId,
      openedAt: event.occurredAt,
      evidence: [evidenceOf(e)],
      detail: `${event.type === 'PersonalDataDisclosed' ? 'disclosed' : 'transferred'} to ${recipient.kind} ${recipient.id}, which no registered activity names`,
    });
  },
  judge: reportFound,
};
