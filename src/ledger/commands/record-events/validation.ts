import { ValidateBy, buildMessage, validateSync, type ValidationError, type ValidationOptions } from 'class-validator';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
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

/** Validates a plain value against a DTO class: unknown fields and wrong types are refused. */
export function validatePlain<T extends object>(
  cls: ClassConstructor<T>,
  plain: unknown,
  path: string,
): { value: T; errors: FieldError[] } {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    return { value: undefined as unknown as T, errors: [{ field: path || '(body)', reason: 'must be a JSON object' }] };
  }
  const value = plainToInstance(cls, plain, { enableImplicitConversion: false });
  const errors = validateSync(value, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: true },
  });
  return { value, errors: flatten(errors, path) };
}

function flatten(errors: readonly ValidationError[], path: string): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const segment = /^\d+$/.test(error.property) ? `[${error.property}]` : error.property;
    const field = path === '' ? segment : segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
    const constraints = Object.entries(error.constraints ?? {});
    if (error.value === undefined && constraints.length > 0 && !('whitelistValidation' in (error.constraints ?? {}))) {
      out.push({ field, reason: 'is required' });
      continue;
    }
    for (const [constraint, message] of constraints) {
      out.push({
        field,
        reason:
          constraint === 'whitelistValidation'
            ? 'is not a known field'
            : message.startsWith(`${error.property} `)
              ? message.slice(error.property.length + 1)
              : message,
      });
    }
    if (error.children?.length) out.push(...flatten(error.children, field));
  }
  return out;
}
