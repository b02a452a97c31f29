/**
 * A set of frame numbers for "what changed since the last look": a bitset over the frames plus the
 * list of members in insertion order, so adding is O(1), listing is O(members) and nothing per frame is
 * a JS collection (those stop at 2^24 entries). 1 bit + (while listed) 4 bytes a frame.
 */
const NONE = new Int32Array(0);

/** A machine's frames, whose per-frame arrays (FrameTable.perFrame) snapshots restore in part. */
interface Frames {
  readonly count: number;
  perFrame(make: new (length: number) => Uint32Array, framesPerElement: number): Uint32Array;
}

export class PfnSet {
  readonly frames: number;
  private readonly bits: Uint32Array;
  private list = new Int32Array(64);
  private n = 0;

  /** Over `frames` frames, or over a frame table's, the bitset then one of its per-frame arrays. */
  constructor(frames: number | Frames) {
    if (typeof frames === 'number') {
      this.frames = frames;
      this.bits = new Uint32Array(Math.ceil(frames / 32));
    } else {
      this.frames = frames.count;
      this.bits = frames.perFrame(Uint32Array, 32);
    }
  }

  get size(): number {
    return this.n;
  }

  has(pfn: number): boolean {
    return (this.bits[pfn >>> 5] & (1 << (pfn & 31))) !== 0;
  }

  add(pfn: number): void {
    const w = pfn >>> 5;
    const b = 1 << (pfn & 31);
    if ((this.bits[w] & b) !== 0) return;
    this.bits[w] |= b;
    if (this.n === this.list.length) {
      const bigger = new Int32Array(this.list.length * 2);
      bigger.set(this.list);
      this.list = bigger;
    }
    this.list[this.n++] = pfn;
  }

  /** What drainSorted answers a view of (kept from drain to drain: no allocation per drain). */
  private out = new Int32Array(64);

  /** The members in ascending order, valid until the next drain; the set is emptied. */
  drainSorted(): Int32Array {
    const bits = this.bits;
    const n = this.n;
    if (n === 0) return NONE; // most checks of a small step
    if (this.out.length < n) this.out = new Int32Array(Math.max(n, 2 * this.out.length));
    const out = this.out.subarray(0, n);
    if (n * 16 >= bits.length) {
      // many members: reading them off the bitset in order is cheaper than sorting the list
      let j = 0;
      for (let w = 0; w < bits.length; w++) {
        let x = bits[w];
        if (x === 0) continue;
        bits[w] = 0;
        while (x !== 0) {
          out[j++] = w * 32 + (31 - Math.clz32(x & -x));
          x &= x - 1;
        }
      }
    } else {
      out.set(this.list.subarray(0, n));
      out.sort();
      for (let i = 0; i < n; i++) bits[this.list[i] >>> 5] = 0;
    }
    this.n = 0;
    if (this.list.length > 1 << 16) this.list = new Int32Array(64);
    if (this.out.length > 1 << 16) this.out = new Int32Array(64);
    return out;
  }
}
