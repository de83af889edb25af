/**
 * Per-subject data keys for crypto-shredding (GDPR Art. 17 without rewriting the log).
 * One AES-256 key per subject, kept outside the event log and wrapped by a key-encryption
 * key; destroying it makes every personal value of that subject unreadable forever while
 * the chained ciphertext keeps the ledger verifiable. A KMS or Vault adapter implements
 * the same interface.
 */
export interface SubjectKeyring {
  /**
   * The subject's data key; created on first use when `create` is true.
   * Throws SubjectKeyShreddedError after shredding and KeyStoreUnavailableError when the
   * key store cannot answer: encryption fails closed, so no personal value is written.
   */
  dataKey(subjectId: string, options: { create: boolean }): Promise<Buffer | null>;
  /** Destroys the subject's key. Returns false when there was none to destroy. */
  shred(subjectId: string): Promise<boolean>;
  isShredded(subjectId: string): Promise<boolean>;
  close(): Promise<void>;
}

export const SUBJECT_KEYRING = Symbol('SubjectKeyring');

export class SubjectKeyShreddedError extends Error {
  override readonly name = 'SubjectKeyShreddedError';
  constructor(readonly subjectId: string) {
    super(`the data key of subject ${subjectId} was shredded`);
  }
}

export class KeyStoreUnavailableError extends Error {
  override readonly name = 'KeyStoreUnavailableError';
  constructor(cause?: unknown) {
    super('the subject key store is unavailable', { cause });
  }
}
