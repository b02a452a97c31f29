/**
 * Typed reading of YAML nodes: each reader either returns a value or reports, at the node's position,
 * what was expected and what was found, and returns undefined. Readers never throw, so one pass
 * collects every error in the file.
 */
import { type AddrExpr, type NameKind, PAGE_SIZE, type SourcePos } from './ast.js';
import type { Diagnostics } from './source.js';
import {
  isMap,
  isScalar,
  isSeq,
  type MapNode,
  type ScalarNode,
  type SeqNode,
  type SyntaxNode,
} from './syntax-tree.js';
import {
  ADDRESS_EXPECTED,
  didYouMean,
  MAPPING_NAME_EXPECTED,
  MAPPING_NAME_PATTERN,
  NAME_EXPECTED,
  NAME_PATTERN,
  PAGE_COUNT_EXPECTED,
  type Parsed,
  parseAddress,
  parsePageCount,
  parseSize,
  SIZE_EXPECTED,
} from './units.js';

export { isMap, isScalar, isSeq, mapGet, mapHas } from './syntax-tree.js';

export type ValueNode = ScalarNode | MapNode | SeqNode;

/** A value in the file (aliases resolved): its node, where it is, and its dotted path for messages. */
export interface Slot {
  /** Undefined when nothing is written there (`key:` with no value, or a missing list item). */
  node: ValueNode | undefined;
  pos: SourcePos;
  path: string;
  /** Set when the value is already known bad (an unknown alias): readers then stay quiet about it. */
  reported?: boolean;
}

/**
 * Where the fields of an AST object were written: text offsets (made positions only when a message
 * needs one, so a large file does not keep a position object per field), or positions.
 */
export type FieldPositions = Readonly<Record<string, SourcePos | number>>;

export type Reader<T> = (cx: ReadContext, slot: Slot) => T | undefined;

/** Aliases may share structure; this bounds the work a malicious "billion laughs" file can cause. */
const MAX_ALIAS_EXPANSIONS = 10_000;

/**
 * A name that a step which failed to parse may have defined ('any' kind / no name when even that is
 * unknown). Name checks stay quiet about such names after it instead of cascading "unknown" errors.
 */
export interface BrokenDefinition {
  kind: NameKind | 'any';
  name?: string;
  pos: SourcePos;
}

/** Shared state of one parse: the document, its errors, and the positions of AST fields. */
export class ReadContext {
  private aliasBudget = MAX_ALIAS_EXPANSIONS;
  /** Positions of the fields of AST objects (steps, expectations...), for later checks such as names. */
  private readonly fieldPositions = new Map<object, FieldPositions>();
  readonly brokenDefinitions: BrokenDefinition[] = [];

  constructor(
    /** The document's root (undefined: an empty document). */
    readonly root: SyntaxNode | undefined,
    readonly diagnostics: Diagnostics,
    readonly text: string,
  ) {}

  error(pos: SourcePos, message: string): void {
    this.diagnostics.report(pos, message);
  }

  /** Reports `path: expected X, got Y (problem)`. */
  fail(slot: Slot, expected: string, problem?: string): undefined {
    if (slot.reported) return undefined;
    this.error(
      slot.pos,
      `${slot.path}: expected ${expected}, got ${this.describe(slot)}${problem ? ` (${problem})` : ''}`,
    );
    return undefined;
  }

  /** Reports an empty list where items are needed. */
  empty(slot: Slot, needed: string): undefined {
    this.error(slot.pos, `${slot.path}: the list is empty; give at least ${needed}`);
    return undefined;
  }

  /** Reports a failed unit parse (size, address...) at the slot. */
  failParsed(slot: Slot, parsed: Extract<Parsed<unknown>, { ok: false }>): undefined {
    return this.fail(slot, parsed.expected, parsed.problem);
  }

  posOf(node: SyntaxNode | undefined, fallback: SourcePos): SourcePos {
    return node === undefined ? fallback : this.diagnostics.at(node.start);
  }

  /** The slot of a node: aliases are followed, a missing node keeps the fallback position. */
  slot(raw: SyntaxNode | undefined, path: string, fallback: SourcePos): Slot {
    const pos = this.posOf(raw, fallback);
    if (raw?.kind === 'alias') {
      if (--this.aliasBudget < 0) {
        if (this.aliasBudget === -1)
          this.error(pos, `too many alias expansions (more than ${MAX_ALIAS_EXPANSIONS})`);
        return { node: undefined, pos, path, reported: true };
      }
      const target = raw.target;
      if (target === undefined) {
        this.error(pos, `${path}: unknown alias '*${raw.name}'; define it first with '&${raw.name}'`);
        return { node: undefined, pos, path, reported: true };
      }
      // an alias of an alias is not something YAML writes: the target is always a value node
      return { node: target as ValueNode, pos: this.posOf(target, pos), path };
    }
    return { node: raw, pos, path };
  }

  /** The text of a scalar as written in the file. */
  sourceOf(node: ScalarNode): string {
    return this.text.slice(node.start, node.end);
  }

  describe(slot: Slot): string {
    const node = slot.node;
    if (node === undefined) return 'nothing';
    if (isMap(node)) return 'a map';
    if (isSeq(node)) return 'a list';
    const value = node.value;
    if (value === null || value === undefined) return 'nothing';
    if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 37)}...` : value}'`;
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
      return this.sourceOf(node).trim() || String(value);
    }
    return `a value of type ${typeof value}`;
  }

  setFieldPositions(target: object, positions: FieldPositions): void {
    this.fieldPositions.set(target, positions);
  }

  /** Where a field of an AST object was written, falling back to the object's own position. */
  fieldPos(target: { pos: SourcePos }, key: string): SourcePos {
    const at = this.fieldPositions.get(target)?.[key];
    if (at === undefined) return target.pos;
    return typeof at === 'number' ? this.diagnostics.at(at) : at;
  }
}

// ---------------------------------------------------------------------------------------------------
// Maps with known keys

interface Entry {
  keyPos: SourcePos;
  slot: Slot;
}

export interface MapOptions {
  /** Phrases the message for an unknown key itself (e.g. to add a hint); undefined falls back. */
  unknownKey?: (key: string) => string | undefined;
  /** The map only wraps its one key (a step, an expectation): value paths are the bare keys. */
  wrapper?: boolean;
}

/** The keys of a map, checked against the allowed ones, read field by field. */
export class Fields {
  private readonly entries = new Map<string, Entry>();

  private constructor(
    readonly cx: ReadContext,
    /** What the map is, for messages ("mmap", "machine", "memslot"). */
    readonly owner: string,
    /** Where "missing key" errors point: the operation key, or the map itself. */
    readonly anchor: SourcePos,
  ) {}

  /**
   * Reads a map's keys. Unknown and duplicate keys are reported here; `unknownKey` may phrase the
   * unknown-key message itself (e.g. to add a hint).
   */
  static ofMap(
    cx: ReadContext,
    map: MapNode,
    owner: string,
    /** The keys a map may have, or null when any name is a key (e.g. counter names). */
    allowed: readonly string[] | null,
    anchor: SourcePos,
    options: MapOptions = {},
  ): Fields {
    const { unknownKey, wrapper = false } = options;
    const fields = new Fields(cx, owner, anchor);
    const where = owner === '' ? 'at the top level' : `in ${owner}`;
    for (const pair of map.items) {
      const keyPos = cx.posOf(pair.key, anchor);
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string') {
        const written = cx.describe(cx.slot(pair.key, owner, keyPos));
        cx.error(keyPos, `keys ${where} must be names, got ${written}`);
        continue;
      }
      const earlier = fields.entries.get(key);
      if (earlier) {
        const first = `${earlier.keyPos.line}:${earlier.keyPos.col}`;
        cx.error(keyPos, `duplicate key '${key}' ${where} (first at ${first})`);
        continue;
      }
      const path = owner === '' || wrapper ? key : `${owner}.${key}`;
      fields.entries.set(key, { keyPos, slot: cx.slot(pair.value, path, keyPos) });
      if (allowed && !allowed.includes(key)) {
        const message = `unknown key '${key}' ${where}${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}`;
        cx.error(keyPos, unknownKey?.(key) ?? message);
      }
    }
    return fields;
  }

  /** Fields of a shorthand form such as `spawn: parent` (= `spawn: {proc: parent}`). */
  static ofShorthand(cx: ReadContext, owner: string, key: string, slot: Slot): Fields {
    const fields = new Fields(cx, owner, slot.pos);
    fields.entries.set(key, { keyPos: slot.pos, slot: { ...slot, path: `${owner}.${key}` } });
    return fields;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The keys present among `keys`, in the order given. */
  present<K extends string>(keys: readonly K[]): K[] {
    return keys.filter((k) => this.entries.has(k));
  }

  slot(key: string): Slot | undefined {
    return this.entries.get(key)?.slot;
  }

  keyPos(key: string): SourcePos | undefined {
    return this.entries.get(key)?.keyPos;
  }

  /** Reports a problem with a key (at the key; at the anchor when the key is absent or not given). */
  errorAt(key: string | undefined, message: string): undefined {
    this.cx.error((key === undefined ? undefined : this.keyPos(key)) ?? this.anchor, message);
    return undefined;
  }

  required<T>(key: string, read: Reader<T>): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.cx.error(this.anchor, `${this.owner} needs '${key}'`);
      return undefined;
    }
    return read(this.cx, entry.slot);
  }

  optional<T>(key: string, read: Reader<T>): T | undefined {
    const entry = this.entries.get(key);
    return entry ? read(this.cx, entry.slot) : undefined;
  }

  /** Where each value was written, keyed by field name. */
  positions(): FieldPositions {
    const positions: Record<string, SourcePos | number> = {};
    for (const [key, entry] of this.entries) positions[key] = entry.slot.node?.start ?? entry.slot.pos;
    return positions;
  }
}

// ---------------------------------------------------------------------------------------------------
// Value readers

export const asMap =
  (expected = 'a map'): Reader<MapNode> =>
  (cx, slot) =>
    isMap(slot.node) ? slot.node : cx.fail(slot, expected);

/** The items of a list, each as its own slot (`path[i]`). */
export const asList =
  (expected = 'a list'): Reader<Slot[]> =>
  (cx, slot) => {
    if (!isSeq(slot.node)) return cx.fail(slot, expected);
    return slot.node.items.map((item, i) => cx.slot(item, `${slot.path}[${i}]`, slot.pos));
  };

function scalarValue(slot: Slot): unknown {
  return isScalar(slot.node) ? slot.node.value : undefined;
}

export const text: Reader<string> = (cx, slot) => {
  const value = scalarValue(slot);
  return typeof value === 'string' ? value : cx.fail(slot, 'a string');
};

export const boolean: Reader<boolean> = (cx, slot) => {
  const value = scalarValue(slot);
  return typeof value === 'boolean' ? value : cx.fail(slot, 'true or false');
};

/** An exact integer (YAML gives bigint; JSON-style `1e3` gives an integral number, also accepted). */
function exactInteger(value: unknown): number | undefined {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : undefined;
  }
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

function isNumeric(value: unknown): boolean {
  return typeof value === 'bigint' || typeof value === 'number';
}

function rangeText(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) return min === 0 ? 'a whole number >= 0' : `a whole number >= ${min}`;
  return `a whole number from ${min} to ${max}`;
}

export const integer =
  (min = 0, max = Number.MAX_SAFE_INTEGER, expected = rangeText(min, max)): Reader<number> =>
  (cx, slot) => {
    const raw = scalarValue(slot);
    const value = exactInteger(raw);
    if (value === undefined)
      return cx.fail(slot, expected, isNumeric(raw) ? 'not an exact whole number' : undefined);
    if (value < min || value > max) return cx.fail(slot, expected);
    return value;
  };

export const oneOf =
  <T extends string>(values: readonly T[]): Reader<T> =>
  (cx, slot) => {
    const value = scalarValue(slot);
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
    const hint = typeof value === 'string' ? didYouMean(value, values).trim() : '';
    const expected = values.length === 1 ? `'${values[0]}'` : `one of ${values.join(', ')}`;
    return cx.fail(slot, expected, hint.replace(/^\((.*)\)$/, '$1') || undefined);
  };

export const name: Reader<string> = (cx, slot) => {
  const value = scalarValue(slot);
  return typeof value === 'string' && NAME_PATTERN.test(value) ? value : cx.fail(slot, NAME_EXPECTED);
};

export const mappingName: Reader<string> = (cx, slot) => {
  const value = scalarValue(slot);
  if (typeof value === 'string' && MAPPING_NAME_PATTERN.test(value)) return value;
  const problem =
    typeof value === 'string' && NAME_PATTERN.test(value)
      ? "'-' would read as a subtraction in 'buf-1p'"
      : undefined;
  return cx.fail(slot, MAPPING_NAME_EXPECTED, problem);
};

/** Reads a plain integer as is, or a string through a unit parser (`16KiB`, `8 pages`). */
function unitReader(
  parse: (text: string) => Parsed<number>,
  expected: string,
  minimum: number,
  minimumText: string,
): Reader<number> {
  return (cx, slot) => {
    const raw = scalarValue(slot);
    let value: number;
    if (typeof raw === 'string') {
      const parsed = parse(raw);
      if (!parsed.ok) return cx.failParsed(slot, parsed);
      value = parsed.value;
    } else {
      const exact = exactInteger(raw);
      if (exact === undefined || exact < 0) return cx.fail(slot, expected);
      value = exact;
    }
    if (value < minimum) return cx.fail(slot, expected, minimumText);
    return value;
  };
}

/** A byte offset or address written like a size (`0x1000`, `16KiB`, `4p`), described as `expected`. */
export const byteCount = (expected: string, minimum = 0): Reader<number> =>
  unitReader(parseSize, expected, minimum, `it must be at least ${minimum}`);

/** A size in bytes; a plain number is bytes. */
export const size = (minimum = 1): Reader<number> =>
  unitReader(
    parseSize,
    SIZE_EXPECTED,
    minimum,
    `it must be at least ${minimum} byte${minimum === 1 ? '' : 's'}`,
  );

/** A number of pages; a plain number is pages. */
export const pageCount = (minimum = 1): Reader<number> =>
  unitReader(
    parsePageCount,
    PAGE_COUNT_EXPECTED,
    minimum,
    `it must be at least ${minimum} page${minimum === 1 ? '' : 's'}`,
  );

/** A size in bytes that is a whole number of pages (memslots, RAM). */
export const pageAlignedSize: Reader<number> = (cx, slot) => {
  const bytes = size(1)(cx, slot);
  if (bytes === undefined || bytes % PAGE_SIZE === 0) return bytes;
  return cx.fail(
    slot,
    `${SIZE_EXPECTED} that is a whole number of pages`,
    `${bytes} is not a multiple of ${PAGE_SIZE}`,
  );
};

/** An address expression; a plain number is an absolute virtual address. */
export const address: Reader<AddrExpr> = (cx, slot) => {
  const raw = scalarValue(slot);
  if (typeof raw === 'string') {
    const parsed = parseAddress(raw);
    if (!parsed.ok) return cx.failParsed(slot, parsed);
    const { proc, base, offset, text: written } = parsed.value;
    return {
      ...(proc === undefined ? {} : { proc }),
      ...(base === undefined ? {} : { base }),
      offset,
      text: written,
      pos: slot.pos,
    };
  }
  const exact = exactInteger(raw);
  if (exact === undefined || exact < 0 || !isScalar(slot.node)) return cx.fail(slot, ADDRESS_EXPECTED);
  return { offset: exact, text: cx.sourceOf(slot.node).trim(), pos: slot.pos };
};

export const BYTES_EXPECTED = 'a string or a list of bytes (0..255)';

/** A byte value: a string (its UTF-8 bytes) or a list of integers 0..255; never empty. */
export const byteString: Reader<number[]> = (cx, slot) => {
  const raw = scalarValue(slot);
  let bytes: number[] | undefined;
  if (typeof raw === 'string') bytes = Array.from(new TextEncoder().encode(raw));
  else if (isSeq(slot.node)) bytes = byteList(cx, slot);
  else return cx.fail(slot, BYTES_EXPECTED);
  if (bytes && bytes.length === 0) return cx.fail(slot, BYTES_EXPECTED, 'it is empty');
  return bytes;
};

/** A non-empty list of integers 0..255. */
export const byteList: Reader<number[]> = (cx, slot) => {
  const items = asList('a list of bytes (0..255)')(cx, slot);
  if (!items) return undefined;
  if (items.length === 0) return cx.empty(slot, 'one byte');
  const bytes = items.map((item) => integer(0, 255, 'a byte (0..255)')(cx, item));
  return bytes.every((b) => b !== undefined) ? (bytes as number[]) : undefined;
};
