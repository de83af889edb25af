import canonicalize from 'canonicalize';

/** A value the fast path does not handle exactly as `canonicalize` does; the generic path decides. */
class NotPlainJson extends Error {}

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value: the same text as the
 * `canonicalize` package, which stays the reference, and the same errors (lone surrogates,
 * non-finite numbers, cycles throw; a top-level value JSON cannot express gives undefined).
 *
 * Plain JSON — what a request body parses to — takes one JSON.stringify over a copy whose
 * object members are in canonical order: V8 keeps insertion order for string keys, and
 * JSON.stringify's string escaping and number formatting are the ones RFC 8785 prescribes.
 * Objects already in canonical order are reused, not copied. Anything JSON.stringify would
 * treat differently (toJSON, boxed primitives, non-finite numbers, BigInt, keys V8 orders as
 * array indices, lone surrogates) goes to `canonicalize`.
 */
export function canonicalJson(value: unknown): string | undefined {
  try {
    const text = JSON.stringify(inCanonicalOrder(value));
    // JSON.stringify escapes a lone surrogate as \udXXX where canonicalize refuses it; a
    // literal "\ud" in a string also matches and merely takes the generic path.
    if (text !== undefined && text.includes('\\ud')) throw new NotPlainJson();
    return text;
  } catch (error) {
    if (!(error instanceof NotPlainJson) && !(error instanceof RangeError)) throw error;
    return canonicalize(value);
  }
}

/**
 * The value with every object's members inserted in RFC 8785 order (UTF-16 code units);
 * arrays keep their order. Members already in order are reused, so a value built in canonical
 * order costs one walk and no copy. Throws NotPlainJson for what canonicalJson hands to the
 * generic path.
 */
function inCanonicalOrder(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
    case 'function':
    case 'symbol':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotPlainJson();
      return value;
    case 'object':
      if (value === null) return null;
      return Array.isArray(value) ? arrayInOrder(value) : objectInOrder(value);
    default:
      throw new NotPlainJson();
  }
}

function arrayInOrder(array: readonly unknown[]): readonly unknown[] {
  let copy: unknown[] | null = null;
  for (let i = 0; i < array.length; i++) {
    const element = array[i];
    const ordered = inCanonicalOrder(element);
    if (ordered !== element) (copy ??= array.slice())[i] = ordered;
  }
  return copy ?? array;
}

function objectInOrder(object: object): object {
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function' || object instanceof Number || object instanceof String || object instanceof Boolean) {
    throw new NotPlainJson();
  }
  const record = object as Record<string, unknown>;
  const keys = Object.keys(record);
  let sorted = true;
  // Ordered members, made only once a member had to be copied.
  let members: unknown[] | null = null;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    // V8 lists integer-like keys first, in numeric order (not RFC 8785's), and assigning an
    // own "__proto__" member to a copy would set its prototype instead.
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__') throw new NotPlainJson();
    if (i > 0 && keys[i - 1]! > key) sorted = false;
    const member = record[key];
    const ordered = inCanonicalOrder(member);
    if (members) members.push(ordered);
    else if (ordered !== member) {
      members = [];
      for (let j = 0; j < i; j++) members.push(record[keys[j]!]);
      members.push(ordered);
    }
  }
  if (sorted && !members) return object;
  const order = keys.map((_, i) => i);
  if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  const copy: Record<string, unknown> = {};
  for (const i of order) copy[keys[i]!] = members ? members[i] : record[keys[i]!];
  return copy;
}
