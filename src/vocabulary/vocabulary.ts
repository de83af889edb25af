import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The ledger's controlled vocabularies: versioned JSON files in ./data (see README.md there).
 * Loading validates every file and throws an Error naming the file and the offending entry.
 */

export type VocabularyName =
  | 'data-categories'
  | 'purposes'
  | 'legal-bases'
  | 'recipient-kinds'
  | 'transfer-mechanisms'
  | 'access-reasons'
  | 'rights'
  | 'countries';

export const VOCABULARY_NAMES: readonly VocabularyName[] = [
  'data-categories',
  'purposes',
  'legal-bases',
  'recipient-kinds',
  'transfer-mechanisms',
  'access-reasons',
  'rights',
  'countries',
];

/**
 * Where an entry comes from: `fideslang` (exact fideslang taxonomy key), `extension` (our key under a
 * fideslang parent), `gdpr` (a GDPR concept), `iso3166` (country code), `ledger` (defined by this project).
 */
export type EntryOrigin = 'fideslang' | 'extension' | 'gdpr' | 'iso3166' | 'ledger';

export interface VocabularyEntryBase {
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly origin: EntryOrigin;
  /** Short verbatim quote from the Immax NEO privacy statement, where the statement names the thing. */
  readonly statementRef?: string;
}

/** Entries of the two hierarchical, fideslang-based vocabularies. */
export interface TaxonomyEntry extends VocabularyEntryBase {
  readonly origin: 'fideslang' | 'extension';
  /** Parent key in the same vocabulary; always present for extensions, and the key starts with `${parent}.`. */
  readonly parent?: string;
}

export type DataCategoryEntry = TaxonomyEntry;

export interface PurposeEntry extends TaxonomyEntry {
  /** True when processing for this purpose needs a recorded consent of the data subject. */
  readonly consentRequired: boolean;
}

export interface LegalBasisEntry extends VocabularyEntryBase {
  readonly origin: 'gdpr';
  /** e.g. "Art. 6(1)(a)". */
  readonly article: string;
}

export type RecipientKindEntry = VocabularyEntryBase;

export interface TransferMechanismEntry extends VocabularyEntryBase {
  readonly origin: 'gdpr';
  readonly article: string;
  /** True when the mechanism is a lawful Chapter V ground for the transfer; false only for `none`. */
  readonly safeguard: boolean;
}

export interface AccessReasonEntry extends VocabularyEntryBase {
  /** True when a human reaches a person's data on a case: the access must cite a ticket/case. */
  readonly ticketRequired: boolean;
}

export interface RightEntry extends VocabularyEntryBase {
  readonly origin: 'gdpr';
  readonly article: string;
}

export interface CountryEntry extends VocabularyEntryBase {
  readonly origin: 'iso3166';
  /** Member of the European Economic Area (EU 27 + IS, LI, NO). */
  readonly eea: boolean;
  /** EU Commission adequacy decision in force (Art. 45). Present exactly when `eea` is false. */
  readonly adequacy?: boolean;
  /** Which decision, and any limitation of its scope (e.g. US: DPF-certified organisations only). */
  readonly adequacyNote?: string;
}

export interface VocabularyEntryMap {
  'data-categories': DataCategoryEntry;
  purposes: PurposeEntry;
  'legal-bases': LegalBasisEntry;
  'recipient-kinds': RecipientKindEntry;
  'transfer-mechanisms': TransferMechanismEntry;
  'access-reasons': AccessReasonEntry;
  rights: RightEntry;
  countries: CountryEntry;
}

export type VocabularyEntry<N extends VocabularyName = VocabularyName> = VocabularyEntryMap[N];

/** Keys that code depends on; `load` refuses a directory whose files lack any of them. */
export const LEGAL_BASIS_KEYS = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interests',
] as const;
export type LegalBasisKey = (typeof LEGAL_BASIS_KEYS)[number];

export const TRANSFER_MECHANISM_KEYS = [
  'adequacy_decision',
  'standard_contractual_clauses',
  'binding_corporate_rules',
  'art49_derogation',
  'none',
] as const;
export type TransferMechanismKey = (typeof TRANSFER_MECHANISM_KEYS)[number];

export const RIGHT_KEYS = [
  'access',
  'rectification',
  'erasure',
  'restriction',
  'objection',
  'objection_automated_decision',
  'portability',
  'consent_withdrawal',
] as const;
export type RightKey = (typeof RIGHT_KEYS)[number];

export const RECIPIENT_KIND_KEYS = [
  'processor',
  'sub_processor',
  'affiliate',
  'public_authority',
  'court',
  'acquirer',
  'third_party_with_consent',
  'joint_controller',
  'data_subject',
] as const;
export type RecipientKindKey = (typeof RECIPIENT_KIND_KEYS)[number];

/** The purpose recorded for the ledger's own auditing reads. */
export const AUDIT_PURPOSE_KEY = 'essential.service.audit';

/** Dotted lowercase key: `user.contact.email`, `essential.service.audit`, `consent`. */
export const KEY_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
/** ISO 3166-1 alpha-2. */
export const COUNTRY_CODE_PATTERN = /^[A-Z]{2}$/;
const VERSION_PATTERN = /^\d+\.\d+\.\d+$/;

type FieldType = 'string' | 'boolean';

interface VocabularySpec {
  readonly keyPattern: RegExp;
  readonly origins: readonly EntryOrigin[];
  readonly required: Readonly<Record<string, FieldType>>;
  readonly optional: Readonly<Record<string, FieldType>>;
  readonly requiredKeys: readonly string[];
}

const BASE_REQUIRED: Readonly<Record<string, FieldType>> = {
  key: 'string',
  name: 'string',
  description: 'string',
  origin: 'string',
};
const BASE_OPTIONAL: Readonly<Record<string, FieldType>> = { statementRef: 'string' };
const TAXONOMY_OPTIONAL: Readonly<Record<string, FieldType>> = { ...BASE_OPTIONAL, parent: 'string' };

const SPECS: { readonly [N in VocabularyName]: VocabularySpec } = {
  'data-categories': {
    keyPattern: KEY_PATTERN,
    origins: ['fideslang', 'extension'],
    required: BASE_REQUIRED,
    optional: TAXONOMY_OPTIONAL,
    requiredKeys: [],
  },
  purposes: {
    keyPattern: KEY_PATTERN,
    origins: ['fideslang', 'extension'],
    required: { ...BASE_REQUIRED, consentRequired: 'boolean' },
    optional: TAXONOMY_OPTIONAL,
    requiredKeys: [AUDIT_PURPOSE_KEY],
  },
  'legal-bases': {
    keyPattern: KEY_PATTERN,
    origins: ['gdpr'],
    required: { ...BASE_REQUIRED, article: 'string' },
    optional: BASE_OPTIONAL,
    requiredKeys: LEGAL_BASIS_KEYS,
  },
  'recipient-kinds': {
    keyPattern: KEY_PATTERN,
    origins: ['ledger', 'gdpr'],
    required: BASE_REQUIRED,
    optional: BASE_OPTIONAL,
    requiredKeys: RECIPIENT_KIND_KEYS,
  },
  'transfer-mechanisms': {
    keyPattern: KEY_PATTERN,
    origins: ['gdpr'],
    required: { ...BASE_REQUIRED, article: 'string', safeguard: 'boolean' },
    optional: BASE_OPTIONAL,
    requiredKeys: TRANSFER_MECHANISM_KEYS,
  },
  'access-reasons': {
    keyPattern: KEY_PATTERN,
    origins: ['ledger'],
    required: { ...BASE_REQUIRED, ticketRequired: 'boolean' },
    optional: BASE_OPTIONAL,
    requiredKeys: [],
  },
  rights: {
    keyPattern: KEY_PATTERN,
    origins: ['gdpr'],
    required: { ...BASE_REQUIRED, article: 'string' },
    optional: BASE_OPTIONAL,
    requiredKeys: RIGHT_KEYS,
  },
  countries: {
    keyPattern: COUNTRY_CODE_PATTERN,
    origins: ['iso3166'],
    required: { ...BASE_REQUIRED, eea: 'boolean' },
    optional: { ...BASE_OPTIONAL, adequacy: 'boolean', adequacyNote: 'string' },
    requiredKeys: [],
  },
};

interface LoadedVocabulary<N extends VocabularyName> {
  readonly version: string;
  readonly description: string;
  readonly entries: readonly VocabularyEntryMap[N][];
  readonly byKey: ReadonlyMap<string, VocabularyEntryMap[N]>;
}

type LoadedVocabularies = { readonly [N in VocabularyName]: LoadedVocabulary<N> };

function defaultDataDir(): string {
  return fileURLToPath(new URL('./data/', import.meta.url));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeEntry(index: number, raw: unknown): string {
  const key = isRecord(raw) && typeof raw['key'] === 'string' ? ` (key "${raw['key']}")` : '';
  return `entry #${index}${key}`;
}

function readVocabularyFile<N extends VocabularyName>(dir: string, name: N): LoadedVocabulary<N> {
  const file = join(dir, `${name}.json`);
  const fail = (message: string): never => {
    throw new Error(`Vocabulary file ${file}: ${message}`);
  };

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err: unknown) {
    return fail(`cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err: unknown) {
    return fail(`is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(doc)) return fail('top level must be an object');
  if (doc['vocabulary'] !== name) return fail(`"vocabulary" must be "${name}", got ${JSON.stringify(doc['vocabulary'])}`);
  const version = doc['version'];
  if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) {
    return fail(`"version" must be MAJOR.MINOR.PATCH, got ${JSON.stringify(version)}`);
  }
  const description = doc['description'];
  if (typeof description !== 'string' || description.trim() === '') return fail('"description" must be a non-empty string');
  const rawEntries = doc['entries'];
  if (!Array.isArray(rawEntries) || rawEntries.length === 0) return fail('"entries" must be a non-empty array');
  for (const field of Object.keys(doc)) {
    if (!['vocabulary', 'version', 'description', 'entries'].includes(field)) return fail(`unknown top-level field "${field}"`);
  }

  const spec = SPECS[name];
  const byKey = new Map<string, VocabularyEntryMap[N]>();
  const entries: VocabularyEntryMap[N][] = [];

  const rawList: readonly unknown[] = rawEntries;
  rawList.forEach((raw, index) => {
    const bad = (message: string): never => fail(`${describeEntry(index, raw)}: ${message}`);
    if (!isRecord(raw)) return bad('must be an object');
    for (const [field, type] of Object.entries(spec.required)) {
      const value = raw[field];
      if (value === undefined) return bad(`missing required field "${field}"`);
      if (typeof value !== type) return bad(`field "${field}" must be a ${type}`);
      if (type === 'string' && (value as string).trim() === '') return bad(`field "${field}" must not be empty`);
    }
    for (const [field, value] of Object.entries(raw)) {
      if (field in spec.required) continue;
      const type = spec.optional[field];
      if (type === undefined) return bad(`unknown field "${field}"`);
      if (typeof value !== type) return bad(`field "${field}" must be a ${type}`);
      if (type === 'string' && (value as string).trim() === '') return bad(`field "${field}" must not be empty`);
    }
    const key = raw['key'] as string;
    if (!spec.keyPattern.test(key)) return bad(`key does not match ${String(spec.keyPattern)}`);
    if (byKey.has(key)) return bad('duplicate key');
    const origin = raw['origin'] as EntryOrigin;
    if (!spec.origins.includes(origin)) return bad(`origin must be one of ${spec.origins.join(', ')}`);
    if (origin === 'extension') {
      if (raw['parent'] === undefined) return bad('extension entries need a "parent"');
      if (raw['statementRef'] === undefined) return bad('extension entries need a "statementRef"');
    }
    if (name === 'countries') {
      if (raw['eea'] === false && raw['adequacy'] === undefined) return bad('non-EEA countries need "adequacy"');
      if (raw['eea'] === true && (raw['adequacy'] !== undefined || raw['adequacyNote'] !== undefined)) {
        return bad('EEA countries take no "adequacy"/"adequacyNote" (no Chapter V transfer)');
      }
    }
    const entry = Object.freeze({ ...raw }) as unknown as VocabularyEntryMap[N];
    byKey.set(key, entry);
    entries.push(entry);
  });

  // Parents are checked once every key of the file is known, so a file need not be ordered.
  entries.forEach((entry, index) => {
    const parent = (entry as VocabularyEntryBase & { parent?: string }).parent;
    if (parent === undefined) return;
    const bad = (message: string): never => fail(`${describeEntry(index, entry)}: ${message}`);
    if (!byKey.has(parent)) bad(`parent "${parent}" is not a key of this vocabulary`);
    if (!entry.key.startsWith(`${parent}.`)) bad(`key must start with its parent "${parent}."`);
  });
  for (const required of spec.requiredKeys) {
    if (!byKey.has(required)) fail(`required key "${required}" is missing`);
  }

  return { version, description, entries: Object.freeze(entries), byKey };
}

export class Vocabulary {
  private constructor(
    private readonly vocabularies: LoadedVocabularies,
    /** Directory the files were loaded from. */
    readonly dir: string,
  ) {}

  /**
   * Loads and validates all vocabulary files from `dir` (default: the `data` folder beside this module,
   * i.e. `src/vocabulary/data` in tests and `dist/src/vocabulary/data` once built).
   * Throws an Error naming the file and the bad entry on any problem.
   */
  static load(dir: string = defaultDataDir()): Vocabulary {
    const vocabularies: LoadedVocabularies = {
      'data-categories': readVocabularyFile(dir, 'data-categories'),
      purposes: readVocabularyFile(dir, 'purposes'),
      'legal-bases': readVocabularyFile(dir, 'legal-bases'),
      'recipient-kinds': readVocabularyFile(dir, 'recipient-kinds'),
      'transfer-mechanisms': readVocabularyFile(dir, 'transfer-mechanisms'),
      'access-reasons': readVocabularyFile(dir, 'access-reasons'),
      rights: readVocabularyFile(dir, 'rights'),
      countries: readVocabularyFile(dir, 'countries'),
    };
    return new Vocabulary(vocabularies, dir);
  }

  has(name: VocabularyName, key: string): boolean {
    return this.vocabularies[name].byKey.has(key);
  }

  get<N extends VocabularyName>(name: N, key: string): VocabularyEntryMap[N] | undefined {
    return this.loaded(name).byKey.get(key);
  }

  list<N extends VocabularyName>(name: N): readonly VocabularyEntryMap[N][] {
    return this.loaded(name).entries;
  }

  /** Semantic version of the file: minor bump on additions, major on removals or renames. */
  version(name: VocabularyName): string {
    return this.vocabularies[name].version;
  }

  dataCategory(key: string): DataCategoryEntry | undefined {
    return this.get('data-categories', key);
  }

  purpose(key: string): PurposeEntry | undefined {
    return this.get('purposes', key);
  }

  legalBasis(key: string): LegalBasisEntry | undefined {
    return this.get('legal-bases', key);
  }

  recipientKind(key: string): RecipientKindEntry | undefined {
    return this.get('recipient-kinds', key);
  }

  transferMechanism(key: string): TransferMechanismEntry | undefined {
    return this.get('transfer-mechanisms', key);
  }

  accessReason(key: string): AccessReasonEntry | undefined {
    return this.get('access-reasons', key);
  }

  right(key: string): RightEntry | undefined {
    return this.get('rights', key);
  }

  /** ISO 3166-1 alpha-2 code, uppercase (`DE`, `US`); matched exactly. */
  country(code: string): CountryEntry | undefined {
    return this.get('countries', code);
  }

  private loaded<N extends VocabularyName>(name: N): LoadedVocabulary<N> {
    return this.vocabularies[name] as LoadedVocabulary<N>;
  }
}
