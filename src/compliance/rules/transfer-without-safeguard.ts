import { evidenceOf, type ComplianceRule, type Finding } from '../rule.js';

/**
 * Transfers to third countries — GDPR Art. 44-46: personal data leaves the EEA only to a
 * country with an adequacy decision (Art. 45) or under appropriate safeguards (Art. 46,
 * SCCs, BCRs) or an Art. 49 derogation. A transfer recorded with no mechanism, or claiming
 * adequacy for a country that has none, is a violation.
 */
export const transferWithoutSafeguardRule: ComplianceRule = {
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
