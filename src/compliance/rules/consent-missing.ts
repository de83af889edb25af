import { evidenceOf, processingFacts, report, reportFound, type ComplianceRule, type Unreported } from '../rule.js';

export interface ConsentMissingState extends Unreported {
  /** Every purpose the subject ever consented to (vocabulary keys, so bounded by the vocabulary). */
  readonly everGranted: readonly string[];
}

/**
 * No legal basis — GDPR Art. 6(1)(a): processing for a purpose that rests on consent needs the
 * subject's consent in force at that moment (granted, and not withdrawn since). Processing
 * after a withdrawal is the separate rule of Art. 7(3), so this one fires only for a purpose
 * the subject never consented to.
 *
 * State: the purposes ever granted, and the findings not yet reported (each judged once, at
 * its own event).
 */
export const consentMissingRule: ComplianceRule<ConsentMissingState> = {
  id: 'consent-missing',
  article: 'Art. 6(1)(a)',
  title: 'Consent-based purpose processed without consent in force',
  scope: 'subject',
  duty: 'instant',
  initial: () => ({ everGranted: [], found: [] }),
  evolve(state, e, _register, config) {
    const { event } = e;
    if (event.type === 'ConsentGranted') {
      const added = event.data.purposes.filter((p, i, all) => !state.everGranted.includes(p) && all.indexOf(p) === i);
      return added.length > 0 ? { ...state, everGranted: [...state.everGranted, ...added] } : state;
    }
    const facts = processingFacts(event);
    if (!facts) return state;
    const needsConsent = facts.legalBasis === 'consent' || config.consentPurposes.has(facts.purpose);
    if (!needsConsent || state.everGranted.includes(facts.purpose)) return state;
    return report(state, {
      key: event.eventId,
      openedAt: event.occurredAt,
      evidence: [evidenceOf(e)],
      detail: `${facts.purpose} rests on consent and the subject never gave it`,
    });
  },
  judge: reportFound,
};
