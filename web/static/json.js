// JSON as orderd's answers and dead letters need it read: exact int64
// integers, and the text exactly as sent. No DOM: tested with node --test.

// JSON_TOKEN matches one JSON token after any white space. It splits text
// into tokens and nothing more: JSON.parse is what decides whether text
// is JSON.
const JSON_TOKEN = /\s*("(?:[^"\\]|\\.)*"|[{}[\]:,]|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/y;

// jsonTokens splits JSON text into its tokens, each exactly as written,
// or returns null for text it cannot tokenize. The DLQ editor compares
// payloads by them; parseJSON reads numbers from them.
export function jsonTokens(text) {
  const tokens = [];
  JSON_TOKEN.lastIndex = 0;
  while (JSON_TOKEN.lastIndex < text.length) {
    const at = JSON_TOKEN.lastIndex;
    const m = JSON_TOKEN.exec(text);
    if (!m) return /^\s*$/.test(text.slice(at)) ? tokens : null;
    tokens.push(m[1]);
  }
  return tokens;
}

const INTEGER = /^-?\d+$/;

// parseJSON reads JSON as JSON.parse does, except that an integer beyond
// Number.MAX_SAFE_INTEGER (2^53 - 1) becomes a BigInt of exactly the
// digits sent. JSON.parse rounds it to the nearest double, and orderd's
// ids and amounts are int64: nm_id 9223372036854775807 would come back as
// 9223372036854775808, and a correct payment would seem not to add up.
// Every other integer stays a Number, so code that only ever sees small
// ones is unchanged; code that reads an int64 takes either (exactInt).
//
// Why a reader of our own, and not JSON.parse's reviver with
// context.source: that third argument is new (Chromium 114, other engines
// later), and where it is missing the reviver still runs and the digits
// are lost without a word. This works in any engine with BigInt, reuses
// the DLQ editor's tokenizer, and leaves every question of syntax (and
// its error message) to JSON.parse, which reads the text first.
//
// Each string is one regular-expression match, so this is for texts whose
// strings are short, like orders (at most 1024 bytes each); see
// TREE_MAX_BYTES for dead letters.
export function parseJSON(text) {
  const rounded = JSON.parse(text);
  const tokens = jsonTokens(text);
  if (tokens === null) return rounded; // not reached: JSON.parse accepted the text
  let i = 0;
  const value = () => {
    const t = tokens[i++];
    if (t === '{') {
      const obj = {};
      if (tokens[i] === '}') {
        i++;
        return obj;
      }
      do {
        const key = JSON.parse(tokens[i]);
        i += 2; // the key and its colon
        // Defined, not assigned, as JSON.parse does: a key "__proto__"
        // is then a property like any other, not the object's prototype.
        Object.defineProperty(obj, key, { value: value(), writable: true, enumerable: true, configurable: true });
      } while (tokens[i++] === ',');
      return obj;
    }
    if (t === '[') {
      const arr = [];
      if (tokens[i] === ']') {
        i++;
        return arr;
      }
      do arr.push(value()); while (tokens[i++] === ',');
      return arr;
    }
    if (INTEGER.test(t)) {
      const n = Number(t);
      return Number.isSafeInteger(n) ? n : BigInt(t);
    }
    return JSON.parse(t); // a string, a number with a fraction or exponent, true, false or null
  };
  return value();
}

// exactInt returns an integer read by parseJSON as a BigInt, or null if v
// is not one. A Number that is not a safe integer is refused too: its
// digits may already be wrong, and a dash is better than a wrong amount.
export function exactInt(v) {
  if (typeof v === 'bigint') return v;
  return Number.isSafeInteger(v) ? BigInt(v) : null;
}

// normalizeJSON rewrites JSON text token by token the way JSON.stringify
// would if nothing were lost: no white space, strings re-escaped (Go's
// \u0026 for & is the same string), numbers and keys exactly as written.
// It returns null for text it cannot tokenize.
export function normalizeJSON(text) {
  const tokens = jsonTokens(text);
  return tokens && tokens.map((t) => (t[0] === '"' ? JSON.stringify(JSON.parse(t)) : t)).join('');
}

// payloadText is what the operator edits: pretty JSON when that changes
// nothing but layout and string escapes, the text as received otherwise.
// JSON.parse silently drops duplicate keys, rounds big numbers, rewrites
// 1.0 as 1 and moves integer-like keys first; an operator fixing a
// message must see what was actually sent, not a quietly repaired copy.
export function payloadText(raw, isJSON) {
  if (!isJSON) return { text: raw, note: 'as received (not JSON)' };
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { text: raw, note: 'as received' };
  }
  if (normalizeJSON(raw) !== JSON.stringify(parsed)) {
    return { text: raw, note: 'as received: pretty-printing would change it (duplicate keys, number forms or key order)' };
  }
  return { text: JSON.stringify(parsed, null, 2), note: 'JSON, pretty-printed' };
}

// TREE_MAX_BYTES bounds the payloads shown as a tree: parseJSON is exact
// but not made for megabytes, and a tree of that many nodes helps nobody.
export const TREE_MAX_BYTES = 256 * 1024;

// treeOf reads a payload for the JSON tree: { value } with exact integers,
// or { why } it cannot be shown as one.
export function treeOf(raw, isJSON) {
  if (!isJSON) return { why: 'not JSON: see the raw text' };
  if (raw.length > TREE_MAX_BYTES) return { why: `too large for a tree (over ${TREE_MAX_BYTES / 1024} KiB): see the raw text` };
  try {
    return { value: parseJSON(raw) };
  } catch (err) {
    return { why: `not JSON (${err.message}): see the raw text` };
  }
}

// nodeKind names what a JSON value is, for the tree's styling.
export function nodeKind(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'bigint') return 'number';
  return typeof v; // object, string, number, boolean
}

// nodeSummary is what a collapsed object or array shows: how much is in
// it.
export function nodeSummary(v) {
  if (Array.isArray(v)) return `[${v.length} ${v.length === 1 ? 'item' : 'items'}]`;
  const n = Object.keys(v).length;
  return `{${n} ${n === 1 ? 'key' : 'keys'}}`;
}

// scalarText is how a leaf of the tree reads: a string quoted as JSON
// writes it (so "1" and 1 differ), a number with every digit.
export function scalarText(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}

// children lists an object's or array's entries as [key, value] pairs,
// keys of arrays as their index.
export function children(v) {
  return Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
}
