import { describe, expect, it } from 'vitest';
import { ContentStore, writePatternPage, ZERO_CONTENT } from '../../src/hw/content.js';
import { PAGE_SIZE } from '../../src/hw/page.js';
import { hashBytes } from '../../src/sim/hash.js';

const page = (fill = 0): Uint8Array => new Uint8Array(PAGE_SIZE).fill(fill);

describe('ContentStore: canonical forms', () => {
  it('a fill page is its byte, and costs no storage', () => {
    const s = new ContentStore();
    expect(s.fill(0)).toBe(ZERO_CONTENT);
    expect(s.fill(0xab)).toBe(0xab);
    expect(s.fill(0x1ff)).toBe(0xff);
    expect(s.materialize(0xab)).toEqual(page(0xab));
    expect(s.intern(page(0x5a))).toBe(0x5a);
    expect(s.explicitCount).toBe(0);
  });

  it('pattern pages: same (seed, index) same id, different otherwise; bytes 0..7 hold seed and index', () => {
    const s = new ContentStore();
    const a = s.pattern(7, 3);
    expect(s.pattern(7, 3)).toBe(a);
    expect(s.pattern(7, 4)).not.toBe(a);
    expect(s.pattern(8, 3)).not.toBe(a);
    expect(s.pattern(7, 3 + 4096)).not.toBe(a); // another pattern block
    const bytes = s.materialize(a);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getUint32(4, true)).toBe(3);
    expect(bytes.every((b) => b === bytes[0])).toBe(false); // never uniform
    expect(s.explicitCount).toBe(0);
  });

  it('an explicit page equal to a pattern page is recognised as that pattern page', () => {
    const s = new ContentStore();
    const bytes = new Uint8Array(PAGE_SIZE);
    writePatternPage(bytes, 0xdeadbeef, 12345);
    expect(s.intern(bytes.slice())).toBe(s.pattern(0xdeadbeef, 12345));
    // also when reached by byte writes: write the pattern page over a zero page
    expect(s.write(ZERO_CONTENT, 0, bytes)).toBe(s.pattern(0xdeadbeef, 12345));
    expect(s.explicitCount).toBe(0);
  });

  it('explicit pages are hash-consed: equal bytes give one id, different bytes different ids', () => {
    const s = new ContentStore();
    const a = page();
    a[100] = 1;
    const b = page();
    b[100] = 1;
    const c = page();
    c[101] = 1;
    const ia = s.intern(a);
    expect(s.intern(b)).toBe(ia);
    const ic = s.intern(c);
    expect(ic).not.toBe(ia);
    expect(s.explicitCount).toBe(2);
    expect(s.materialize(ia)).toEqual(b);
    expect(s.materialize(ic)).toEqual(c);
  });

  it('two different pages with the same hash stay distinct (compared after the hash)', () => {
    const s = new ContentStore();
    // FNV-1a over words: the state after two words can be matched by choosing the second word
    const P = 0x01000193;
    const h0 = 0x811c9dc5;
    const a = page(3);
    const b = page(3);
    const wa = new Int32Array(a.buffer);
    const wb = new Int32Array(b.buffer);
    wa[0] = 1;
    wa[1] = 2;
    wb[0] = 5;
    wb[1] = wa[1] ^ Math.imul(h0 ^ wa[0], P) ^ Math.imul(h0 ^ wb[0], P);
    expect(hashBytes(a)).toBe(hashBytes(b));
    expect(a).not.toEqual(b);
    const ia = s.intern(a.slice());
    const ib = s.intern(b.slice());
    expect(ib).not.toBe(ia);
    expect(s.intern(b.slice())).toBe(ib);
    expect(s.materialize(ia)).toEqual(a);
    expect(s.materialize(ib)).toEqual(b);
    // freeing one keeps the other findable
    s.ref(ia);
    s.ref(ib);
    s.unref(ia);
    expect(s.intern(b.slice())).toBe(ib);
    expect(s.explicitCount).toBe(1);
  });
});

describe('ContentStore: byte-granular reads and writes', () => {
  it('a write changes exactly the bytes written, at any offset', () => {
    const s = new ContentStore();
    const id = s.write(ZERO_CONTENT, 4093, new Uint8Array([1, 2, 3]));
    expect(Array.from(s.read(id, 4090, 6))).toEqual([0, 0, 0, 1, 2, 3]);
    expect(s.byteAt(id, 4095)).toBe(3);
    expect(s.byteAt(id, 0)).toBe(0);
    const id2 = s.write(id, 0, new Uint8Array([9]));
    expect(s.byteAt(id2, 0)).toBe(9);
    expect(Array.from(s.read(id2, 4093, 3))).toEqual([1, 2, 3]);
    expect(Array.from(s.read(0x11, 5, 3))).toEqual([0x11, 0x11, 0x11]);
  });

  it('writing a page back to uniform bytes returns the fill id', () => {
    const s = new ContentStore();
    const id = s.write(s.fill(7), 10, new Uint8Array([1]));
    expect(id).toBeGreaterThan(255);
    expect(s.write(id, 10, new Uint8Array([7]))).toBe(7);
  });

  it('the same small write on the same content gives the same id (memoised) and large writes hash-cons', () => {
    const s = new ContentStore();
    const a = s.write(ZERO_CONTENT, 5, new Uint8Array([1, 2]));
    expect(s.write(ZERO_CONTENT, 5, new Uint8Array([1, 2]))).toBe(a);
    const big = new Uint8Array(200).fill(4);
    const b = s.write(ZERO_CONTENT, 100, big);
    expect(s.write(ZERO_CONTENT, 100, big.slice())).toBe(b);
    // the same bytes reached another way are the same content
    const viaTwo = s.write(s.write(ZERO_CONTENT, 5, new Uint8Array([1])), 6, new Uint8Array([2]));
    expect(viaTwo).toBe(a);
  });

  it('a write into a pattern page keeps the rest of the pattern', () => {
    const s = new ContentStore();
    const p = s.pattern(1, 0);
    const orig = s.materialize(p);
    const id = s.write(p, 2000, new Uint8Array([0xaa, 0xbb]));
    const got = s.materialize(id);
    expect(got[2000]).toBe(0xaa);
    expect(got[2001]).toBe(0xbb);
    got[2000] = orig[2000];
    got[2001] = orig[2001];
    expect(got).toEqual(orig);
  });
});

describe('ContentStore: reference counting', () => {
  it('an explicit content is freed when its last reference goes, and ids are never reused', () => {
    const s = new ContentStore();
    const bytes = page();
    bytes[1] = 1;
    const id = s.intern(bytes.slice());
    s.ref(id);
    s.ref(id);
    s.unref(id);
    expect(s.explicitCount).toBe(1);
    expect(s.materialize(id)).toEqual(bytes);
    s.unref(id);
    expect(s.explicitCount).toBe(0);
    expect(s.explicitBytes).toBe(0);
    expect(() => s.materialize(id)).toThrow(/freed/);
    const again = s.intern(bytes.slice());
    expect(again).not.toBe(id);
    expect(s.materialize(again)).toEqual(bytes);
  });

  it('fill and pattern ids need no references', () => {
    const s = new ContentStore();
    s.ref(5);
    s.unref(5);
    s.unref(5);
    const p = s.pattern(3, 3);
    s.unref(p);
    expect(s.materialize(5)).toEqual(page(5));
    expect(s.materialize(p)[0]).toBe(3);
  });

  it('the write memo keeps its results alive until cleared', () => {
    const s = new ContentStore();
    const id = s.write(ZERO_CONTENT, 0, new Uint8Array([1]));
    expect(s.explicitCount).toBe(1);
    s.ref(id); // a frame holds it
    s.clearMemo();
    expect(s.explicitCount).toBe(1);
    s.unref(id);
    expect(s.explicitCount).toBe(0);
  });
});
