import type { LedgerConfig } from '../config/ledger-config.js';
import { ledgerVocabulary } from '../vocabulary/ledger-vocabulary.js';
import type { MonitorConfig } from './rule.js';

/** The monitors' configuration: periods from the service config, facts from the vocabulary. */
export function monitorConfig(config: Pick<LedgerConfig, 'childErasureDays' | 'breachSubjectNoticeHours'>): MonitorConfig {
  const vocabulary = ledgerVocabulary();
  const countries = vocabulary.list('countries');
  return {
    childErasureDays: config.childErasureDays,
    breachSubjectNoticeHours: config.breachSubjectNoticeHours,
    consentPurposes: new Set(vocabulary.list('purposes').filter((p) => p.consentRequired).map((p) => p.key)),
    adequateCountries: new Set(countries.filter((c) => c.adequacy === true).map((c) => c.key)),
    eeaCountries: new Set(countries.filter((c) => c.eea).map((c) => c.key)),
  };
}
