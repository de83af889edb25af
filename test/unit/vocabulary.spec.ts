import { parse } from 'csv-parse/sync';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AUDIT_PURPOSE_KEY,
  LEGAL_BASIS_KEYS,
  RIGHT_KEYS,
  TRANSFER_MECHANISM_KEYS,
  VOCABULARY_NAMES,
  Vocabulary,
  type VocabularyName,
} from '../../src/vocabulary/vocabulary.js';

const DATA_DIR = fileURLToPath(new URL('../../src/vocabulary/data/', import.meta.url));
const REFERENCE_DIR = '/work/shared/reference';
const FIDESLANG_DIR = join(REFERENCE_DIR, 'fideslang');
const HAVE_REFERENCE = existsSync(join(FIDESLANG_DIR, 'data_categories.csv'));
if (!HAVE_REFERENCE) {
  console.warn(`vocabulary.spec: ${REFERENCE_DIR} absent - skipping the fideslang/statement cross-checks`);
}
const referenceIt = HAVE_REFERENCE ? it : it.skip;

function parseCsv(text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

function fideslang(file: string): Map<string, Record<string, string>> {
  const rows = parseCsv(readFileSync(join(FIDESLANG_DIR, file), 'utf8'));
  return new Map(rows.map((r) => [r['fides_key'] ?? '', r]));
}

const normalise = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Copies the real data into a temp dir, lets `mutate` edit one file, and returns the dir. */
function tempDataDir(name: VocabularyName, mutate: (doc: { entries: Record<string, unknown>[] }) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'vocabulary-spec-'));
  tempDirs.push(dir);
  cpSync(DATA_DIR, dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, unknown>[] };
  mutate(doc);
  writeFileSync(file, JSON.stringify(doc));
  return dir;
}
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('Vocabulary data files', () => {
  const vocabulary = Vocabulary.load(DATA_DIR);

  it('loads every vocabulary from the default directory beside the module', () => {
    const byDefault = Vocabulary.load();
    for (const name of VOCABULARY_NAMES) {
      expect(byDefault.version(name)).toMatch(/^\d+\.\d+\.\d+$/);
      expect(byDefault.list(name).length).toBe(vocabulary.list(name).length);
      expect(byDefault.list(name).length).toBeGreaterThan(0);
    }
  });

  referenceIt('uses only real fideslang keys, with fideslang parents, for fideslang-origin entries', () => {
    const tables: ['data-categories' | 'purposes', Map<string, Record<string, string>>][] = [
      ['data-categories', fideslang('data_categories.csv')],
      ['purposes', fideslang('data_uses.csv')],
    ];
    for (const [name, table] of tables) {
      expect(table.size).toBeGreaterThan(10);
      const fides = vocabulary.list(name).filter((e) => e.origin === 'fideslang');
      expect(fides.length).toBeGreaterThan(10);
      for (const entry of fides) {
        const row = table.get(entry.key);
        expect({ name, key: entry.key, known: row !== undefined }).toEqual({ name, key: entry.key, known: true });
        expect(row?.['version_deprecated'] ?? '').toBe('');
        if (entry.parent !== undefined) expect({ key: entry.key, parent: row?.['parent_key'] }).toEqual({ key: entry.key, parent: entry.parent });
      }
      // Extensions must not shadow a key fideslang already has.
      for (const entry of vocabulary.list(name).filter((e) => e.origin === 'extension')) {
        expect({ key: entry.key, inFideslang: table.has(entry.key) }).toEqual({ key: entry.key, inFideslang: false });
      }
    }
  });

  referenceIt('quotes the privacy statement verbatim in every statementRef', () => {
    const statement = normalise(readFileSync(join(REFERENCE_DIR, 'privacy-statement.txt'), 'utf8'));
    for (const name of VOCABULARY_NAMES) {
      for (const entry of vocabulary.list(name)) {
        if (entry.statementRef === undefined) continue;
        expect({ name, key: entry.key, quoted: statement.includes(normalise(entry.statementRef)) }).toEqual({
          name,
          key: entry.key,
          quoted: true,
        });
      }
    }
  });

  it('gives every extension a parent in the same vocabulary, a dotted key under it, and a statementRef', () => {
    for (const name of ['data-categories', 'purposes'] as const) {
      const extensions = vocabulary.list(name).filter((e) => e.origin === 'extension');
      expect(extensions.length).toBeGreaterThan(0);
      for (const entry of extensions) {
        expect(entry.parent).toBeDefined();
        const parent = vocabulary.get(name, entry.parent ?? '');
        expect(parent?.origin).toBe('fideslang');
        expect(entry.key.startsWith(`${entry.parent}.`)).toBe(true);
        expect(entry.key).toMatch(/^[a-z0-9_.]+$/);
        expect(entry.statementRef?.length).toBeGreaterThan(0);
      }
    }
  });

  it('covers the things the statement names that fideslang lacks', () => {
    const expected = [
      'user.device.mac_address',
      'user.device.imei',
      'user.device.imsi',
      'user.device.sim_info',
      'user.device.serial_number',
      'user.device.product_uuid',
      'user.device.model_number',
      'user.device.status',
      'user.device.properties',
      'user.device.firmware_version',
      'user.device.software_version',
      'user.device.hardware_info',
      'user.device.os_info',
      'user.location.product_location',
      'user.sensor.video',
      'user.sensor.audio',
      'user.sensor.still_image',
      'user.sensor.motion',
      'user.sensor.temperature',
      'user.sensor.humidity',
      'user.sensor.ambient_light',
      'user.device.scene_configuration',
      'user.device.room_configuration',
      'user.device.security_configuration',
      'user.device.automation_rule',
      'user.behavior.login_log',
      'user.behavior.device_log',
      'user.behavior.scene_use_log',
      'user.behavior.security_system_log',
      'user.account.nickname',
      'user.account.avatar',
      'user.account.creation_timestamp',
      'user.account.login_timestamp',
      'user.content.comment',
      'user.content.customer_service_record',
      'user.content.submission',
    ];
    const missing = expected.filter((k) => vocabulary.dataCategory(k)?.origin !== 'extension');
    expect(missing).toEqual([]);
    for (const k of ['user.contact.email', 'user.contact.phone_number', 'user.device.ip_address', 'user.childrens', 'user.name']) {
      expect(vocabulary.dataCategory(k)?.origin).toBe('fideslang');
    }
  });

  it('has the purposes the statement lists, the audit purpose, and consent flags', () => {
    const audit = vocabulary.purpose(AUDIT_PURPOSE_KEY);
    expect(audit).toMatchObject({ origin: 'extension', parent: 'essential.service', consentRequired: false });
    for (const k of [
      'essential.service.account_creation',
      'essential.service.authentication',
      'essential.service.operations',
      'essential.service.operations.diagnostics',
      'functional.service.metadata_tagging',
      'functional.service.improve',
      'essential.service.notifications',
      'marketing.advertising',
      'marketing.communications',
      'analytics.aggregated_research',
      'third_party_sharing.service_operation',
      'third_party_sharing.legal_obligation',
      'third_party_sharing.business_transfer',
      'essential.service.security',
      'essential.fraud_detection',
      'essential.service.operations.support',
    ]) {
      expect({ k, statementRef: vocabulary.purpose(k)?.statementRef !== undefined }).toEqual({ k, statementRef: true });
    }
    for (const p of vocabulary.list('purposes')) {
      if (p.key === 'marketing' || p.key.startsWith('marketing.')) expect({ k: p.key, c: p.consentRequired }).toEqual({ k: p.key, c: true });
      if (p.key === 'essential' || p.key.startsWith('essential.')) expect({ k: p.key, c: p.consentRequired }).toEqual({ k: p.key, c: false });
    }
    expect(vocabulary.purpose('analytics.aggregated_research')?.consentRequired).toBe(true);
    expect(vocabulary.purpose('third_party_sharing.service_operation')?.consentRequired).toBe(false);
  });

  it('maps legal bases to Art. 6(1)(a)..(f) and rights to their articles', () => {
    expect(vocabulary.list('legal-bases').map((e) => [e.key, e.article])).toEqual(
      LEGAL_BASIS_KEYS.map((k, i) => [k, `Art. 6(1)(${'abcdef'[i]})`]),
    );
    const articles = Object.fromEntries(vocabulary.list('rights').map((r) => [r.key, r.article]));
    expect(articles).toEqual({
      access: 'Art. 15',
      rectification: 'Art. 16',
      erasure: 'Art. 17',
      restriction: 'Art. 18',
      portability: 'Art. 20',
      objection: 'Art. 21',
      objection_automated_decision: 'Art. 22',
      consent_withdrawal: 'Art. 7(3)',
    });
    expect(Object.keys(articles).sort()).toEqual([...RIGHT_KEYS].sort());
  });

  it('marks only `none` as a transfer without a safeguard', () => {
    expect(vocabulary.list('transfer-mechanisms').map((t) => t.key).sort()).toEqual([...TRANSFER_MECHANISM_KEYS].sort());
    expect(vocabulary.transferMechanism('none')?.safeguard).toBe(false);
    expect(vocabulary.transferMechanism('standard_contractual_clauses')).toMatchObject({ article: 'Art. 46(2)(c)', safeguard: true });
    expect(vocabulary.transferMechanism('adequacy_decision')).toMatchObject({ article: 'Art. 45', safeguard: true });
    expect(vocabulary.transferMechanism('binding_corporate_rules')).toMatchObject({ article: 'Art. 47', safeguard: true });
    expect(vocabulary.transferMechanism('art49_derogation')?.article).toBe('Art. 49');
  });

  it('requires a ticket exactly for the case-driven human access reasons', () => {
    const ticketed = vocabulary
      .list('access-reasons')
      .filter((r) => r.ticketRequired)
      .map((r) => r.key)
      .sort();
    expect(ticketed).toEqual(
      ['breach_investigation', 'customer_initiated_support', 'fraud_investigation', 'security_review', 'third_party_legal_request'].sort(),
    );
    for (const k of ['service_operation', 'device_diagnostics', 'subject_request_fulfilment', 'audit', 'quality_assurance', 'analytics_job', 'marketing_campaign']) {
      expect(vocabulary.accessReason(k)?.ticketRequired).toBe(false);
    }
  });

  it('lists the 30 EEA states and the adequacy status of third countries', () => {
    const eea = vocabulary
      .list('countries')
      .filter((c) => c.eea)
      .map((c) => c.key)
      .sort();
    expect(eea).toEqual(
      'AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK'.split(' '),
    );
    for (const code of ['GB', 'CH', 'JP', 'KR', 'CA', 'IL', 'NZ', 'AR', 'UY', 'US', 'BR']) {
      expect({ code, eea: vocabulary.country(code)?.eea, adequacy: vocabulary.country(code)?.adequacy }).toEqual({ code, eea: false, adequacy: true });
    }
    for (const code of ['CN', 'IN', 'RU', 'SG', 'AU', 'TR', 'UA']) {
      expect({ code, adequacy: vocabulary.country(code)?.adequacy }).toEqual({ code, adequacy: false });
    }
    for (const c of vocabulary.list('countries')) {
      expect(typeof c.adequacy === 'boolean').toBe(!c.eea);
    }
  });

  it('resolves known keys and not unknown ones', () => {
    expect(vocabulary.has('data-categories', 'user.contact.email')).toBe(true);
    expect(vocabulary.get('data-categories', 'user.contact.email')?.name).toBe('Email');
    expect(vocabulary.has('purposes', AUDIT_PURPOSE_KEY)).toBe(true);
    expect(vocabulary.legalBasis('consent')?.article).toBe('Art. 6(1)(a)');
    expect(vocabulary.recipientKind('processor')).toBeDefined();
    expect(vocabulary.right('erasure')?.article).toBe('Art. 17');
    expect(vocabulary.country('DE')?.eea).toBe(true);

    expect(vocabulary.has('data-categories', 'user.contact.telepathy')).toBe(false);
    expect(vocabulary.has('data-categories', 'User.Contact.Email')).toBe(false);
    expect(vocabulary.get('purposes', 'marketing.telepathy')).toBeUndefined();
    expect(vocabulary.purpose('')).toBeUndefined();
    expect(vocabulary.transferMechanism('handshake')).toBeUndefined();
    expect(vocabulary.accessReason('curiosity')).toBeUndefined();
    expect(vocabulary.country('XX')).toBeUndefined();
    expect(vocabulary.country('de')).toBeUndefined();
    // A key of one vocabulary is not a key of another.
    expect(vocabulary.has('purposes', 'user.contact.email')).toBe(false);
  });

  it('hands out frozen entries', () => {
    const email = vocabulary.dataCategory('user.contact.email');
    expect(Object.isFrozen(email)).toBe(true);
    expect(Object.isFrozen(vocabulary.list('purposes'))).toBe(true);
  });
});

describe('Vocabulary.load validation', () => {
  const expectRejected = (dir: string, ...fragments: string[]): void => {
    let message = '';
    try {
      Vocabulary.load(dir);
    } catch (err: unknown) {
      message = err instanceof Error ? err.message : String(err);
    }
    expect(message).not.toBe('');
    for (const fragment of fragments) expect(message).toContain(fragment);
  };

  it('rejects a duplicated key, naming the file and the entry', () => {
    const dir = tempDataDir('data-categories', (doc) => {
      doc.entries.push({ ...doc.entries.find((e) => e['key'] === 'user.contact.email') });
    });
    expectRejected(dir, 'data-categories.json', 'user.contact.email', 'duplicate key');
  });

  it('rejects a key that is not dotted lowercase', () => {
    const dir = tempDataDir('purposes', (doc) => {
      doc.entries.push({ key: 'Essential.Service-Audit', name: 'Bad', description: 'Bad key', origin: 'fideslang', consentRequired: false });
    });
    expectRejected(dir, 'purposes.json', 'Essential.Service-Audit', 'key does not match');
  });

  it('rejects a lowercase country code', () => {
    const dir = tempDataDir('countries', (doc) => {
      doc.entries.push({ key: 'fr', name: 'France', description: 'x', origin: 'iso3166', eea: true });
    });
    expectRejected(dir, 'countries.json', '"fr"');
  });

  it('rejects a missing required field, an unknown field and a wrongly typed field', () => {
    expectRejected(
      tempDataDir('purposes', (doc) => {
        delete doc.entries[0]?.['consentRequired'];
      }),
      'purposes.json',
      'consentRequired',
    );
    expectRejected(
      tempDataDir('access-reasons', (doc) => {
        if (doc.entries[0]) doc.entries[0]['ticketRequred'] = true;
      }),
      'access-reasons.json',
      'unknown field "ticketRequred"',
    );
    expectRejected(
      tempDataDir('transfer-mechanisms', (doc) => {
        if (doc.entries[0]) doc.entries[0]['safeguard'] = 'yes';
      }),
      'transfer-mechanisms.json',
      'safeguard',
    );
  });

  it('rejects an extension without a parent or with a parent that does not exist', () => {
    expectRejected(
      tempDataDir('data-categories', (doc) => {
        const mac = doc.entries.find((e) => e['key'] === 'user.device.mac_address');
        if (mac) delete mac['parent'];
      }),
      'data-categories.json',
      'user.device.mac_address',
      'parent',
    );
    expectRejected(
      tempDataDir('data-categories', (doc) => {
        doc.entries.push({ key: 'user.gadget.serial', name: 'x', description: 'x', origin: 'extension', parent: 'user.gadget', statementRef: 'serial number' });
      }),
      'user.gadget.serial',
      'parent "user.gadget"',
    );
  });

  it('rejects a directory missing a key that code depends on', () => {
    const dir = tempDataDir('purposes', (doc) => {
      doc.entries = doc.entries.filter((e) => e['key'] !== AUDIT_PURPOSE_KEY);
    });
    expectRejected(dir, 'purposes.json', AUDIT_PURPOSE_KEY);
  });

  it('rejects a missing file and a file of the wrong vocabulary', () => {
    const dir = tempDataDir('rights', () => undefined);
    rmSync(join(dir, 'rights.json'));
    expectRejected(dir, 'rights.json', 'cannot be read');
    const swapped = tempDataDir('rights', () => undefined);
    cpSync(join(swapped, 'countries.json'), join(swapped, 'rights.json'));
    expectRejected(swapped, 'rights.json', '"vocabulary" must be "rights"');
  });
});
