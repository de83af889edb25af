/**
 * The three fields the verifier's sequential checks need from a stored record — streamId,
 * streamRevision, globalPosition — read without JSON.parse for records in the writer's form.
 *
 * The writer stores RFC 8785 text: members in sorted order, no whitespace, so a record ends
 *   …,"globalPosition":N,"metadata":{…},"occurredAt":"…"[,"pii":"…"],"recordedAt":"…",
 *   "streamId":"…","streamRevision":N,"subjectId":"…"|null,"type":"…"}
 * The fast path reads that tail backwards from the closing brace (the metadata object is
 * crossed with a depth count), and accepts only: digits-only integers without leading zeros
 * (≤ 15 digits), a streamId of printable ASCII without escapes. Anything else — another member
 * order, whitespace, escapes, a number in another form, a missing member — goes to JSON.parse,
 * which decides exactly as the verifier always did.
 *
 * For valid JSON the fast path and JSON.parse agree: the members read are the last top-level
 * members of the object (nothing but the fixed tail follows them), and JSON.parse keeps the last
 * of duplicate names. The fast path does not check that the part before globalPosition is valid
 * JSON; the verifier confirms with JSON.parse every record at which it reports a break, and a
 * record whose stored hash does not verify is parsed to tell `unparseable-record` from
 * `hash-mismatch`. What is left: a non-JSON record whose hash verifies (someone recomputed the
 * chain) and whose tail looks right is not named unparseable; the Merkle root over its bytes
 * still fails every signed checkpoint that covers it.
 */

export interface ParsedRecord {
  streamId: string;
  streamRevision: number;
  globalPosition?: unknown;
}

/** The verifier's reading of a record (JSON.parse): null when it is not a ledger record. */
export function parseLedgerRecord(bytes: Uint8Array): ParsedRecord | null {
  try {
    const value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8')) as Partial<ParsedRecord> | null;
    if (typeof value !== 'object' || value === null) return null;
    if (typeof value.streamId !== 'string' || !Number.isSafeInteger(value.streamRevision)) return null;
    return value as ParsedRecord;
  } catch {
    return null;
  }
}

/** Reusable output of readRecordFields (one per verifier, no allocation per event). */
export interface RecordFields {
  /**
   * The stream's key: `keyBytes[keyStart..keyEnd)`. Printable-ASCII streamIds are their own
   * bytes; any other streamId is 0xFF followed by its UTF-16 code units, so every distinct
   * string has distinct key bytes and both paths give the same key for the same string.
   */
  keyBytes: Uint8Array;
  keyStart: number;
  keyEnd: number;
  streamRevision: number;
  /** As the record states it; undefined when the record names no globalPosition. */
  globalPosition: unknown;
}

export function emptyFields(): RecordFields {
  return { keyBytes: new Uint8Array(0), keyStart: 0, keyEnd: 0, streamRevision: 0, globalPosition: undefined };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const TYPE = ascii(',"type":');
const SUBJECT = ascii(',"subjectId":');
const REVISION = ascii(',"streamRevision":');
const STREAM = ascii(',"streamId":');
const RECORDED = ascii(',"recordedAt":');
const PII = ascii(',"pii":');
const OCCURRED = ascii(',"occurredAt":');
const METADATA = ascii(',"metadata":');
const GLOBAL = ascii(',"globalPosition":');
const NULL = ascii('null');

/** True when `b[end - literal.length .. end)` is `literal`, after `floor`. */
function endsWith(b: Uint8Array, end: number, literal: Uint8Array, floor: number): boolean {
  const start = end - literal.length;
  if (start <= floor) return false;
  for (let k = 0; k < literal.length; k++) if (b[start + k] !== literal[k]) return false;
  return true;
}

/**
 * Index of the opening quote of the string whose closing quote is at `close`, or -1: the
 * nearest quote before it not escaped by an odd run of backslashes (exact for valid JSON,
 * where a string holds no bare quote).
 */
function stringStart(b: Uint8Array, close: number, floor: number): number {
  for (let k = close - 1; ; k--) {
    k = b.lastIndexOf(QUOTE, k);
    if (k <= floor) return -1;
    let slashes = 0;
    while (b[k - 1 - slashes] === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return k;
  }
}

/** As stringStart, for a string of printable ASCII without escapes; -1 for any other string. */
function plainStringStart(b: Uint8Array, close: number, floor: number): number {
  for (let k = close - 1; k > floor; k--) {
    const c = b[k]!;
    if (c === QUOTE) return k;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}

/** Index of the `{` matching the `}` at `close`, crossing nested values and strings, or -1. */
function objectStart(b: Uint8Array, close: number, floor: number): number {
  let depth = 0;
  for (let k = close; k > floor; k--) {
    const c = b[k]!;
    if (c === QUOTE) {
      k = stringStart(b, k, floor);
      if (k < 0) return -1;
    } else if (c === RBRACE || c === RBRACKET) depth++;
    else if (c === LBRACE || c === LBRACKET) {
      depth--;
      if (depth === 0) return c === LBRACE ? k : -1;
    }
  }
  return -1;
}

let integerValue = 0;
/** Start of the canonical non-negative integer (≤ 15 digits) ending at `end`, value in integerValue; or -1. */
function integerStart(b: Uint8Array, end: number, floor: number): number {
  let k = end;
  let value = 0;
  let scale = 1;
  while (k - 1 > floor && b[k - 1]! >= 0x30 && b[k - 1]! <= 0x39) {
    k--;
    value += (b[k]! - 0x30) * scale;
    scale *= 10;
  }
  const digits = end - k;
  if (digits === 0 || digits > 15 || (digits > 1 && b[k] === 0x30)) return -1;
  integerValue = value;
  return k;
}

/** The fast path; false when the record is not in the writer's form. */
function readCanonicalTail(b: Uint8Array, start: number, end: number, into: RecordFields): boolean {
  const floor = start;
  if (end - start < 2 || b[start] !== LBRACE || b[end - 1] !== RBRACE) return false;
  let i = end - 1;
  // "type":"…"
  if (b[i - 1] !== QUOTE) return false;
  i = stringStart(b, i - 1, floor);
  if (i < 0 || !endsWith(b, i, TYPE, floor)) return false;
  i -= TYPE.length;
  // "subjectId":"…" | null
  if (b[i - 1] === QUOTE) i = stringStart(b, i - 1, floor);
  else i = endsWith(b, i, NULL, floor) ? i - NULL.length : -1;
  if (i < 0 || !endsWith(b, i, SUBJECT, floor)) return false;
  i -= SUBJECT.length;
  // "streamRevision":N
  i = integerStart(b, i, floor);
  if (i < 0 || !endsWith(b, i, REVISION, floor)) return false;
  const revision = integerValue;
  i -= REVISION.length;
  // "streamId":"…"
  if (b[i - 1] !== QUOTE) return false;
  const keyEnd = i - 1;
  i = plainStringStart(b, keyEnd, floor);
  if (i < 0 || !endsWith(b, i, STREAM, floor)) return false;
  const keyStart = i + 1;
  i -= STREAM.length;
  // "recordedAt":"…"
  if (b[i - 1] !== QUOTE) return false;
  i = stringStart(b, i - 1, floor);
  if (i < 0 || !endsWith(b, i, RECORDED, floor)) return false;
  i -= RECORDED.length;
  // ["pii":"…",] "occurredAt":"…"
  if (b[i - 1] !== QUOTE) return false;
  i = stringStart(b, i - 1, floor);
  if (i >= 0 && endsWith(b, i, PII, floor)) {
    i -= PII.length;
    if (b[i - 1] !== QUOTE) return false;
    i = stringStart(b, i - 1, floor);
  }
  if (i < 0 || !endsWith(b, i, OCCURRED, floor)) return false;
  i -= OCCURRED.length;
  // "metadata":{…}
  if (b[i - 1] !== RBRACE) return false;
  i = objectStart(b, i - 1, floor);
  if (i < 0 || !endsWith(b, i, METADATA, floor)) return false;
  i -= METADATA.length;
  // "globalPosition":N
  i = integerStart(b, i, floor);
  if (i < 0 || !endsWith(b, i, GLOBAL, floor)) return false;
  into.keyBytes = b;
  into.keyStart = keyStart;
  into.keyEnd = keyEnd;
  into.streamRevision = revision;
  into.globalPosition = integerValue;
  return true;
}

let scratch = Buffer.alloc(256);

/** Fills `into` from the record at `b[start..end)`; false when it is not a ledger record. */
export function readRecordFields(b: Uint8Array, start: number, end: number, into: RecordFields): boolean {
  if (readCanonicalTail(b, start, end, into)) return true;
  const parsed = parseLedgerRecord(b.subarray(start, end));
  if (!parsed) return false;
  const id = parsed.streamId;
  const plain = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(id);
  const length = plain ? id.length : 1 + 2 * id.length;
  if (scratch.length < length) scratch = Buffer.alloc(length * 2);
  if (plain) scratch.write(id, 0, 'latin1');
  else {
    scratch[0] = 0xff;
    scratch.write(id, 1, 'utf16le');
  }
  into.keyBytes = scratch;
  into.keyStart = 0;
  into.keyEnd = length;
  into.streamRevision = parsed.streamRevision;
  into.globalPosition = parsed.globalPosition;
  return true;
}
