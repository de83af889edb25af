import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { canonicalJson } from '../integrity/canonical-json.js';

/**
 * Envelope encryption of an event's personal values with the subject's data key:
 * AES-256-GCM (node:crypto), a fresh 96-bit nonce per event, and the event id and subject
 * id bound as associated data so a ciphertext cannot be moved to another event.
 * Format: `v1.<nonce b64url>.<ciphertext b64url>.<tag b64url>`.
 */
const VERSION = 'v1';

function aad(eventId: string, subjectId: string): Buffer {
  return Buffer.from(`${eventId}\n${subjectId}`, 'utf8');
}

export function sealPersonalValues(key: Buffer, eventId: string, subjectId: string, values: Readonly<Record<string, string>>): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(eventId, subjectId));
  const plaintext = Buffer.from(canonicalJson(values) ?? '{}', 'utf8');
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  return [VERSION, nonce.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function openPersonalValues(key: Buffer, eventId: string, subjectId: string, sealed: string): Record<string, string> {
  const [version, nonce, ciphertext, tag] = sealed.split('.');
  if (version !== VERSION || !nonce || ciphertext === undefined || !tag) throw new Error('unknown personal-values format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
  decipher.setAAD(aad(eventId, subjectId));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return JSON.parse(plaintext.toString('utf8')) as Record<string, string>;
}

/**
 * Keyed digest of personal values for idempotency checks: HMAC-SHA256 under the subject's
 * key, so after shredding nobody can confirm a guessed value against the stored digest.
 */
export function personalValuesDigest(key: Buffer, values: Readonly<Record<string, string>>): string {
  return createHmac('sha256', key).update(canonicalJson(values) ?? '{}', 'utf8').digest('hex');
}
