import { describe, expect, it } from 'vitest';
import { SnapshotError, snapshotGraph } from '../../src/sim/snapshot.js';

describe('snapshotGraph: objects', () => {
  it('puts property values back in place, keeping identity', () => {
    const inner = { n: 1, s: 'a' };
    const root = { inner, count: 3, flag: true as boolean | undefined };
    const seen = () => inner.n; // a closure over the object sees the restored value
    const snap = snapshotGraph(root);
    inner.n = 99;
    inner.s = 'b';
    root.count = 4;
    root.flag = undefined;
    root.inner = { n: 7, s: 'new' };
    snap.restore();
    expect(root.inner).toBe(inner);
    expect(root).toEqual({ inner: { n: 1, s: 'a' }, count: 3, flag: true });
    expect(seen()).toBe(1);
  });

  it('removes properties added since and re-creates deleted ones, in their order', () => {
    const o: Record<string, number> = { a: 1, b: 2, c: 3 };
    const snap = snapshotGraph(o);
    delete o.b;
    o.d = 4;
    o.b = 5; // now a, c, d, b
    snap.restore();
    expect(Object.keys(o)).toEqual(['a', 'b', 'c']);
    expect(o).toEqual({ a: 1, b: 2, c: 3 });
    o.z = 1;
    snap.restore();
    expect(Object.keys(o)).toEqual(['a', 'b', 'c']);
  });

  it('restores non-enumerable and symbol-keyed properties', () => {
    const tag = Symbol('tag');
    const o: { [tag]?: number; hidden?: number } = {};
    Object.defineProperty(o, 'hidden', { value: 1, writable: true, enumerable: false, configurable: true });
    o[tag] = 2;
    const snap = snapshotGraph(o);
    o.hidden = 10;
    o[tag] = 20;
    snap.restore();
    expect(o.hidden).toBe(1);
    expect(o[tag]).toBe(2);
    expect(Object.getOwnPropertyDescriptor(o, 'hidden')?.enumerable).toBe(false);
  });

  it('removes symbol-keyed and non-enumerable properties added since', () => {
    const tag = Symbol('tag');
    const o: { a: number; [tag]?: number; hidden?: number } = { a: 1 };
    const snap = snapshotGraph(o);
    o[tag] = 2;
    Object.defineProperty(o, 'hidden', { value: 3, writable: true, enumerable: false, configurable: true });
    o.a = 9;
    snap.restore();
    expect(Reflect.ownKeys(o)).toEqual(['a']);
    expect(o.a).toBe(1);
  });

  it('restores objects whose read-only properties sit at different places among the same writable ones', () => {
    const readOnly = (o: object, key: string, value: number) =>
      Object.defineProperty(o, key, { value, writable: false, enumerable: true, configurable: true });
    const first: Record<string, number> = {};
    readOnly(first, 'ro', 1);
    first.w = 2;
    const second: Record<string, number> = { w: 3 };
    readOnly(second, 'ro', 4);
    const snap = snapshotGraph({ first, second });
    first.w = 20;
    second.w = 30;
    snap.restore();
    expect(first).toEqual({ ro: 1, w: 2 });
    expect(second).toEqual({ w: 3, ro: 4 });
  });

  it('restores class instances without touching their prototype', () => {
    class Counter {
      private n = 0;
      readonly log: string[] = [];
      bump(): number {
        this.log.push(`n=${this.n}`);
        return ++this.n;
      }
      get value(): number {
        return this.n;
      }
    }
    const c = new Counter();
    c.bump();
    const snap = snapshotGraph(c);
    c.bump();
    c.bump();
    snap.restore();
    expect(c).toBeInstanceOf(Counter);
    expect(c.value).toBe(1);
    expect(c.log).toEqual(['n=0']);
    expect(c.bump()).toBe(2);
  });

  it('handles cycles', () => {
    interface Node {
      name: string;
      next: Node | null;
      self?: Node;
    }
    const a: Node = { name: 'a', next: null };
    const b: Node = { name: 'b', next: a };
    a.next = b;
    a.self = a;
    const snap = snapshotGraph(a);
    b.next = null;
    a.name = 'x';
    snap.restore();
    expect(a.next).toBe(b);
    expect(b.next).toBe(a);
    expect(a.self).toBe(a);
    expect(a.name).toBe('a');
    expect(snap.objects).toBe(2);
  });

  it('drops objects created after the snapshot and restores ones detached since', () => {
    const old = { v: 1 };
    const root: { child: { v: number } | null; list: { v: number }[] } = { child: old, list: [] };
    const snap = snapshotGraph(root);
    old.v = 2;
    root.child = null; // detached, then changed: still restored
    old.v = 3;
    const created = { v: 9 };
    root.list.push(created);
    snap.restore();
    expect(root.child).toBe(old);
    expect(old.v).toBe(1);
    expect(root.list).toEqual([]);
  });

  it('can be restored again and again', () => {
    const o = { n: 0, xs: [1] };
    const snap = snapshotGraph(o);
    for (let i = 1; i <= 3; i++) {
      o.n = i;
      o.xs.push(i);
      snap.restore();
      expect(o).toEqual({ n: 0, xs: [1] });
    }
  });

  it('restores Dates', () => {
    const o = { when: new Date(1000) };
    const snap = snapshotGraph(o);
    o.when.setTime(5000);
    snap.restore();
    expect(o.when.getTime()).toBe(1000);
  });
});

describe('snapshotGraph: arrays', () => {
  it('restores nested arrays: length, elements and the elements of inner arrays', () => {
    const row0 = [1, 2];
    const row1 = [3];
    const grid = [row0, row1];
    const snap = snapshotGraph({ grid });
    row0.push(9);
    row0[0] = -1;
    row1.length = 0;
    grid.reverse();
    grid.push([7]);
    snap.restore();
    expect(grid).toEqual([[1, 2], [3]]);
    expect(grid[0]).toBe(row0);
    expect(grid[1]).toBe(row1);
  });

  it('keeps holes as holes', () => {
    const a: number[] = [];
    a[2] = 5;
    const snap = snapshotGraph(a);
    a[0] = 1;
    a[2] = 6;
    a.push(7);
    snap.restore();
    expect(a.length).toBe(3);
    expect(0 in a).toBe(false);
    expect(a[2]).toBe(5);
  });

  it('refuses an array with a named property', () => {
    const a = Object.assign([1], { extra: 1 });
    expect(() => snapshotGraph({ a })).toThrow(/root\.a: an array with a named property \(extra\)/);
  });

  it('cuts an append-only array back to its length without walking its elements', () => {
    const events = [{ seq: 0 }, { seq: 1 }];
    const root = { events };
    const snap = snapshotGraph(root, { appendOnly: [events] });
    events.push({ seq: 2 }, { seq: 3 });
    snap.restore();
    expect(events).toEqual([{ seq: 0 }, { seq: 1 }]);
    expect(snap.objects).toBe(2); // the root and the array, not the events
    events.length = 1;
    expect(() => snap.restore()).toThrow(SnapshotError);
  });
});

describe('snapshotGraph: typed arrays', () => {
  it('restores contents', () => {
    const t = { refcount: new Int32Array([1, 2, 3]), flags: new Uint8Array(4) };
    const snap = snapshotGraph(t);
    t.refcount[1] = 50;
    t.flags.fill(255);
    snap.restore();
    expect([...t.refcount]).toEqual([1, 2, 3]);
    expect([...t.flags]).toEqual([0, 0, 0, 0]);
    expect(snap.bytes).toBe(16);
  });

  it('copies a buffer shared by several views once, whichever view wrote', () => {
    const buffer = new ArrayBuffer(16);
    const words = new Uint32Array(buffer);
    const bytes = new Uint8Array(buffer, 4, 8);
    const tail = words.subarray(2);
    words.set([1, 2, 3, 4]);
    const snap = snapshotGraph({ words, bytes, tail, buffer });
    expect(snap.bytes).toBe(16);
    bytes.fill(0xaa);
    tail[1] = 77;
    snap.restore();
    expect([...words]).toEqual([1, 2, 3, 4]);
    expect(bytes[0]).toBe(2);
  });

  it('restores the view a property held, not a replacement made since', () => {
    const o = { pfn: new Uint32Array([5]) };
    const original = o.pfn;
    const snap = snapshotGraph(o);
    o.pfn = new Uint32Array([6, 7]); // a grown table replaces the old one
    original[0] = 8;
    snap.restore();
    expect(o.pfn).toBe(original);
    expect([...o.pfn]).toEqual([5]);
  });

  it('copies back only the used part of a buffer whose owner says how much is used, and zeroes what grew', () => {
    const table = { used: 2, refs: new Int32Array(1000) };
    table.refs.set([7, 8]);
    const usedBytes = new Map([[table.refs.buffer, () => table.used * 4]]);
    const snap = snapshotGraph(table, { usedBytes });
    expect(snap.bytes).toBe(8);
    table.refs[1] = 80;
    table.used = 5; // frames handed out since
    table.refs.set([1, 2, 3], 2);
    snap.restore();
    expect(table.used).toBe(2);
    expect([...table.refs.subarray(0, 6)]).toEqual([7, 8, 0, 0, 0, 0]);
    snap.restore(); // and again, from the smaller extent
    expect([...table.refs.subarray(0, 6)]).toEqual([7, 8, 0, 0, 0, 0]);
  });

  it('refuses a buffer with bytes past the part its owner says is used', () => {
    for (const at of [3, 4, 998, 999]) {
      const bytes = new Uint8Array(1001);
      bytes[at] = 1;
      expect(() => snapshotGraph({ bytes }, { usedBytes: new Map([[bytes.buffer, () => 3]]) })).toThrow(
        /past the 3 its owner says are used/,
      );
    }
  });
});

describe('snapshotGraph: Maps and Sets', () => {
  it('restores Map entries, their order, and the objects they hold', () => {
    const v1 = { n: 1 };
    const key = { k: true };
    const m = new Map<unknown, { n: number }>([
      ['a', v1],
      [key, { n: 2 }],
    ]);
    const snap = snapshotGraph({ m });
    v1.n = 10;
    m.delete('a');
    m.set('a', { n: 3 }); // re-added at the end, a different value
    m.set('b', { n: 4 });
    snap.restore();
    expect([...m.keys()]).toEqual(['a', key]);
    expect(m.get('a')).toBe(v1);
    expect(v1.n).toBe(1);
  });

  it('restores Set entries and their order', () => {
    const s = new Set([3, 1, 2]);
    const snap = snapshotGraph({ s });
    s.delete(3);
    s.add(3);
    s.add(4);
    snap.restore();
    expect([...s]).toEqual([3, 1, 2]);
  });

  it('uses the built-in Map methods whatever a subclass overrides', () => {
    class Counting extends Map<string, number> {
      sets = 0;
      override set(k: string, v: number): this {
        this.sets++;
        return super.set(k, v);
      }
    }
    const m = new Counting();
    m.set('x', 1);
    const snap = snapshotGraph(m);
    m.set('y', 2);
    snap.restore();
    expect([...m]).toEqual([['x', 1]]);
    expect(m.sets).toBe(1);
  });
});

describe('snapshotGraph: what it cannot capture', () => {
  it('lists functions as leaves, with where each was found', () => {
    function onPte(): void {}
    const root = { pt: { watch: onPte }, ops: [() => 1] };
    const snap = snapshotGraph(root);
    expect(snap.functions()).toEqual(['root.pt.watch: onPte', 'root.ops[0]: (anonymous)']);
  });

  it('refuses a generator, naming the path to it', () => {
    function* path(): Generator<number> {
      yield 1;
    }
    const root = { threads: [{ name: 't0', path: path() }] };
    expect(() => snapshotGraph(root)).toThrow(SnapshotError);
    expect(() => snapshotGraph(root)).toThrow(/root\.threads\[0\]\.path: a generator/);
  });

  it('refuses iterators, WeakMaps and WeakSets', () => {
    expect(() => snapshotGraph({ it: new Map().entries() })).toThrow(/root\.it: an iterator/);
    expect(() => snapshotGraph({ w: new WeakMap() })).toThrow(/root\.w: a WeakMap/);
    expect(() => snapshotGraph({ w: new WeakSet() })).toThrow(/root\.w: a WeakSet/);
  });

  it('does not walk or restore the leaves it is given', () => {
    const driver = { runs: 0 };
    const root = { driver, n: 1 };
    const snap = snapshotGraph(root, { leaves: [driver] });
    driver.runs = 5;
    root.n = 2;
    snap.restore();
    expect(root).toEqual({ driver: { runs: 5 }, n: 1 });
  });

  it('takes a frozen object as it is but restores what it refers to', () => {
    const table = new Map([['a', 1]]);
    const config = Object.freeze({ name: 'cfg', table });
    const snap = snapshotGraph({ config });
    table.set('b', 2);
    snap.restore();
    expect([...table]).toEqual([['a', 1]]);
  });
});
