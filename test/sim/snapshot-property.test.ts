/**
 * snapshotGraph's restore is exact, whatever happened since: on random graphs of objects, class
 * instances, arrays (sparse too), Maps, Sets and typed arrays that refer to each other (cycles
 * included), any sequence of changes — values set, properties added (symbol-keyed and non-enumerable
 * ones too) and deleted, array holes filled and made, lengths changed, entries added and removed, bytes
 * written, new objects linked in — is undone by restore(), to the keys' order, the descriptors, the
 * holes and every object's identity, and again after a second round of changes. The model checker
 * restores the World this way before every execution.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotGraph } from '../../src/sim/snapshot.js';

class Box {
  a: unknown = 0;
  b: unknown = null;
}

type Node =
  | Record<string | symbol, unknown>
  | unknown[]
  | Map<unknown, unknown>
  | Set<unknown>
  | Box
  | Uint8Array;

const TAG = Symbol('tag');
const KEYS: (string | symbol)[] = ['a', 'b', 'c', 'd', '0', '7', TAG];

/** A value for a slot: a primitive, or (by index) a node of the graph. */
const value = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('x', 'y', null, undefined, true),
  fc.nat({ max: 7 }).map((i) => ({ ref: i })),
);

type Value = number | string | null | undefined | boolean | { ref: number };

interface Spec {
  kind: 'object' | 'array' | 'sparse' | 'map' | 'set' | 'box' | 'bytes';
  slots: Value[];
}

const spec: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom('object', 'array', 'sparse', 'map', 'set', 'box', 'bytes'),
  slots: fc.array(value, { maxLength: 5 }),
});

/** One change, applied to node `node % nodes` (or to a new object linked from it). */
interface Change {
  node: number;
  op: number;
  key: number;
  value: Value;
}

const change: fc.Arbitrary<Change> = fc.record({
  node: fc.nat({ max: 7 }),
  op: fc.nat({ max: 9 }),
  key: fc.nat({ max: KEYS.length - 1 }),
  value,
});

const MAKE: Record<Spec['kind'], () => Node> = {
  object: () => ({}),
  array: () => [],
  sparse: () => [],
  map: () => new Map(),
  set: () => new Set(),
  box: () => new Box(),
  bytes: () => new Uint8Array(4),
};

function build(specs: Spec[]): Node[] {
  const nodes: Node[] = specs.map((s) => MAKE[s.kind]());
  const resolve = (v: Value): unknown =>
    v !== null && typeof v === 'object' ? nodes[v.ref % nodes.length] : v;
  specs.forEach((s, i) => {
    const n = nodes[i];
    s.slots.forEach((v, j) => {
      if (n instanceof Map) n.set(KEYS[j % KEYS.length], resolve(v));
      else if (n instanceof Set) n.add(resolve(v));
      else if (n instanceof Uint8Array) n[j % n.length] = typeof v === 'number' ? v & 255 : j;
      else if (Array.isArray(n)) n[s.kind === 'sparse' ? j * 3 + 1 : j] = resolve(v);
      else (n as Record<string | symbol, unknown>)[KEYS[j % KEYS.length]] = resolve(v);
    });
    if (s.kind === 'object' && s.slots.length > 2)
      Object.defineProperty(n, 'hidden', {
        value: resolve(s.slots[2]),
        writable: true,
        enumerable: false,
        configurable: true,
      });
  });
  return nodes;
}

function apply(nodes: Node[], c: Change): void {
  const n = nodes[c.node % nodes.length];
  const key = KEYS[c.key];
  const v = c.value !== null && typeof c.value === 'object' ? nodes[c.value.ref % nodes.length] : c.value;
  const fresh = { made: 'later', v }; // an object made after the snapshot
  if (n instanceof Map) {
    if (c.op < 4) n.set(key, v);
    else if (c.op < 6) n.delete(key);
    else if (c.op < 7) n.clear();
    else n.set(fresh, fresh);
  } else if (n instanceof Set) {
    if (c.op < 4) n.add(v);
    else if (c.op < 7) n.delete(v);
    else n.add(fresh);
  } else if (n instanceof Uint8Array) {
    n[c.key % n.length] = (c.op * 37 + 1) & 255;
  } else if (Array.isArray(n)) {
    const i = c.key;
    if (c.op < 2) n.push(v);
    else if (c.op < 3) n.pop();
    else if (c.op < 5) n[i] = v;
    else if (c.op < 6) delete n[i];
    else if (c.op < 7) n.length = i;
    else if (c.op < 8) n.reverse();
    else n[i] = fresh;
  } else {
    const o = n as Record<string | symbol, unknown>;
    if (c.op < 4) o[key] = v;
    else if (c.op < 6) delete o[key];
    else if (c.op < 7)
      Object.defineProperty(o, `h${c.key}`, {
        value: v,
        writable: true,
        enumerable: false,
        configurable: true,
      });
    else if (c.op < 8) o[key] = fresh;
    else {
      fresh.v = o; // a new object pointing back into the graph
      o.link = fresh;
    }
  }
}

/** Every node's contents, with references to nodes as their index, other objects described whole. */
function dump(nodes: Node[]): unknown[] {
  const ref = (v: unknown): unknown => {
    if (typeof v === 'symbol') return `sym:${String(v)}`;
    if (v === undefined) return 'undefined';
    if (v === null || typeof v !== 'object') return v;
    const i = nodes.indexOf(v as Node);
    return i >= 0 ? { node: i } : { other: true };
  };
  return nodes.map((n) => {
    if (n instanceof Map) return ['map', [...n].map(([k, v]) => [ref(k), ref(v)])];
    if (n instanceof Set) return ['set', [...n].map(ref)];
    if (n instanceof Uint8Array) return ['bytes', [...n]];
    const own = Reflect.ownKeys(n).map((k) => {
      const d = Object.getOwnPropertyDescriptor(n, k)!;
      return [ref(k), ref(d.value), d.writable, d.enumerable, d.configurable];
    });
    return [Array.isArray(n) ? 'array' : n instanceof Box ? 'box' : 'object', own];
  });
}

describe('snapshotGraph: restore is exact (property)', () => {
  it('undoes any changes to a random graph, twice', () => {
    fc.assert(
      fc.property(
        fc.array(spec, { minLength: 1, maxLength: 8 }),
        fc.array(change, { maxLength: 25 }),
        fc.array(change, { maxLength: 25 }),
        (specs, first, second) => {
          const nodes = build(specs);
          const before = dump(nodes);
          const snap = snapshotGraph(nodes);
          for (const c of first) apply(nodes, c);
          snap.restore();
          expect(dump(nodes)).toEqual(before);
          for (const c of second) apply(nodes, c);
          snap.restore();
          expect(dump(nodes)).toEqual(before);
        },
      ),
      { numRuns: 400 },
    );
  });
});
