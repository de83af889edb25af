// Property check: the store's fast canonical record text equals canonicalRecordBytes (RFC 8785,
// the `canonicalize` package) for arbitrary JSON-like records, including odd strings and numbers.
import fc from 'fast-check';
import { canonicalRecordText } from '../../dist/src/event-store/sqlite/sqlite-event-store.js';
import { canonicalRecordBytes } from '../../dist/src/integrity/chain.js';

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

const record = fc.record({
  eventId: fc.uuid(),
  type: fc.string(),
  streamId: fc.string({ unit: 'binary' }),
  streamRevision: fc.nat(),
  globalPosition: fc.nat(),
  occurredAt: fc.string(),
  recordedAt: fc.string(),
  subjectId: fc.option(fc.string({ unit: 'binary' })),
  actor: fc.record({ id: fc.string(), kind: fc.string(), system: fc.string({ unit: 'binary' }) }),
  data: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), json, { maxKeys: 8 }),
  pii: fc.option(fc.string(), { nil: undefined }),
  metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.option(fc.string(), { nil: undefined }), { maxKeys: 3 }),
});

const outcome = (f) => {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
};
fc.assert(
  fc.property(record, (r) => {
    const expected = outcome(() => canonicalRecordBytes(r).toString('utf8'));
    const actual = outcome(() => canonicalRecordText(r));
    if (JSON.stringify(expected) !== JSON.stringify(actual)) throw new Error(`differs:\n${JSON.stringify(expected)}\n${JSON.stringify(actual)}`);
  }),
  { numRuns: Number(process.argv[2] ?? 20000) },
);
console.log('canonical record text: identical to canonicalRecordBytes on every generated record');

// Hand-picked edge cases (each must agree, including by throwing the same way).
const base = { eventId: '9b2f5a1e-0000-4000-8000-000000000001', type: 'T', streamId: 's', streamRevision: 0, globalPosition: 0, occurredAt: 'x', recordedAt: 'y', subjectId: null, actor: { id: 'a', kind: 'k', system: 's' }, metadata: {} };
const cases = [
  { a: '\ud800' }, { '\udc00': 1 }, { a: 'ok \ud83d\ude00 pair' }, { a: NaN }, { a: Infinity }, { a: -0 }, { a: 1e21 }, { a: 5e-324 }, { a: 0.1 + 0.2 },
  { 10: 'x', 2: 'y', b: 1 }, { a: [undefined, () => 1, Symbol('s'), null] }, { a: undefined, b: () => 1 }, { d: new Date(0) },
  { n: new Number(3) }, { s: Object('str') }, { nested: { z: 1, a: { y: [{ b: 2, a: 1 }] } } }, { esc: '"\\\n\t\u0001\u001f\u007f\u2028' },
  { text: 'literal \\ud800 text' }, { big: 2n }, { é: 1, e: 2, E: 3, ä: 4, '': 5 },
];
let agreed = 0;
for (const data of cases) {
  for (const extra of [{}, { pii: 'v1.x' }, { subjectId: 'cust-1' }, { metadata: { emitter: 'e', correlationId: 'c' } }]) {
    const r = { ...base, ...extra, data };
    const expected = outcome(() => canonicalRecordBytes(r).toString('utf8'));
    const actual = outcome(() => canonicalRecordText(r));
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      console.error('MISMATCH', data, expected, actual);
      process.exitCode = 1;
    } else agreed++;
  }
}
console.log(`edge cases: ${agreed} agree`);
