import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson } from '../../../src/integrity/canonical-json.js';
import { canonicalDigest } from '../../../src/integrity/chain.js';
import { SqliteSubjectKeyring } from '../../../src/crypto/sqlite-subject-keyring.js';
import { SqliteEventStore } from '../../../src/event-store/sqlite/sqlite-event-store.js';
import { RecordEventsCommand, RecordEventsHandler } from '../../../src/ledger/commands/record-events/record-events.handler.js';
import { parseEvent } from '../../../src/ledger/commands/record-events/event-envelope.dto.js';
import { LEDGER_EVENT_TYPES } from '../../../src/ledger/domain/events.js';
import { exampleCatalogue, exampleIds } from '../../support/example-events.js';

/*
 * Idempotency digests are compared with digests stored by earlier versions, which hashed the
 * text of the `canonicalize` package (RFC 8785). canonicalJson must give that text, or the
 * same error, for every value.
 */

function outcome(f: () => string | undefined): { text?: string | undefined; error?: true } {
  try {
    return { text: f() };
  } catch {
    return { error: true };
  }
}

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('canonical JSON (RFC 8785)', () => {
  it('is the text of canonicalize, or fails where it fails, for any JSON-like value', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => canonicalize(value)));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['a lone surrogate', { a: '\ud800' }],
    ['a lone surrogate in a key', { '\udc00': 1 }],
    ['a surrogate pair', { a: 'ok \ud83d\ude00' }],
    ['a literal backslash-u text', { a: 'literal \\ud800' }],
    ['non-finite numbers', { a: NaN, b: Infinity }],
    ['negative zero and large and small numbers', { a: -0, b: 1e21, c: 5e-324, d: 0.1 + 0.2 }],
    ['integer-like keys', { 10: 'x', 2: 'y', b: 1 }],
    ['an own __proto__ member', JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown],
    ['toJSON and boxed values', { d: new Date(0), n: Object(3) as unknown, s: Object('s') as unknown }],
    ['members JSON drops', { a: undefined, b: () => 1, c: [undefined, () => 1, null] }],
    ['keys by UTF-16 code units', { é: 1, e: 2, E: 3, ä: 4, '': 5, '\u{1F600}': 6, '\uFB33': 7 }],
    ['nested objects out of order', { z: { y: [{ b: 2, a: 1 }], x: 1 }, a: [] }],
    ['escapes', { esc: '"\\\n\t\u0001\u001f\u007f\u2028' }],
    ['a BigInt', { big: 2n }],
    ['a top-level primitive', 'text'],
    ['undefined', undefined],
  ])('agrees on %s', (_case, value) => {
    expect(outcome(() => canonicalJson(value))).toEqual(outcome(() => canonicalize(value)));
  });

  it('reuses nothing it may not: a cycle fails as in canonicalize', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow();
  });
});

describe('the idempotency digest', () => {
  it(`of every one of the ${LEDGER_EVENT_TYPES.length} event types, as parsed, is SHA-256 of canonicalize({ ...event, piiDigest })`, () => {
    for (const body of exampleCatalogue(exampleIds('digest'))) {
      const { parsed, errors } = parseEvent(body, '', new Date('2027-01-01T00:00:00Z'));
      expect(errors).toEqual([]);
      for (const piiDigest of [null, 'a'.repeat(64)]) {
        const content = { ...parsed!.event, piiDigest };
        const earlier = createHash('sha256').update(canonicalize(content)!, 'utf8').digest('hex');
        expect(canonicalDigest(content)).toBe(earlier);
      }
    }
  });
});

describe('recorded events', () => {
  let dir: string;
  let store: SqliteEventStore;
  let keyring: SqliteSubjectKeyring;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-digest-'));
    store = new SqliteEventStore({ file: join(dir, 'events.db') });
    keyring = new SqliteSubjectKeyring(join(dir, 'keys.db'), randomBytes(32));
  });
  afterAll(async () => {
    await store.close();
    await keyring.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('store the digest earlier versions stored, with and without personal values', async () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const catalogue = exampleCatalogue(exampleIds('recorded')).filter((e) => e.type === 'PersonalDataAccessed' || e.type === 'BreachDetected');
    const bodies = [...catalogue, { ...catalogue[0]!, eventId: '0e9f4c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6', pii: { email: 'jane@example.org', name: 'Jane' } }];
    const parsed = bodies.map((b) => parseEvent(b, '', now).parsed!);
    await new RecordEventsHandler(store, keyring).execute(new RecordEventsCommand(parsed));
    for (const { event, pii } of parsed) {
      const key = pii ? await keyring.dataKey(event.subjectId!, { create: false }) : null;
      const piiDigest = pii && key ? createHmac('sha256', key).update(canonicalize(pii)!, 'utf8').digest('hex') : null;
      const earlier = createHash('sha256').update(canonicalize({ ...event, piiDigest })!, 'utf8').digest('hex');
      expect((await store.findByEventId(event.eventId))?.contentDigest).toBe(earlier);
    }
  });
});
