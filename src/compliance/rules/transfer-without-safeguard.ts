import { evidenceOf, report, reportFound, type ComplianceRule, type Unreported } from '../rule.js';

export type TransferWithoutSafeguardState = Unreported;

/**
 * Transfers to third countries — GDPR Art. 44-46: personal data leaves the EEA only to a
 * country with an adequacy decision (Art. 45) or under appropriate safeguards (Art. 46,
 * SCCs, BCRs) or an Art. 49 derogation. A transfer recorded with no mechanism, or claiming
 * adequacy for a country that has none, is a violation.
 *
 * State: only the findings not yet reported; each is judged once, at its own event.
 */
export const transferWithoutSafeguardRule: ComplianceRule<TransferWithoutSafeguardState> = {
  id: 'transfer-without-safeguard',
  article: 'Art. 44-46',
  title: 'Transfer outside the EEA without adequacy or a safeguard',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ found: [] }),
  evolve(state, e, _register, config) {
    const { event } = e;
    if (event.type !== 'PersonalDataTransferred') return state;
    const { destinationCountry: country, mechanism } = event.data;
    if (config.eeaCountries.has(country)) return state;
    // Art. 45: a transfer to an adequate country needs no further safeguard, whatever was recorded.
    const lawful = config.adequateCountries.has(country) || (mechanism !== 'none' && mechanism !== 'adequacy_decision');
    if (lawful) return state;
    return report(state, {
      key: event.eventId,
      openedAt: event.occurredAt,
      evidence: [evidenceOf(e)],
      detail: mechanism === 'none' ? `transfer to ${country} with no safeguard` : `transfer to ${country} relies on an adequacy decision ${country} does not have`,
    });
  },
  judge: reportFound,
};
