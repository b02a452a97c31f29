/**
 * Reading `expect:` lists (top level, or beside a step). Each entry is a map with exactly one kind key.
 * Every expectation gets a `text`: a canonical one-line rendering, the same for YAML and JSON input,
 * which results and messages show.
 */
import {
  type AddrExpr,
  type CounterCheck,
  EXPECTATION_KINDS,
  type Expectation,
  type ExpectationKind,
  INVARIANT_NAMES,
  SIGNALS,
} from './ast.js';
import { COMPARISON_EXPECTED, parseComparison, parseCounterName } from './counters.js';
import {
  address,
  asList,
  asMap,
  byteString,
  type FieldPositions,
  Fields,
  isScalar,
  name,
  oneOf,
  type ReadContext,
  type Slot,
} from './nodes.js';
import { didYouMean } from './units.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type ExpectationBody = DistributiveOmit<Expectation, 'pos' | 'text'>;

interface KindResult {
  body?: ExpectationBody;
  /** Where the named fields were written (signal's proc), for the name checks. */
  positions?: FieldPositions;
}

type KindReader = (cx: ReadContext, slot: Slot, kind: ExpectationKind) => KindResult;

const addressList =
  (kind: 'same_frame' | 'distinct_frames'): KindReader =>
  (cx, slot) => {
    const items = asList('a list of at least two addresses, e.g. [parent:buf, child:buf]')(cx, slot);
    if (!items) return {};
    if (items.length < 2) {
      cx.fail(
        slot,
        'a list of at least two addresses, e.g. [parent:buf, child:buf]',
        `it has ${items.length}`,
      );
      return {};
    }
    const addrs = items.map((item) => address(cx, item));
    return addrs.every((a) => a !== undefined) ? { body: { kind, addrs: addrs as AddrExpr[] } } : {};
  };

const singleAddress =
  (kind: 'zero_page' | 'ksm_page' | 'not_mapped' | 'writable' | 'read_only'): KindReader =>
  (cx, slot) => {
    const addr = address(cx, slot);
    return addr ? { body: { kind, addr } } : {};
  };

const reads: KindReader = (cx, slot) => {
  const map = asMap('{at: address, equals: string or bytes}')(cx, slot);
  if (!map) return {};
  const f = Fields.ofMap(cx, map, 'reads', ['at', 'equals'], slot.pos);
  const at = f.required('at', address);
  const equals = f.required('equals', byteString);
  return at && equals ? { body: { kind: 'reads', at, equals } } : {};
};

const counters: KindReader = (cx, slot) => {
  const map = asMap('a map of counter names to values, e.g. {ksm.pages_sharing: 3, kvm.vm1.faults: ">= 1"}')(
    cx,
    slot,
  );
  if (!map) return {};
  const f = Fields.ofMap(cx, map, 'counters', null, slot.pos);
  if (f.keys().length === 0) {
    cx.error(
      slot.pos,
      `${slot.path}: the map is empty; give at least one counter, e.g. {ksm.pages_sharing: 3}`,
    );
    return {};
  }
  const checks: CounterCheck[] = [];
  let ok = true;
  for (const counter of f.keys()) {
    const pos = f.keyPos(counter)!;
    const valueSlot = f.slot(counter)!;
    const known = parseCounterName(counter);
    if (!known.ok) {
      cx.error(
        pos,
        `unknown counter '${counter}': expected ${known.expected}${known.problem ? ` (${known.problem})` : ''}`,
      );
      ok = false;
    }
    const comparison = readComparison(cx, valueSlot);
    if (!comparison) ok = false;
    else checks.push({ name: counter, ...comparison, pos });
  }
  return ok ? { body: { kind: 'counters', checks } } : {};
};

function readComparison(cx: ReadContext, slot: Slot): Omit<CounterCheck, 'name' | 'pos'> | undefined {
  const value = isScalar(slot.node) ? slot.node.value : undefined;
  const textValue = typeof value === 'bigint' || typeof value === 'number' ? String(value) : value;
  if (typeof textValue !== 'string') return cx.fail(slot, COMPARISON_EXPECTED);
  const parsed = parseComparison(textValue);
  return parsed.ok ? parsed.value : cx.failParsed(slot, parsed);
}

const signal: KindReader = (cx, slot) => {
  const map = asMap('{proc: name, is: SIGSEGV}')(cx, slot);
  if (!map) return {};
  const f = Fields.ofMap(cx, map, 'signal', ['proc', 'is'], slot.pos);
  const proc = f.required('proc', name);
  const is = f.required('is', oneOf(SIGNALS));
  return proc && is ? { body: { kind: 'signal', proc, signal: is }, positions: f.positions() } : {};
};

const invariants: KindReader = (cx, slot) =>
  oneOf(['hold'])(cx, slot) ? { body: { kind: 'invariants' } } : {};

const violations: KindReader = (cx, slot) => {
  if (isScalar(slot.node)) {
    const invariant = oneOf(INVARIANT_NAMES)(cx, slot);
    return invariant ? { body: { kind: 'violations', invariant, op: '>=', value: 1 } } : {};
  }
  const map = asMap('an invariant name, or {invariant: name, count: ">= 1"}')(cx, slot);
  if (!map) return {};
  const f = Fields.ofMap(cx, map, 'violations', ['invariant', 'count'], slot.pos);
  const invariant = f.required('invariant', oneOf(INVARIANT_NAMES));
  const countSlot = f.slot('count');
  const comparison =
    countSlot === undefined ? { op: '>=' as const, value: 1 } : readComparison(cx, countSlot);
  return invariant && comparison ? { body: { kind: 'violations', invariant, ...comparison } } : {};
};

const KIND_READERS: Readonly<Record<ExpectationKind, KindReader>> = {
  same_frame: addressList('same_frame'),
  distinct_frames: addressList('distinct_frames'),
  zero_page: singleAddress('zero_page'),
  ksm_page: singleAddress('ksm_page'),
  not_mapped: singleAddress('not_mapped'),
  writable: singleAddress('writable'),
  read_only: singleAddress('read_only'),
  reads,
  counters,
  signal,
  invariants,
  violations,
};

/** The canonical one-line form of an expectation. */
export function expectationText(e: ExpectationBody): string {
  switch (e.kind) {
    case 'same_frame':
    case 'distinct_frames':
      return `${e.kind}: [${e.addrs.map((a) => a.text).join(', ')}]`;
    case 'reads':
      return `reads: {at: ${e.at.text}, equals: ${bytesText(e.equals)}}`;
    case 'counters':
      return `counters: {${e.checks.map((c) => `${c.name} ${c.op} ${c.value}`).join(', ')}}`;
    case 'signal':
      return `signal: {proc: ${e.proc}, is: ${e.signal}}`;
    case 'invariants':
      return 'invariants: hold';
    case 'violations':
      return `violations: {invariant: ${e.invariant}, count: ${e.op} ${e.value}}`;
    default:
      return `${e.kind}: ${e.addr.text}`;
  }
}

/** A byte value as a JSON string when it is printable UTF-8, else as a list. */
function bytesText(bytes: number[]): string {
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(bytes));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is excluded
  const printable = !decoded.includes('\uFFFD') && !/[\u0000-\u001f]/.test(decoded);
  return printable ? JSON.stringify(decoded) : `[${bytes.join(', ')}]`;
}

function readExpectation(cx: ReadContext, slot: Slot): Expectation | undefined {
  const map = asMap(`an expectation: a map with one of ${EXPECTATION_KINDS.join(', ')}`)(cx, slot);
  if (!map) return undefined;
  const unknownKey = (key: string) =>
    `unknown expectation '${key}'${didYouMean(key, EXPECTATION_KINDS)}; one of: ${EXPECTATION_KINDS.join(', ')}`;
  const f = Fields.ofMap(cx, map, 'expectation', EXPECTATION_KINDS, slot.pos, { unknownKey, wrapper: true });
  const kinds = f.present(EXPECTATION_KINDS);
  if (kinds.length === 0) {
    if (f.keys().length === 0)
      cx.error(slot.pos, `an expectation needs one of: ${EXPECTATION_KINDS.join(', ')}`);
    return undefined;
  }
  if (kinds.length > 1) {
    f.errorAt(kinds[1], `an entry states one expectation, but this one has '${kinds[0]}' and '${kinds[1]}'`);
    return undefined;
  }
  const kind = kinds[0];
  const { body, positions } = KIND_READERS[kind](cx, f.slot(kind)!, kind);
  if (!body) return undefined;
  const expectation = { ...body, pos: f.keyPos(kind)!, text: expectationText(body) } as Expectation;
  if (positions) cx.setFieldPositions(expectation, positions);
  return expectation;
}

/** A list of expectations; entries that fail to read are left out (and reported). */
export function readExpectations(cx: ReadContext, slot: Slot): Expectation[] | undefined {
  const items = asList('a list of expectations')(cx, slot);
  if (!items) return undefined;
  return items.map((item) => readExpectation(cx, item)).filter((e): e is Expectation => e !== undefined);
}
