import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';
import type { VocabularyName } from '../../../vocabulary/vocabulary.js';
import { ledgerVocabulary } from '../../../vocabulary/ledger-vocabulary.js';

/** One reason an input was refused, naming the field as a path into the request body. */
export interface FieldError {
  readonly field: string;
  readonly reason: string;
}

/**
 * Pseudonymous identifiers (subjects, actors, tickets, requests, breaches): letters,
 * digits and . _ : - only. This keeps e-mail addresses, names with spaces and phone
 * numbers out of plain-text event bodies (DESIGN principle 3).
 */
export const PSEUDONYMOUS_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const PHONE_LIKE = /^\+?[0-9]{7,}$/;

export function isPseudonymousId(value: unknown): value is string {
  return typeof value === 'string' && PSEUDONYMOUS_ID.test(value) && !PHONE_LIKE.test(value);
}

export function IsPseudonymousId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPseudonymousId',
      validator: {
        validate: isPseudonymousId,
        defaultMessage: buildMessage(
          (each) => `${each}$property must be a pseudonymous id (1-128 of A-Z a-z 0-9 . _ : -, not an e-mail or phone number)`,
          options,
        ),
      },
    },
    options,
  );
}

const VOCABULARY_LABEL: Record<VocabularyName, string> = {
  'data-categories': 'data category',
  purposes: 'purpose',
  'legal-bases': 'legal basis',
  'recipient-kinds': 'recipient kind',
  'transfer-mechanisms': 'transfer mechanism',
  'access-reasons': 'access reason code',
  rights: 'right',
  countries: 'country code',
};

/** Whether a string has no lone surrogate (String.prototype.isWellFormed, ES2024; Node 20 has it). */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Text that is well-formed Unicode (no lone surrogate): canonical JSON (RFC 8785), and so
 * the idempotency digest and the hash chain, cannot represent anything else.
 */
export function IsWellFormedText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWellFormedText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || isWellFormed(value),
        defaultMessage: buildMessage((each) => `${each}$property must be well-formed Unicode text (no lone surrogates)`, options),
      },
    },
    options,
  );
}

/** The value must be a key of the named vocabulary; the error names the unknown value. */
export function IsVocabularyKey(name: VocabularyName, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isVocabularyKey',
      constraints: [name],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && ledgerVocabulary().has(name, value),
        defaultMessage: (args) => {
          const values: unknown[] = Array.isArray(args?.value) ? (args.value as unknown[]) : [args?.value];
          const unknown = values.filter((v) => !(typeof v === 'string' && ledgerVocabulary().has(name, v)));
          return `$property has unknown ${VOCABULARY_LABEL[name]} ${unknown.map((v) => `'${String(v)}'`).join(', ')} (see GET /v1/vocabulary/${name})`;
        },
      },
    },
    options,
  );
}
