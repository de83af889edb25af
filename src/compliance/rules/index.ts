import type { ComplianceRule } from '../rule.js';
import { breachAuthorityNoticeLateRule } from './breach-authority-notice-late.js';
import { breachSubjectsNotNotifiedRule } from './breach-subjects-not-notified.js';
import { childDataNotErasedRule } from './child-data-not-erased.js';
import { consentMissingRule } from './consent-missing.js';
import { disclosureToUnregisteredRecipientRule } from './disclosure-to-unregistered-recipient.js';
import { processingAfterConsentWithdrawalRule } from './processing-after-consent-withdrawal.js';
import { processingAfterErasureRule } from './processing-after-erasure.js';
import { processingWhileRestrictedRule } from './processing-while-restricted.js';
import { purposeLimitationRule } from './purpose-limitation.js';
import { retentionExceededRule } from './retention-exceeded.js';
import { rightsRequestOverdueRule } from './rights-request-overdue.js';
import { transferWithoutSafeguardRule } from './transfer-without-safeguard.js';

/** Every rule the monitor folds; each rule's state type is its own (stored as JSON by rule id). */
export const COMPLIANCE_RULES: readonly ComplianceRule[] = [
  purposeLimitationRule,
  consentMissingRule,
  processingAfterConsentWithdrawalRule,
  processingWhileRestrictedRule,
  processingAfterErasureRule,
  retentionExceededRule,
  breachAuthorityNoticeLateRule,
  breachSubjectsNotNotifiedRule,
  rightsRequestOverdueRule,
  childDataNotErasedRule,
  transferWithoutSafeguardRule,
  disclosureToUnregisteredRecipientRule,
];
