/**
 * A fast reader for the plain YAML that scenario files are made of: block maps and lists, flow maps and
 * lists (so JSON too), plain and quoted one-line scalars, comments. It reads a 10 MB file in a fraction
 * of a second, where the yaml library's concrete syntax tree takes seconds and a gigabyte.
 *
 * It never guesses: at anything else (anchors, aliases, tags, block scalars, multi-line scalars, empty
 * values, explicit keys, directives, several documents, tabs, CR line ends, a byte-order mark,
 * control characters, a syntax error) it answers undefined and the yaml library reads the file, reporting its errors. What
 * it does read, it reads exactly as the yaml library does (YAML 1.2 core schema, integers as bigint):
 * test/scenario/yaml-subset.test.ts compares the two on generated files.
 */
import type { MapNode, MapPair, ScalarNode, ScalarValue, SeqNode, SyntaxNode } from './syntax-tree.js';

/** Outside the subset (or not well-formed): the yaml library reads the file instead. */
const OUTSIDE = new Error('outside the plain YAML subset');

/** Characters the subset leaves to the yaml library wherever they are (a byte-order mark too). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is excluded
const UNSUPPORTED_CHARS = /[\t\r\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;
/** Directives and document markers. */
const DOCUMENT_MARKERS = /^(?:%|---(?:[ \n]|$)|\.\.\.(?:[ \n]|$))/m;

/** Nesting deeper than this is left to the yaml library (and keeps this reader's stack small). */
const MAX_DEPTH = 256;
/** The yaml library refuses implicit keys longer than 1024 characters; longer ones are left to it. */
const MAX_KEY_LENGTH = 1000;

const SPACE = 0x20;
const NEWLINE = 0x0a;
const HASH = 0x23;
const COLON = 0x3a;
const COMMA = 0x2c;
const DASH = 0x2d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Returns the document's root, or undefined when the text is not in the subset. */
export function parseYamlSubset(text: string): SyntaxNode | undefined {
  if (UNSUPPORTED_CHARS.test(text) || DOCUMENT_MARKERS.test(text)) return undefined;
  let tape: Tape;
  try {
    tape = new SubsetReader(text).document();
  } catch (e) {
    if (e === OUTSIDE) return undefined;
    throw e;
  }
  return nodeAt(text, tape, 0);
}

const isFlowIndicator = (c: number): boolean =>
  c === COMMA || c === OPEN_BRACKET || c === CLOSE_BRACKET || c === OPEN_BRACE || c === CLOSE_BRACE;

/** Characters that cannot start a plain scalar (`-` can, before a non-space; `?` and `:` are left out). */
const isIndicator = (c: number): boolean =>
  isFlowIndicator(c) ||
  c === HASH ||
  c === 0x26 /* & */ ||
  c === 0x2a /* * */ ||
  c === 0x21 /* ! */ ||
  c === 0x7c /* | */ ||
  c === 0x3e /* > */ ||
  c === APOSTROPHE ||
  c === QUOTE ||
  c === 0x25 /* % */ ||
  c === 0x40 /* @ */ ||
  c === 0x60 /* ` */ ||
  c === 0x3f /* ? */ ||
  c === COLON;

const DOUBLE_QUOTE_ESCAPES: Readonly<Record<string, string>> = Object.assign(Object.create(null), {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
});

// The core schema's tests, in the order the yaml library tries them (yaml/dist/schema/core).
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Plain scalars that may be something other than a string start with one of these. */
const MAYBE_NOT_STRING = /^[-+.~0-9nNtTfF]/;

/** A plain scalar's value under the core schema. */
function resolvePlain(source: string): ScalarValue {
  if (!MAYBE_NOT_STRING.test(source)) return source;
  if (NULL.test(source)) return null;
  if (BOOL.test(source)) return source[0] === 't' || source[0] === 'T';
  if (INT_OCT.test(source) || INT.test(source) || INT_HEX.test(source)) return BigInt(source);
  if (FLOAT_NAN.test(source))
    return source.slice(-3).toLowerCase() === 'nan'
      ? Number.NaN
      : source[0] === '-'
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY;
  if (FLOAT_EXP.test(source) || FLOAT.test(source)) return Number.parseFloat(source);
  return source;
}

/**
 * The document's structure, compact: one record of four integers per node, in document order (a
 * collection's record, then its items; a map's items are key, value, key, value...). Nodes become
 * objects only when a reader asks for them (nodeAt), and scalars get their values then, so a large file
 * costs a typed array rather than millions of objects the garbage collector must walk.
 */
class Tape {
  /** Per record: kind | count << 3 (items of a list, pairs of a map), start, end (scalars), records spanned. */
  data = new Int32Array(4096);
  records = 0;

  /** Appends a record; returns its index. */
  add(kind: number, start: number, end: number): number {
    const i = this.records++;
    if (i * 4 + 4 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[i * 4] = kind;
    this.data[i * 4 + 1] = start;
    this.data[i * 4 + 2] = end;
    this.data[i * 4 + 3] = 1;
    return i;
  }

  /** A collection's record is complete: it has `count` items and spans every record after it. */
  close(i: number, count: number): void {
    this.data[i * 4] |= count << 3;
    this.data[i * 4 + 3] = this.records - i;
  }
}

const PLAIN = 1;
const DOUBLE_QUOTED = 2;
const SINGLE_QUOTED = 3;
const MAP = 4;
const SEQ = 5;

/** The node of record `i`, made on demand (each call makes a new one; readers do not keep them). */
function nodeAt(text: string, tape: Tape, i: number): SyntaxNode {
  const d = tape.data;
  const kind = d[i * 4] & 7;
  const start = d[i * 4 + 1];
  if (kind === MAP) return new TapeMap(text, tape, i, start);
  if (kind === SEQ) return new TapeSeq(text, tape, i, start);
  const end = d[i * 4 + 2];
  const value =
    kind === PLAIN
      ? resolvePlain(text.slice(start, end))
      : kind === DOUBLE_QUOTED
        ? unescapeDoubleQuoted(text, start + 1, end - 1)
        : text.slice(start + 1, end - 1).replaceAll("''", "'");
  const scalar: ScalarNode = { kind: 'scalar', value, start, end };
  return scalar;
}

/** The records of the items of collection `i`. */
function childRecords(tape: Tape, i: number): number[] {
  const d = tape.data;
  const count = (d[i * 4] >> 3) * ((d[i * 4] & 7) === MAP ? 2 : 1);
  const out = new Array<number>(count);
  let child = i + 1;
  for (let k = 0; k < count; k++) {
    out[k] = child;
    child += d[child * 4 + 3];
  }
  return out;
}

/** A map or list of the tape: where it is; its items are made when asked for. */
abstract class TapeCollection {
  constructor(
    protected readonly text: string,
    protected readonly tape: Tape,
    private readonly record: number,
    readonly start: number,
  ) {}

  protected children(): SyntaxNode[] {
    return childRecords(this.tape, this.record).map((r) => nodeAt(this.text, this.tape, r));
  }
}

class TapeMap extends TapeCollection implements MapNode {
  readonly kind = 'map';

  get items(): MapPair[] {
    const children = this.children();
    const pairs = new Array<MapPair>(children.length / 2);
    for (let k = 0; k < pairs.length; k++) pairs[k] = { key: children[2 * k], value: children[2 * k + 1] };
    return pairs;
  }
}

class TapeSeq extends TapeCollection implements SeqNode {
  readonly kind = 'seq';

  get items(): SyntaxNode[] {
    return this.children();
  }
}

/** The value of a double-quoted scalar whose text (quotes excluded) is `from`..`to`; checked when read. */
function unescapeDoubleQuoted(text: string, from: number, to: number): string {
  let value = '';
  let done = from;
  for (let at = from; at < to; at++) {
    if (text.charCodeAt(at) !== BACKSLASH) continue;
    value += text.slice(done, at);
    const e = text[at + 1];
    const simple = DOUBLE_QUOTE_ESCAPES[e];
    if (simple !== undefined) {
      value += simple;
      at += 1;
    } else {
      const length = e === 'x' ? 2 : 4;
      value += String.fromCharCode(Number.parseInt(text.slice(at + 2, at + 2 + length), 16));
      at += 1 + length;
    }
    done = at + 1;
  }
  return value + text.slice(done, to);
}

/** A key found at the start of a line or item: where its scalar is, of which kind. */
interface Key {
  kind: number;
  start: number;
  end: number;
}

class SubsetReader {
  private pos = 0;
  /** Where the line holding `pos` starts. */
  private lineStart = 0;
  private depth = 0;
  private readonly tape = new Tape();

  constructor(private readonly text: string) {}

  document(): Tape {
    const indent = this.nextContentLine();
    if (indent < 0) throw OUTSIDE; // empty: the yaml library says what an empty document is
    this.blockNode(indent, -1);
    if (this.nextContentLine() >= 0) throw OUTSIDE;
    return this.tape;
  }

  private code(at = this.pos): number {
    return this.text.charCodeAt(at); // NaN past the end
  }

  private column(at = this.pos): number {
    return at - this.lineStart;
  }

  /** A space, a line end or the end of the text at `at`. */
  private blankAt(at: number): boolean {
    const c = this.text.charCodeAt(at);
    return c === SPACE || c === NEWLINE || Number.isNaN(c);
  }

  /**
   * From the end of a line (or the start of the text), past blank and comment-only lines to the first
   * character of the next content line: its indentation, or -1 at the end of the text.
   */
  private nextContentLine(): number {
    const text = this.text;
    for (;;) {
      let at = this.pos;
      while (text.charCodeAt(at) === SPACE) at++;
      const c = text.charCodeAt(at);
      if (Number.isNaN(c)) {
        this.pos = at;
        return -1;
      }
      if (c === NEWLINE || c === HASH) {
        const end = text.indexOf('\n', at);
        if (end < 0) {
          this.pos = text.length;
          return -1;
        }
        this.pos = end + 1;
        this.lineStart = end + 1;
        continue;
      }
      this.pos = at;
      return at - this.lineStart;
    }
  }

  /** The rest of the line is spaces and perhaps a comment; moves to the line end (or the text's end). */
  private endOfLine(): void {
    const text = this.text;
    let at = this.pos;
    while (text.charCodeAt(at) === SPACE) at++;
    const c = text.charCodeAt(at);
    if (c === HASH && at > this.pos) {
      const end = text.indexOf('\n', at);
      at = end < 0 ? text.length : end;
    } else if (c !== NEWLINE && !Number.isNaN(c)) throw OUTSIDE;
    this.pos = at;
  }

  /**
   * Past spaces: whether the line ends here (perhaps in a comment; then `pos` is at its end), else
   * `pos` is at what comes next on it.
   */
  private nothingMoreOnLine(): boolean {
    while (this.code() === SPACE) this.pos++;
    const c = this.code();
    if (c !== NEWLINE && c !== HASH && !Number.isNaN(c)) return false;
    if (c === HASH && this.code(this.pos - 1) !== SPACE) throw OUTSIDE;
    this.endOfLine();
    return true;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw OUTSIDE;
  }

  /**
   * A block node whose first character is at `pos`, in column `indent`, inside a block at
   * `parentIndent`. A one-line scalar may stand only where `scalarHere` (a list item: `- value`); alone
   * on its line it is left to the yaml library.
   */
  private blockNode(indent: number, parentIndent: number, scalarHere = false): void {
    const c = this.code();
    if (c === DASH && this.blankAt(this.pos + 1)) {
      this.blockSeq(indent);
      return;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      this.flowCollection(parentIndent);
      this.endOfLine();
      return;
    }
    const key = this.implicitKey();
    if (key !== undefined) {
      this.blockMap(indent, key);
      return;
    }
    if (!scalarHere) throw OUTSIDE;
    this.scalar(false);
    this.endOfLine();
  }

  /** A block list at column `indent`; `pos` is at its first `-`. */
  private blockSeq(indent: number): void {
    this.enter();
    const record = this.tape.add(SEQ, this.pos, 0);
    let count = 0;
    for (;;) {
      // pos is at '-', followed by a space or the line end
      this.pos++;
      if (this.nothingMoreOnLine()) {
        const next = this.nextContentLine();
        if (next <= indent) throw OUTSIDE; // an empty item
        this.blockNode(next, indent);
      } else this.blockNode(this.column(), indent, true); // on the dash's line: `- a: 1`, `- - x`, `- x`
      count++;
      const next = this.nextContentLine();
      if (next === indent && this.code() === DASH && this.blankAt(this.pos + 1)) continue;
      if (next > indent) throw OUTSIDE;
      this.depth--;
      this.tape.close(record, count);
      return;
    }
  }

  /**
   * If a `key:` starts at `pos`, where its key is (and `pos` just past the colon); otherwise undefined
   * and `pos` unchanged.
   */
  private implicitKey(): Key | undefined {
    const start = this.pos;
    const c = this.code();
    let key: Key;
    if (c === QUOTE || c === APOSTROPHE) {
      const end = this.quotedEnd(start);
      if (this.code(end) !== COLON || !this.blankAt(end + 1)) return undefined;
      key = { kind: c === QUOTE ? DOUBLE_QUOTED : SINGLE_QUOTED, start, end };
    } else {
      const end = this.plainEnd(start, false);
      if (this.code(end) !== COLON) return undefined;
      key = { kind: PLAIN, start, end };
    }
    if (key.end - start > MAX_KEY_LENGTH) throw OUTSIDE;
    this.pos = key.end + 1; // past the colon
    return key;
  }

  /** A block map at column `indent` whose first key has been found (`pos` just past its colon). */
  private blockMap(indent: number, firstKey: Key): void {
    this.enter();
    const record = this.tape.add(MAP, firstKey.start, 0);
    let key = firstKey;
    let count = 0;
    for (;;) {
      this.tape.add(key.kind, key.start, key.end);
      this.blockValue(indent);
      count++;
      const next = this.nextContentLine();
      if (next < indent) break;
      if (next > indent) throw OUTSIDE;
      const k = this.implicitKey();
      if (k === undefined) throw OUTSIDE;
      key = k;
    }
    this.depth--;
    this.tape.close(record, count);
  }

  /** The value after `key:` in a block map at `indent`: on the same line, or the block below. */
  private blockValue(indent: number): void {
    if (this.nothingMoreOnLine()) {
      const next = this.nextContentLine();
      if (next > indent) {
        this.blockNode(next, indent);
        return;
      }
      // a list may sit at its key's own indentation
      if (next === indent && this.code() === DASH && this.blankAt(this.pos + 1)) {
        this.blockSeq(indent);
        return;
      }
      throw OUTSIDE; // an empty value
    }
    const c = this.code();
    if (c === OPEN_BRACE || c === OPEN_BRACKET) this.flowCollection(indent);
    else this.scalar(false);
    this.endOfLine();
  }

  /** A quoted or plain scalar at `pos` (plain: on this line, ending where block or flow rules say). */
  private scalar(flow: boolean): void {
    const start = this.pos;
    const c = this.code();
    if (c === QUOTE || c === APOSTROPHE) {
      this.pos = this.quotedEnd(start);
      this.tape.add(c === QUOTE ? DOUBLE_QUOTED : SINGLE_QUOTED, start, this.pos);
    } else {
      this.pos = this.plainEnd(start, flow);
      this.tape.add(PLAIN, start, this.pos);
    }
  }

  /**
   * Where a plain scalar starting at `start` ends (trailing spaces left out), on its line: before
   * `: `, ` #`, the line end, and in flow context before `,[]{}` and `:` followed by one of them.
   */
  private plainEnd(start: number, flow: boolean): number {
    const text = this.text;
    const first = text.charCodeAt(start);
    if (first === DASH) {
      const next = text.charCodeAt(start + 1);
      if (next === SPACE || next === NEWLINE || Number.isNaN(next) || (flow && isFlowIndicator(next)))
        throw OUTSIDE;
    } else if (Number.isNaN(first) || first === SPACE || first === NEWLINE || isIndicator(first))
      throw OUTSIDE;
    let end = start + 1;
    for (let at = start + 1; ; at++) {
      const c = text.charCodeAt(at);
      if (c === NEWLINE || Number.isNaN(c)) return end;
      if (c === SPACE) continue;
      if (c === HASH && text.charCodeAt(at - 1) === SPACE) return end;
      if (c === COLON) {
        const next = text.charCodeAt(at + 1);
        if (next === SPACE || next === NEWLINE || Number.isNaN(next) || (flow && isFlowIndicator(next)))
          return end;
      }
      if (flow && isFlowIndicator(c)) return end;
      end = at + 1;
    }
  }

  /**
   * Where the one-line quoted scalar at `start` ends (just past its closing quote): `"` with escapes
   * (only those the subset knows), or `'` with `''`.
   */
  private quotedEnd(start: number): number {
    const text = this.text;
    const quote = text.charCodeAt(start);
    for (let at = start + 1; ; at++) {
      const c = text.charCodeAt(at);
      if (c === NEWLINE || Number.isNaN(c)) throw OUTSIDE;
      if (c === quote) {
        if (quote === APOSTROPHE && text.charCodeAt(at + 1) === APOSTROPHE) at++;
        else return at + 1;
      } else if (c === BACKSLASH && quote === QUOTE) {
        const e = text[at + 1];
        if (DOUBLE_QUOTE_ESCAPES[e] !== undefined) at++;
        else if (e === 'x' || e === 'u') {
          const length = e === 'x' ? 2 : 4;
          const hex = text.slice(at + 2, at + 2 + length);
          if (hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) throw OUTSIDE;
          at += 1 + length;
        } else throw OUTSIDE;
      }
    }
  }

  /**
   * A flow map or list at `pos`. Its lines after the first must be indented more than the block it
   * sits in (`parentIndent`), as the yaml library requires.
   */
  private flowCollection(parentIndent: number): void {
    this.enter();
    const isMap = this.code() === OPEN_BRACE;
    const record = this.tape.add(isMap ? MAP : SEQ, this.pos, 0);
    const close = isMap ? CLOSE_BRACE : CLOSE_BRACKET;
    let count = 0;
    this.pos++;
    this.flowSpace(parentIndent);
    if (this.code() !== close) {
      for (;;) {
        if (isMap) {
          this.flowItem(parentIndent, true);
          this.flowSpace(parentIndent);
          if (this.code() !== COLON) throw OUTSIDE;
          this.pos++;
          this.flowSpace(parentIndent);
          const c = this.code();
          if (c === COMMA || c === close) throw OUTSIDE; // an empty value
        }
        this.flowItem(parentIndent, false);
        count++;
        this.flowSpace(parentIndent);
        const c = this.code();
        if (c === close) break;
        if (c !== COMMA) throw OUTSIDE;
        this.pos++;
        this.flowSpace(parentIndent);
        if (this.code() === close) throw OUTSIDE; // a trailing comma
      }
    }
    this.pos++; // the closing bracket
    this.depth--;
    this.tape.close(record, count);
  }

  private flowItem(parentIndent: number, isKey: boolean): void {
    const c = this.code();
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (isKey) throw OUTSIDE;
      this.flowCollection(parentIndent);
      return;
    }
    const start = this.pos;
    this.scalar(true);
    if (isKey && this.pos - start > MAX_KEY_LENGTH) throw OUTSIDE;
  }

  /** Spaces, line ends and comments inside a flow collection. */
  private flowSpace(parentIndent: number): void {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === SPACE) this.pos++;
      else if (c === NEWLINE) {
        this.pos++;
        this.lineStart = this.pos;
        while (text.charCodeAt(this.pos) === SPACE) this.pos++;
        const next = text.charCodeAt(this.pos);
        if (next !== NEWLINE && next !== HASH && this.column() <= parentIndent) throw OUTSIDE;
      } else if (c === HASH) {
        const before = text.charCodeAt(this.pos - 1);
        if (before !== SPACE && before !== NEWLINE) throw OUTSIDE;
        const end = text.indexOf('\n', this.pos);
        this.pos = end < 0 ? text.length : end;
      } else return;
    }
  }
}
