/**
 * Reading `steps:`: each step is a map with exactly one operation key (plus, beside it, an optional
 * `expect:` list checked after the step). The fields of every operation are listed in STEP_SPECS, which
 * is also what the JSON schema test compares the schema against.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import {
  ACCESS_KINDS,
  ADVICES,
  type Memslot,
  type NameKind,
  PAGE_SIZE,
  type Pattern,
  type Payload,
  PROTS,
  type SourcePos,
  STEP_OPS,
  type Step,
  type StepOp,
} from './ast.js';
import { readExpectations } from './expectations.js';
import {
  address,
  asList,
  asMap,
  BYTES_EXPECTED,
  boolean,
  byteCount,
  byteList,
  byteString,
  Fields,
  integer,
  mappingName,
  name,
  oneOf,
  pageAlignedSize,
  pageCount,
  type ReadContext,
  type Slot,
  size,
  text,
} from './nodes.js';
import { didYouMean } from './units.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A step without the parts every step has. */
export type StepBody = DistributiveOmit<Step, 'pos' | 'expect'>;

/** repeat/parallel may nest; a bound keeps a pathological file from exhausting the stack. */
const MAX_NESTING = 32;

interface StepReading {
  cx: ReadContext;
  depth: number;
}

interface StepSpec {
  /** The keys of the operation's map. */
  fields: readonly string[];
  /** The one field a scalar stands for: `spawn: parent` means `spawn: {proc: parent}`. */
  shorthand?: string;
  /** Fields naming what the step defines (for quiet name checks when the step is broken). */
  defines?: Readonly<Record<string, NameKind>>;
  read: (f: Fields, r: StepReading) => StepBody | undefined;
}

const PAYLOAD_KEYS = ['data', 'bytes', 'fill', 'pattern'] as const;

/** A pattern as written; pages stays undefined when not given, since write and guest default it differently. */
interface PatternFields {
  seed: number;
  pages?: number;
}

const readPattern = (cx: ReadContext, slot: Slot): PatternFields | undefined => {
  // `pattern: 7` is short for `pattern: {seed: 7}`.
  if (isScalar(slot.node)) {
    const seed = integer(0, 2 ** 32 - 1, 'a pattern {seed, [pages]} or a seed (0..2^32-1)')(cx, slot);
    return seed === undefined ? undefined : { seed };
  }
  const map = asMap('a pattern {seed, [pages]}')(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'pattern', ['seed', 'pages'], slot.pos);
  const seed = f.required('seed', integer(0, 2 ** 32 - 1, 'a seed from 0 to 2^32-1'));
  const pages = f.optional('pages', pageCount(1));
  return seed === undefined ? undefined : { seed, ...(pages === undefined ? {} : { pages }) };
};

/** A payload as written: like Payload, but a pattern's pages may still be unknown. */
type WrittenPayload =
  | Exclude<Payload, { pattern: Pattern }>
  | { pattern: PatternFields; data?: undefined; bytes?: undefined; fill?: undefined };

type PayloadResult = { ok: true; payload?: WrittenPayload } | { ok: false };

/** The payload of a write: exactly one of data, bytes, fill, pattern (or none, when not `required`). */
function readPayload(f: Fields, required: boolean): PayloadResult {
  const present = f.present(PAYLOAD_KEYS);
  if (present.length > 1) {
    f.errorAt(
      present[1],
      `${f.owner} takes one of data, bytes, fill or pattern, but has both '${present[0]}' and '${present[1]}'`,
    );
    return { ok: false };
  }
  if (present.length === 0) {
    if (!required) return { ok: true };
    f.errorAt(undefined, `${f.owner} needs one of 'data', 'bytes', 'fill' or 'pattern'`);
    return { ok: false };
  }
  switch (present[0]) {
    case 'data': {
      const data = f.optional('data', text);
      if (data === '') f.errorAt('data', `${f.owner}.data: the string is empty`);
      return data ? { ok: true, payload: { data } } : { ok: false };
    }
    case 'bytes': {
      const bytes = f.optional('bytes', byteList);
      return bytes === undefined ? { ok: false } : { ok: true, payload: { bytes } };
    }
    case 'fill': {
      const fill = f.optional('fill', integer(0, 255, 'a byte (0..255)'));
      return fill === undefined ? { ok: false } : { ok: true, payload: { fill } };
    }
    default: {
      const pattern = f.optional('pattern', readPattern);
      return pattern === undefined ? { ok: false } : { ok: true, payload: { pattern } };
    }
  }
}

/** Bytes one store writes: the length of data/bytes, `size` for fill (default a page), pages for pattern. */
function payloadSize(f: Fields, payload: PayloadResult): number | undefined {
  if (!payload.ok) return undefined;
  const p = payload.payload;
  if (f.has('size') && p?.fill === undefined) {
    return f.errorAt(
      'size',
      `${f.owner}.size goes with 'fill' only; data, bytes and pattern have their own length`,
    );
  }
  if (p === undefined) return undefined;
  if (p.data !== undefined) return new TextEncoder().encode(p.data).length;
  if (p.bytes !== undefined) return p.bytes.length;
  if (p.fill !== undefined) return f.optional('size', size(1)) ?? PAGE_SIZE;
  return (p.pattern.pages ?? 1) * PAGE_SIZE;
}

const memslot = (cx: ReadContext, slot: Slot): Memslot | undefined => {
  const map = asMap('a memslot {gfn, addr, size}')(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'memslot', ['gfn', 'addr', 'size'], slot.pos);
  const gfn = f.required('gfn', integer(0));
  const addr = f.required('addr', address);
  const bytes = f.required('size', pageAlignedSize);
  if (gfn === undefined || addr === undefined || bytes === undefined) return undefined;
  const result: Memslot = { gfn, addr, size: bytes, pos: slot.pos };
  cx.setFieldPositions(result, f.positions());
  return result;
};

function readMemslots(cx: ReadContext, slot: Slot): Memslot[] | undefined {
  const items = asList('a list of memslots [{gfn, addr, size}]')(cx, slot);
  if (!items) return undefined;
  if (items.length === 0) return cx.empty(slot, 'one memslot');
  const slots = items.map((item) => memslot(cx, item));
  if (!slots.every((s) => s !== undefined)) return undefined;
  const ok = slots as Memslot[];
  // KVM refuses overlapping guest-physical ranges (KVM_SET_USER_MEMORY_REGION returns EEXIST).
  for (let i = 0; i < ok.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [ok[j], ok[i]];
      if (b.gfn < a.gfn + a.size / PAGE_SIZE && a.gfn < b.gfn + b.size / PAGE_SIZE) {
        cx.error(
          b.pos,
          `memslot overlaps the memslot at ${a.pos.line}:${a.pos.col} (gfn ranges must be disjoint)`,
        );
        return undefined;
      }
    }
  }
  return ok;
}

const accessKind = oneOf(ACCESS_KINDS);

export const STEP_SPECS: Readonly<Record<StepOp, StepSpec>> = {
  spawn: {
    fields: ['proc'],
    shorthand: 'proc',
    defines: { proc: 'process' },
    read: (f) => {
      const proc = f.required('proc', name);
      return proc === undefined ? undefined : { op: 'spawn', proc };
    },
  },

  mmap: {
    fields: ['proc', 'size', 'prot', 'as', 'at', 'shared'],
    defines: { as: 'mapping' },
    read: (f) => {
      const proc = f.required('proc', name);
      const bytes = f.required('size', size(1));
      const prot = f.required('prot', oneOf(PROTS));
      const as = f.required('as', mappingName);
      const at = f.optional('at', address);
      const shared = f.optional('shared', boolean) ?? false;
      if (proc === undefined || bytes === undefined || prot === undefined || as === undefined)
        return undefined;
      return { op: 'mmap', proc, size: bytes, prot, as, ...(at ? { at } : {}), shared };
    },
  },

  munmap: {
    fields: ['proc', 'addr', 'size'],
    read: (f) => {
      const proc = f.required('proc', name);
      const addr = f.required('addr', address);
      const bytes = f.required('size', size(1));
      if (proc === undefined || addr === undefined || bytes === undefined) return undefined;
      return { op: 'munmap', proc, addr, size: bytes };
    },
  },

  mprotect: {
    fields: ['proc', 'addr', 'size', 'prot'],
    read: (f) => {
      const proc = f.required('proc', name);
      const addr = f.required('addr', address);
      const bytes = f.required('size', size(1));
      const prot = f.required('prot', oneOf(PROTS));
      if (proc === undefined || addr === undefined || bytes === undefined || prot === undefined)
        return undefined;
      return { op: 'mprotect', proc, addr, size: bytes, prot };
    },
  },

  madvise: {
    fields: ['proc', 'addr', 'size', 'advice'],
    read: (f) => {
      const proc = f.required('proc', name);
      const addr = f.required('addr', address);
      const bytes = f.required('size', size(1));
      const advice = f.required('advice', oneOf(ADVICES));
      if (proc === undefined || addr === undefined || bytes === undefined || advice === undefined)
        return undefined;
      return { op: 'madvise', proc, addr, size: bytes, advice };
    },
  },

  write: {
    fields: ['proc', 'addr', ...PAYLOAD_KEYS, 'size'],
    read: (f) => {
      const proc = f.required('proc', name);
      const addr = f.required('addr', address);
      const payload = readPayload(f, true);
      const bytes = payloadSize(f, payload);
      if (
        proc === undefined ||
        addr === undefined ||
        !payload.ok ||
        !payload.payload ||
        bytes === undefined
      ) {
        return undefined;
      }
      const p = payload.payload;
      const data: Payload = p.pattern
        ? { pattern: { seed: p.pattern.seed, pages: p.pattern.pages ?? 1 } }
        : p;
      return { op: 'write', proc, addr, size: bytes, ...data };
    },
  },

  read: {
    fields: ['proc', 'addr', 'size', 'expect'],
    read: (f) => {
      const proc = f.required('proc', name);
      const addr = f.required('addr', address);
      const bytes = f.optional('size', size(1));
      const equals = f.optional('expect', expectedBytes);
      if (proc === undefined || addr === undefined || (f.has('size') && bytes === undefined))
        return undefined;
      if (f.has('expect') && equals === undefined) return undefined;
      if (bytes !== undefined && equals !== undefined && bytes !== equals.length) {
        return f.errorAt('size', `read.size is ${bytes} but read.expect is ${equals.length} bytes long`);
      }
      return {
        op: 'read',
        proc,
        addr,
        size: bytes ?? equals?.length ?? PAGE_SIZE,
        ...(equals ? { equals } : {}),
      };
    },
  },

  fork: {
    fields: ['proc', 'child'],
    defines: { child: 'process' },
    read: (f) => {
      const proc = f.required('proc', name);
      const child = f.required('child', name);
      if (proc === undefined || child === undefined) return undefined;
      if (proc === child) return f.errorAt('child', `fork: the child needs a name of its own, not '${proc}'`);
      return { op: 'fork', proc, child };
    },
  },

  exit: {
    fields: ['proc'],
    shorthand: 'proc',
    read: (f) => {
      const proc = f.required('proc', name);
      return proc === undefined ? undefined : { op: 'exit', proc };
    },
  },

  ksm: {
    fields: ['scan', 'full_scans'],
    read: (f) => {
      const given = f.present(['scan', 'full_scans']);
      if (given.length !== 1) {
        return given.length === 0
          ? f.errorAt(undefined, "ksm needs one of 'scan: N pages' or 'full_scans: N'")
          : f.errorAt('full_scans', "ksm takes one of 'scan' or 'full_scans', not both");
      }
      if (given[0] === 'scan') {
        const scanPages = f.optional('scan', pageCount(1));
        return scanPages === undefined ? undefined : { op: 'ksm', scanPages };
      }
      const fullScans = f.optional('full_scans', integer(1));
      return fullScans === undefined ? undefined : { op: 'ksm', fullScans };
    },
  },

  vm: {
    fields: ['name', 'proc', 'memslots', 'vcpus'],
    defines: { name: 'vm' },
    read: (f) => {
      const vm = f.required('name', name);
      const proc = f.required('proc', name);
      const memslots = f.required('memslots', readMemslots);
      const vcpus = f.optional('vcpus', integer(1, 1024));
      if (vm === undefined || proc === undefined || memslots === undefined) return undefined;
      if (f.has('vcpus') && vcpus === undefined) return undefined;
      return { op: 'vm', name: vm, proc, memslots, vcpus: vcpus ?? 1 };
    },
  },

  guest: {
    fields: ['vm', 'op', 'gfn', 'gpa', 'pages', ...PAYLOAD_KEYS, 'size'],
    read: (f) => {
      const vm = f.required('vm', name);
      const access = f.required('op', accessKind);
      const place = readGuestPlace(f);
      const pages = f.optional('pages', pageCount(1));
      const payload = readPayload(f, false);
      const bytes = payloadSize(f, payload);
      if (vm === undefined || access === undefined || place === undefined || !payload.ok) return undefined;
      if (f.has('pages') && pages === undefined) return undefined;
      const count = pages ?? 1;
      const p = payload.payload;
      const base = { op: 'guest' as const, vm, access, ...place, pages: count };
      if (p === undefined) return f.has('size') ? undefined : base;
      if (access === 'read') {
        return f.errorAt(f.present(PAYLOAD_KEYS)[0], 'guest: a read takes no data; use op: write');
      }
      if (p.pattern) {
        if (p.pattern.pages !== undefined && p.pattern.pages !== count) {
          return f.errorAt(
            'pattern',
            `guest.pattern.pages (${p.pattern.pages}) differs from guest.pages (${count})`,
          );
        }
        // Page i of the pattern goes to page i of the access: a whole page each.
        return { ...base, size: PAGE_SIZE, pattern: { seed: p.pattern.seed, pages: count } };
      }
      if (bytes === undefined) return undefined;
      if (bytes > PAGE_SIZE) {
        const key = f.present(['size', 'data', 'bytes'])[0];
        return f.errorAt(
          key,
          `guest writes at most one page (${PAGE_SIZE} bytes) into each page, not ${bytes}`,
        );
      }
      return { ...base, size: bytes, ...p };
    },
  },

  device: {
    fields: ['name', 'proc'],
    defines: { name: 'device' },
    read: (f) => {
      const device = f.required('name', name);
      const proc = f.required('proc', name);
      if (device === undefined || proc === undefined) return undefined;
      return { op: 'device', name: device, proc };
    },
  },

  dev: {
    fields: ['device', 'op', 'addr', 'pages'],
    read: (f) => {
      const device = f.required('device', name);
      const access = f.required('op', accessKind);
      const addr = f.required('addr', address);
      const pages = f.optional('pages', pageCount(1));
      if (device === undefined || access === undefined || addr === undefined) return undefined;
      if (f.has('pages') && pages === undefined) return undefined;
      return { op: 'dev', device, access, addr, pages: pages ?? 1 };
    },
  },

  iommu: {
    fields: ['name', 'proc'],
    defines: { name: 'iommu' },
    read: (f) => {
      const iommu = f.required('name', name);
      const proc = f.required('proc', name);
      if (iommu === undefined || proc === undefined) return undefined;
      return { op: 'iommu', name: iommu, proc };
    },
  },

  dma: {
    fields: ['iommu', 'op', 'addr', 'pages'],
    read: (f) => {
      const iommu = f.required('iommu', name);
      const access = f.required('op', accessKind);
      const addr = f.required('addr', address);
      const pages = f.optional('pages', pageCount(1));
      if (iommu === undefined || access === undefined || addr === undefined) return undefined;
      if (f.has('pages') && pages === undefined) return undefined;
      return { op: 'dma', iommu, access, addr, pages: pages ?? 1 };
    },
  },

  gup: {
    fields: ['proc', 'addr', 'pages', 'write', 'pin', 'as'],
    defines: { as: 'pin' },
    read: (f) => {
      const proc = f.required('proc', name);
      const addr = f.required('addr', address);
      const pages = f.required('pages', pageCount(1));
      const write = f.optional('write', boolean);
      const pin = f.optional('pin', boolean);
      const as = f.required('as', name);
      if (proc === undefined || addr === undefined || pages === undefined || as === undefined)
        return undefined;
      if ((f.has('write') && write === undefined) || (f.has('pin') && pin === undefined)) return undefined;
      return { op: 'gup', proc, addr, pages, write: write ?? false, pin: pin ?? true, as };
    },
  },

  unpin: {
    fields: ['pin'],
    shorthand: 'pin',
    read: (f) => {
      const pin = f.required('pin', name);
      return pin === undefined ? undefined : { op: 'unpin', pin };
    },
  },

  pin_io: {
    fields: ['pin', 'op'],
    read: (f) => {
      const pin = f.required('pin', name);
      const access = f.required('op', accessKind);
      if (pin === undefined || access === undefined) return undefined;
      return { op: 'pin_io', pin, access };
    },
  },

  // repeat and parallel return their best effort even when broken, so that the names their steps define
  // are still seen by the name checks (the scenario itself is not returned when anything failed).
  repeat: {
    fields: ['times', 'steps'],
    read: (f, r) => {
      const times = f.required('times', integer(1));
      const steps = f.required('steps', (_cx, slot) => readNonEmptySteps(r, slot));
      return { op: 'repeat', times: times ?? 1, steps: steps ?? [] };
    },
  },

  parallel: {
    fields: ['threads'],
    read: (f, r) => {
      const threads = f.required('threads', (cx, slot) => {
        const items = asList('a list of threads, each a list of steps: [[steps], [steps]]')(cx, slot);
        if (items?.length === 0) return cx.empty(slot, 'one thread');
        return items?.map((item) => readNonEmptySteps(r, item) ?? []);
      });
      return { op: 'parallel', threads: threads ?? [] };
    },
  },
};

/** Every field an operation accepts, for tools (the JSON schema test compares against these). */
export const STEP_FIELDS: Readonly<Record<StepOp, readonly string[]>> = Object.fromEntries(
  STEP_OPS.map((op) => [op, STEP_SPECS[op].fields]),
) as Record<StepOp, readonly string[]>;

/** read's own `expect:` (the bytes it must return); a list of expectation maps belongs beside the step. */
function expectedBytes(cx: ReadContext, slot: Slot): number[] | undefined {
  if (isSeq(slot.node) && slot.node.items.some((item) => isMap(item))) {
    return cx.fail(slot, BYTES_EXPECTED, "a step's own expectations go beside 'read:', not inside it");
  }
  return byteString(cx, slot);
}

/** gfn or gpa (exactly one); both returned, gpa = gfn * 4096. */
function readGuestPlace(f: Fields): { gfn: number; gpa: number } | undefined {
  const given = f.present(['gfn', 'gpa']);
  if (given.length === 0) return f.errorAt(undefined, "guest needs 'gfn' or 'gpa'");
  if (given.length === 2) return f.errorAt('gpa', "guest takes 'gfn' or 'gpa', not both");
  if (given[0] === 'gfn') {
    const gfn = f.optional('gfn', integer(0));
    return gfn === undefined ? undefined : { gfn, gpa: gfn * PAGE_SIZE };
  }
  const gpa = f.optional('gpa', byteCount('a guest physical address (0x1000, 16KiB, 4p)'));
  return gpa === undefined ? undefined : { gfn: Math.floor(gpa / PAGE_SIZE), gpa };
}

// ---------------------------------------------------------------------------------------------------
// Step lists

const STEP_KEYS: readonly string[] = [...STEP_OPS, 'expect'];
const ALL_FIELDS = new Set(STEP_OPS.flatMap((op) => STEP_SPECS[op].fields));

function unknownStepKey(key: string): string {
  if (ALL_FIELDS.has(key)) {
    return `'${key}' is not an operation; fields go inside the operation's map, e.g. '- spawn: {proc: a}'`;
  }
  return `unknown operation '${key}'${didYouMean(key, STEP_OPS)}; a step is one of: ${STEP_OPS.join(', ')}`;
}

function unknownFieldOf(op: StepOp, key: string): string | undefined {
  if (key !== 'expect') return undefined;
  return `${op} has no field 'expect'; a step's own expectations go beside the operation key: '- ${op}: {...}' and 'expect: [...]' at the same indentation`;
}

/** The steps of a file or of repeat/parallel; steps that fail to read are left out (and reported). */
export function readSteps(cx: ReadContext, slot: Slot): Step[] | undefined {
  return readStepList({ cx, depth: 0 }, slot);
}

function readStepList(r: StepReading, slot: Slot): Step[] | undefined {
  const items = asList('a list of steps')(r.cx, slot);
  if (!items) return undefined;
  const steps: Step[] = [];
  for (const item of items) {
    const step = readStep(r, item);
    if (step) steps.push(step);
  }
  return steps;
}

function readNonEmptySteps(r: StepReading, slot: Slot): Step[] | undefined {
  if (r.depth >= MAX_NESTING) {
    r.cx.error(slot.pos, `repeat/parallel nested more than ${MAX_NESTING} deep`);
    return undefined;
  }
  const steps = readStepList({ cx: r.cx, depth: r.depth + 1 }, slot);
  const node = slot.node as { items?: unknown[] } | undefined;
  if (steps && node?.items?.length === 0) return r.cx.empty(slot, 'one step');
  return steps;
}

function readStep(r: StepReading, slot: Slot): Step | undefined {
  const { cx } = r;
  const map = asMap(`a step: a map with one operation key (${STEP_OPS.join(', ')})`)(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'step', STEP_KEYS, slot.pos, { unknownKey: unknownStepKey, wrapper: true });
  const ops = f.present(STEP_OPS);
  const unknown = f.keys().filter((k) => !STEP_KEYS.includes(k));
  for (const key of unknown) noteBrokenStep(cx, undefined, f.slot(key)!);

  if (ops.length === 0) {
    if (unknown.length === 0) cx.error(slot.pos, `a step needs an operation, one of: ${STEP_OPS.join(', ')}`);
    return undefined;
  }
  if (ops.length > 1) {
    f.errorAt(
      ops[1],
      `a step has one operation, but this one has '${ops[0]}' and '${ops[1]}'; make them two steps`,
    );
    for (const op of ops) noteBrokenStep(cx, op, f.slot(op)!);
    return undefined;
  }
  const op = ops[0];
  const pos = f.keyPos(op)!;
  const body = readOperation(r, op, f.slot(op)!, pos);
  const expect = f.optional('expect', readExpectations);
  if (!body.step) {
    noteBrokenStep(cx, op, f.slot(op)!);
    return undefined;
  }
  const step = { ...body.step, pos, ...(expect ? { expect } : {}) } as Step;
  cx.setFieldPositions(step, body.positions);
  return step;
}

function readOperation(
  r: StepReading,
  op: StepOp,
  slot: Slot,
  pos: SourcePos,
): { step?: StepBody; positions: Record<string, SourcePos> } {
  const { cx } = r;
  const s = STEP_SPECS[op];
  let f: Fields;
  if (s.shorthand && isScalar(slot.node) && typeof slot.node.value === 'string') {
    f = Fields.ofShorthand(cx, op, s.shorthand, slot);
  } else {
    const shorthand = s.shorthand ? `, or just the ${s.shorthand} name` : '';
    const map = asMap(`the fields of ${op} (${s.fields.join(', ')})${shorthand}`)(cx, slot);
    if (!map) return { positions: {} };
    f = Fields.ofMap(cx, map, op, s.fields, pos, { unknownKey: (key) => unknownFieldOf(op, key) });
  }
  return { step: s.read(f, r), positions: f.positions() };
}

/** Remembers what a step that failed to read might have defined, from whatever of it is legible. */
function noteBrokenStep(cx: ReadContext, op: StepOp | undefined, slot: Slot): void {
  const defines: Readonly<Record<string, NameKind | 'any'>> = op
    ? (STEP_SPECS[op].defines ?? {})
    : { proc: 'any', child: 'any', as: 'any', name: 'any' };
  const node = slot.node;
  if (isScalar(node) && typeof node.value === 'string' && (op === undefined || STEP_SPECS[op].shorthand)) {
    const kind = op ? defines[STEP_SPECS[op].shorthand!] : 'any';
    if (kind) cx.brokenDefinitions.push({ kind, name: node.value, pos: slot.pos });
    return;
  }
  for (const [field, kind] of Object.entries(defines)) {
    const value = isMap(node) ? node.get(field) : undefined;
    const written = typeof value === 'string' ? value : undefined;
    if (written !== undefined || (isMap(node) && node.has(field)) || op !== undefined) {
      cx.brokenDefinitions.push({ kind, ...(written === undefined ? {} : { name: written }), pos: slot.pos });
    }
  }
}
