/**
 * A set of frame numbers for "what changed since the last look": a bitset over the frames plus the
 * list of members in insertion order, so adding is O(1), listing is O(members) and nothing per frame is
 * a JS collection (those stop at 2^24 entries). 1 bit + (while listed) 4 bytes a frame.
 */
export class PfnSet {
  private readonly bits: Uint32Array;
  private list = new Int32Array(64);
  private n = 0;

  constructor(readonly frames: number) {
    this.bits = new Uint32Array(Math.ceil(frames / 32));
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

  /** The members in ascending order; the set is emptied. */
  drainSorted(): Int32Array {
    const bits = this.bits;
    let out: Int32Array;
    if (this.n * 16 >= bits.length) {
      // many members: reading them off the bitset in order is cheaper than sorting the list
      out = new Int32Array(this.n);
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
      out = this.list.slice(0, this.n).sort();
      for (let i = 0; i < this.n; i++) bits[this.list[i] >>> 5] = 0;
    }
    this.n = 0;
    if (this.list.length > 1 << 16) this.list = new Int32Array(64);
    return out;
  }
}
