/**
 * Snapshot and in-place restore of an object graph. The model checker runs the steps before a
 * `parallel` step once, snapshots the World there, and restores it before every execution instead of
 * re-running those steps (issue 10).
 *
 * `snapshotGraph(root)` walks everything reachable from `root` — own properties (non-enumerable and
 * symbol-keyed ones too), array elements, Map and Set entries, typed arrays' bytes — and records it in
 * flat lists, so `restore()` is a few tight loops with no walking. Restore works in place: every object
 * that was reachable keeps its identity and gets back the values, elements, entries and bytes it had, so
 * closures and outside references to it stay valid; objects created since are dropped by the restored
 * references. What cannot be restored is refused or reported:
 * - functions are leaves (their closures are not restored): `functions()` lists where each was found,
 *   so a reviewer can check that none captures mutable state;
 * - a generator or iterator (a thread paused mid-path), a WeakMap/WeakSet/WeakRef or a Promise is a
 *   SnapshotError naming the path to it: their state is not reachable from JavaScript;
 * - prototypes are not walked (classes' methods and accessors), nor are the `leaves` given.
 * A frozen object has nothing of its own to restore, but what it refers to is walked all the same (a
 * frozen record may hold a mutable Map).
 */

export interface SnapshotOptions {
  /** Objects neither walked nor restored: inputs known immutable, the driver's own state. */
  readonly leaves?: Iterable<object>;
  /**
   * Arrays that only ever grow at the end, their elements never changed once pushed (an event log):
   * restored by cutting them back to their length, their elements taken as immutable and not walked.
   */
  readonly appendOnly?: Iterable<readonly unknown[]>;
  /**
   * Buffers of which only a leading part can be non-zero, with how many bytes that part has now (it
   * grows as the run goes, and a restore takes it back): a restore copies back the part the snapshot
   * saw and zeroes what it grew by since, not the whole buffer. A 256 MiB machine's frame table is
   * 1.2 MB, and a race touches a few frames of it: copying it all was most of a restore.
   */
  readonly usedBytes?: ReadonlyMap<ArrayBufferLike, () => number>;
}

export interface GraphSnapshot {
  /** Put every object reachable at snapshot time back as it was then, in place. */
  restore(): void;
  /** Objects recorded (typed arrays and their buffers included). */
  readonly objects: number;
  /** Bytes of typed-array and ArrayBuffer contents copied back by each restore. */
  readonly bytes: number;
  /** Where each reachable function was found ("root.checker.sources.secondaries"): a debug listing. */
  functions(): string[];
}

/** The graph holds something whose state cannot be captured (a paused generator, a WeakMap, ...). */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

const GENERATOR_PROTO: object = Object.getPrototypeOf(Object.getPrototypeOf((function* () {})()));
const ASYNC_GENERATOR_PROTO: object = Object.getPrototypeOf(Object.getPrototypeOf((async function* () {})()));
const ITERATOR_PROTO: object = Object.getPrototypeOf(GENERATOR_PROTO);
const protoOf = Object.prototype.isPrototypeOf;

function inherits(o: object, proto: object): boolean {
  return protoOf.call(proto, o);
}

// Map and Set are restored through the built-in methods, whatever a subclass overrides.
const mapSet = Map.prototype.set;
const mapClear = Map.prototype.clear;
const mapForEach = Map.prototype.forEach;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
const setAdd = Set.prototype.add;
const setClear = Set.prototype.clear;
const setForEach = Set.prototype.forEach;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size')!.get!;
const dateGetTime = Date.prototype.getTime;
const dateSetTime = Date.prototype.setTime;

/** A hole in a sparse array. */
const HOLE: unique symbol = Symbol('hole');

// property flags: a plain property (writable, enumerable, configurable data) is 0
const NOT_WRITABLE = 1;
const NOT_ENUMERABLE = 2;
const NOT_CONFIGURABLE = 4;
const ACCESSOR = 8;

type Key = string | symbol;

/** How an object was reached, for messages and the function listing. */
type Edge =
  | { readonly kind: 'prop'; readonly key: Key }
  | { readonly kind: 'index' | 'map-key' | 'map-value' | 'set'; readonly at: number };

class Walk {
  readonly index = new Map<object, number>();
  /** Per object reached: the object it was reached from (-1 for the root) and how. */
  readonly parent: number[] = [];
  readonly edge: (Edge | null)[] = [];
  readonly pending: object[] = [];
  readonly leaves: Set<object>;
  readonly appendOnly: Set<readonly unknown[]>;
  readonly functions: { holder: number; edge: Edge; name: string }[] = [];

  // own properties of ordinary objects
  readonly propObjs: object[] = [];
  readonly propStart: number[] = [];
  readonly propCount: number[] = [];
  readonly propKeys: Key[] = [];
  readonly propVals: unknown[] = [];
  readonly propFlags: number[] = [];
  // array elements
  readonly arrays: unknown[][] = [];
  readonly arrayStart: number[] = [];
  readonly arrayLength: number[] = [];
  readonly elements: unknown[] = [];
  // Map entries
  readonly maps: Map<unknown, unknown>[] = [];
  readonly mapStart: number[] = [];
  readonly mapCount: number[] = [];
  readonly mapKeys: unknown[] = [];
  readonly mapVals: unknown[] = [];
  // Set entries
  readonly sets: Set<unknown>[] = [];
  readonly setStart: number[] = [];
  readonly setCount: number[] = [];
  readonly setVals: unknown[] = [];
  // ArrayBuffers, each copied once whatever views share it
  readonly buffers = new Set<ArrayBufferLike>();
  readonly dates: Date[] = [];
  readonly times: number[] = [];

  // append-only arrays: their length and last element
  readonly logs: unknown[][] = [];
  readonly logLength: number[] = [];
  readonly logLast: unknown[] = [];

  constructor(options: SnapshotOptions) {
    this.leaves = new Set(options.leaves);
    this.appendOnly = new Set(options.appendOnly);
  }

  path(i: number): string {
    const parts: string[] = [];
    for (let at = i; at >= 0; at = this.parent[at]) {
      const e = this.edge[at];
      if (e !== null) parts.push(edgeText(e));
    }
    return `root${parts.reverse().join('')}`;
  }

  /** Note `value` as reached from object `from` along `edge`. */
  reach(value: unknown, from: number, edge: Edge): void {
    if (typeof value === 'function') {
      this.functions.push({ holder: from, edge, name: value.name });
      return;
    }
    if (typeof value !== 'object' || value === null || this.leaves.has(value) || this.index.has(value))
      return;
    this.index.set(value, this.parent.length);
    this.parent.push(from);
    this.edge.push(edge);
    this.pending.push(value);
  }

  run(root: object): void {
    this.index.set(root, 0);
    this.parent.push(-1);
    this.edge.push(null);
    this.pending.push(root);
    // breadth first, so the path reported to an object is a shortest one
    for (let at = 0; at < this.pending.length; at++) {
      const o = this.pending[at];
      this.visit(o, this.index.get(o)!);
    }
  }

  private refuse(i: number, what: string): never {
    throw new SnapshotError(`cannot snapshot ${this.path(i)}: ${what}`);
  }

  private visit(o: object, i: number): void {
    if (inherits(o, GENERATOR_PROTO) || inherits(o, ASYNC_GENERATOR_PROTO))
      this.refuse(i, 'a generator (a path paused mid-way) has state only it can see');
    if (inherits(o, ITERATOR_PROTO)) this.refuse(i, 'an iterator has a position only it can see');
    if (
      o instanceof WeakMap ||
      o instanceof WeakSet ||
      o instanceof WeakRef ||
      o instanceof FinalizationRegistry
    )
      this.refuse(i, `a ${o.constructor.name} cannot be enumerated`);
    if (o instanceof Promise) this.refuse(i, 'a Promise has state only it can see');
    if (ArrayBuffer.isView(o)) {
      this.buffers.add(o.buffer);
      return;
    }
    if (
      o instanceof ArrayBuffer ||
      (typeof SharedArrayBuffer !== 'undefined' && o instanceof SharedArrayBuffer)
    ) {
      this.buffers.add(o);
      return;
    }
    if (Array.isArray(o) && this.appendOnly.has(o)) {
      this.logs.push(o);
      this.logLength.push(o.length);
      this.logLast.push(o[o.length - 1]);
      return;
    }
    if (Array.isArray(o)) {
      this.visitArray(o, i);
      return;
    }
    if (o instanceof Map) this.visitMap(o, i);
    else if (o instanceof Set) this.visitSet(o, i);
    else if (o instanceof Date) {
      this.dates.push(o);
      this.times.push(dateGetTime.call(o));
    }
    this.visitProps(o, i);
  }

  private visitArray(a: unknown[], i: number): void {
    const keys = Reflect.ownKeys(a);
    let indices = 0;
    for (const k of keys) {
      if (k === 'length') continue;
      if (typeof k === 'string' && isIndex(k)) indices++;
      else this.refuse(i, `an array with a named property (${String(k)})`);
    }
    const n = a.length;
    const frozen = Object.isFrozen(a);
    if (!frozen) {
      this.arrays.push(a);
      this.arrayStart.push(this.elements.length);
      this.arrayLength.push(n);
    }
    const sparse = indices !== n;
    for (let j = 0; j < n; j++) {
      const v = sparse && !(j in a) ? HOLE : a[j];
      if (!frozen) this.elements.push(v);
      if (v !== HOLE) this.reach(v, i, { kind: 'index', at: j });
    }
  }

  private visitMap(m: Map<unknown, unknown>, i: number): void {
    this.maps.push(m);
    this.mapStart.push(this.mapKeys.length);
    this.mapCount.push(mapSize.call(m));
    let at = 0;
    mapForEach.call(m, (v, k) => {
      this.mapKeys.push(k);
      this.mapVals.push(v);
      this.reach(k, i, { kind: 'map-key', at });
      this.reach(v, i, { kind: 'map-value', at });
      at++;
    });
  }

  private visitSet(s: Set<unknown>, i: number): void {
    this.sets.push(s);
    this.setStart.push(this.setVals.length);
    this.setCount.push(setSize.call(s));
    let at = 0;
    setForEach.call(s, (v) => {
      this.setVals.push(v);
      this.reach(v, i, { kind: 'set', at: at++ });
    });
  }

  private visitProps(o: object, i: number): void {
    const keys = Reflect.ownKeys(o);
    const frozen = Object.isFrozen(o);
    if (!frozen) {
      this.propObjs.push(o);
      this.propStart.push(this.propKeys.length);
      this.propCount.push(keys.length);
    }
    for (const k of keys) {
      const d = Reflect.getOwnPropertyDescriptor(o, k)!;
      const flags =
        (d.writable === false ? NOT_WRITABLE : 0) |
        (d.enumerable ? 0 : NOT_ENUMERABLE) |
        (d.configurable ? 0 : NOT_CONFIGURABLE) |
        ('value' in d ? 0 : ACCESSOR);
      if (!frozen) {
        this.propKeys.push(k);
        this.propVals.push(flags & ACCESSOR ? d : d.value);
        this.propFlags.push(flags);
      }
      if (flags & ACCESSOR) {
        if (d.get !== undefined) this.reach(d.get, i, { kind: 'prop', key: k });
        if (d.set !== undefined) this.reach(d.set, i, { kind: 'prop', key: k });
      } else this.reach(d.value, i, { kind: 'prop', key: k });
    }
  }
}

/** An array index: a canonical uint32 below 2^32 - 1. */
function isIndex(k: string): boolean {
  const n = Number(k);
  return String(n >>> 0) === k && n !== 0xffffffff;
}

function edgeText(e: Edge): string {
  switch (e.kind) {
    case 'prop':
      return typeof e.key === 'symbol'
        ? `[${e.key.toString()}]`
        : /^[A-Za-z_$][\w$]*$/.test(e.key)
          ? `.${e.key}`
          : `[${JSON.stringify(e.key)}]`;
    case 'index':
      return `[${e.at}]`;
    case 'map-key':
      return `.<key ${e.at}>`;
    case 'map-value':
      return `.<value ${e.at}>`;
    case 'set':
      return `.<entry ${e.at}>`;
  }
}

/** Whether every byte of `b` from `from` on is zero (checked a word at a time). */
export function zeroFrom(b: ArrayBufferLike, from: number): boolean {
  const bytes = new Uint8Array(b);
  const start = Math.ceil(from / 4) * 4;
  const n = start < bytes.length ? (bytes.length - start) >> 2 : 0;
  if (n === 0) return bytes.subarray(from).every((x) => x === 0); // a few bytes
  for (let i = from; i < start; i++) if (bytes[i] !== 0) return false;
  const words = new Int32Array(b, start, n);
  for (let i = 0; i < n; i++) if (words[i] !== 0) return false;
  for (let i = start + n * 4; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Record everything reachable from `root`; see the module comment for what is and is not captured. */
export function snapshotGraph(root: object, options: SnapshotOptions = {}): GraphSnapshot {
  const w = new Walk(options);
  w.run(root);
  const buffers = [...w.buffers].map((b) => {
    const used = options.usedBytes?.get(b);
    const from = used === undefined ? b.byteLength : Math.min(used(), b.byteLength);
    if (!zeroFrom(b, from))
      throw new SnapshotError(`a buffer has bytes past the ${from} its owner says are used`);
    return { target: b, length: b.byteLength, saved: new Uint8Array(b.slice(0, from)), used };
  });
  const bytes = buffers.reduce((n, b) => n + b.saved.length, 0);
  const { propObjs, propStart, propCount, propKeys, propVals, propFlags } = w;
  const { arrays, arrayStart, arrayLength, elements } = w;
  const { maps, mapStart, mapCount, mapKeys, mapVals } = w;
  const { sets, setStart, setCount, setVals, dates, times } = w;
  const { logs, logLength, logLast } = w;

  function restoreProps(): void {
    for (let i = 0; i < propObjs.length; i++) {
      const o = propObjs[i] as Record<Key, unknown>;
      const s = propStart[i];
      const n = propCount[i];
      // Reflect.ownKeys is the same list but several times slower: names, then symbols, are ownKeys' order
      const names = Object.getOwnPropertyNames(o);
      const symbols = Object.getOwnPropertySymbols(o);
      let same = names.length + symbols.length === n;
      for (let j = 0; same && j < names.length; j++) same = names[j] === propKeys[s + j];
      for (let j = 0; same && j < symbols.length; j++) same = symbols[j] === propKeys[s + names.length + j];
      if (!same) {
        redefine(o, s, n);
        continue;
      }
      for (let j = s; j < s + n; j++)
        if ((propFlags[j] & (NOT_WRITABLE | ACCESSOR)) === 0) o[propKeys[j]] = propVals[j];
    }
  }

  /** Properties were added or deleted: take every one off and put the recorded ones back in order. */
  function redefine(o: object, s: number, n: number): void {
    for (const k of Reflect.ownKeys(o)) Reflect.deleteProperty(o, k);
    for (let j = s; j < s + n; j++) {
      const f = propFlags[j];
      const k = propKeys[j];
      if (f & ACCESSOR) Reflect.defineProperty(o, k, propVals[j] as PropertyDescriptor);
      else if (
        !Reflect.defineProperty(o, k, {
          value: propVals[j],
          writable: (f & NOT_WRITABLE) === 0,
          enumerable: (f & NOT_ENUMERABLE) === 0,
          configurable: (f & NOT_CONFIGURABLE) === 0,
        }) &&
        (f & NOT_WRITABLE) === 0
      )
        (o as Record<Key, unknown>)[k] = propVals[j]; // a non-configurable property stayed: set its value
    }
  }

  function restoreArrays(): void {
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i];
      const s = arrayStart[i];
      const n = arrayLength[i];
      a.length = n;
      for (let j = 0; j < n; j++) {
        const v = elements[s + j];
        if (v !== HOLE) a[j] = v;
        else if (j in a) delete a[j]; // a hole filled since (most holes of a sparse array stay holes)
      }
    }
  }

  function restoreMaps(): void {
    for (let i = 0; i < maps.length; i++) {
      const m = maps[i];
      const s = mapStart[i];
      const n = mapCount[i];
      // an unchanged map (the usual case) is cheaper to compare than to rebuild
      let same = mapSize.call(m) === n;
      if (same) {
        let j = s;
        mapForEach.call(m, (v, k) => {
          if (same && (k !== mapKeys[j] || v !== mapVals[j])) same = false;
          j++;
        });
      }
      if (same) continue;
      mapClear.call(m);
      for (let j = s; j < s + n; j++) mapSet.call(m, mapKeys[j], mapVals[j]);
    }
  }

  function restoreSets(): void {
    for (let i = 0; i < sets.length; i++) {
      const t = sets[i];
      const s = setStart[i];
      const n = setCount[i];
      let same = setSize.call(t) === n;
      if (same) {
        let j = s;
        setForEach.call(t, (v) => {
          if (same && v !== setVals[j]) same = false;
          j++;
        });
      }
      if (same) continue;
      setClear.call(t);
      for (let j = s; j < s + n; j++) setAdd.call(t, setVals[j]);
    }
  }

  function restoreLogs(): void {
    for (let i = 0; i < logs.length; i++) {
      const a = logs[i];
      const n = logLength[i];
      if (a.length < n || (n > 0 && a[n - 1] !== logLast[i]))
        throw new SnapshotError('an append-only array lost elements since the snapshot');
      a.length = n;
    }
  }

  function restoreBuffers(): void {
    for (const b of buffers) {
      const t = b.target as ArrayBuffer & { resizable?: boolean; resize?(n: number): void };
      if (t.byteLength !== b.length) {
        if (t.resizable !== true)
          throw new SnapshotError('an ArrayBuffer was detached or resized since the snapshot');
        t.resize!(b.length);
      }
      const view = new Uint8Array(t);
      view.set(b.saved);
      // what became used since the snapshot goes back to zero (the rest never left it)
      if (b.used !== undefined) view.fill(0, b.saved.length, Math.min(b.used(), b.length));
    }
  }

  return {
    objects: w.parent.length,
    bytes,
    restore(): void {
      restoreBuffers();
      restoreProps();
      restoreArrays();
      restoreMaps();
      restoreSets();
      restoreLogs();
      for (let i = 0; i < dates.length; i++) dateSetTime.call(dates[i], times[i]);
    },
    functions: () =>
      w.functions.map((f) => `${w.path(f.holder)}${edgeText(f.edge)}: ${f.name || '(anonymous)'}`),
  };
}
