/** FNV-1a over 32-bit words, two lanes: a fast, deterministic 64-bit digest (not cryptographic). */
export class Digest {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;

  word(x: number): void {
    this.a = Math.imul(this.a ^ (x >>> 0), 0x01000193);
    this.b = Math.imul(this.b ^ ((x >>> 0) + 0x9e3779b9), 0x5bd1e995);
    this.b ^= this.b >>> 15;
  }

  number(x: number): void {
    // exact for integers below 2^53: split into high and low words
    const hi = Math.floor(x / 0x1_0000_0000);
    this.word(hi);
    this.word(x >>> 0);
  }

  string(s: string): void {
    this.word(s.length);
    // two UTF-16 units per word (the length before them keeps the stream unambiguous): the event log
    // hashes every event's strings, a long run's largest single cost
    let i = 0;
    for (; i + 1 < s.length; i += 2) this.word(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
    if (i < s.length) this.word(s.charCodeAt(i));
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;

/** One lane's round: xxHash32's (acc + x * P2, rotated left 13, times P1). */
function round(acc: number, x: number): number {
  const t = (acc + Math.imul(x, P2)) | 0;
  return Math.imul((t << 13) | (t >>> 19), P1);
}

/**
 * A 64-bit digest of a stream of 32-bit words taken four at a time (a stripe), one word to each of four
 * lanes: xxHash32's accumulation (Y. Collet, xxHash, "XXH32": four lanes of acc = rotl(acc + x * P2, 13) *
 * P1), finished into two words by two different mixes of all four lanes. Unlike Digest's chain, where
 * every word waits on the one before, the four lanes are independent, so a CPU runs them side by side:
 * the event log's tens of millions of events, 16 words each, are a long run's largest single cost. Not
 * cryptographic; deterministic.
 */
export class StripeDigest {
  private v1 = (P1 + P2) | 0;
  private v2 = P2 | 0;
  private v3 = 0;
  private v4 = -P1 | 0;

  /** The first n words of `w`; n is a multiple of 4. */
  stripes(w: Int32Array, n: number): void {
    let v1 = this.v1;
    let v2 = this.v2;
    let v3 = this.v3;
    let v4 = this.v4;
    for (let i = 0; i < n; i += 4) {
      v1 = round(v1, w[i]);
      v2 = round(v2, w[i + 1]);
      v3 = round(v3, w[i + 2]);
      v4 = round(v4, w[i + 3]);
    }
    this.v1 = v1;
    this.v2 = v2;
    this.v3 = v3;
    this.v4 = v4;
  }

  /** A tag word, the string's length, then two UTF-16 units a word, zeros to the stripe's end. */
  string(tag: number, s: string): void {
    const n = (2 + ((s.length + 1) >> 1) + 3) & ~3;
    const w = new Int32Array(n);
    w[0] = tag;
    w[1] = s.length;
    for (let i = 0; i < s.length; i++) w[2 + (i >> 1)] |= s.charCodeAt(i) << ((i & 1) << 4);
    this.stripes(w, n);
  }

  hex(): string {
    const { v1, v2, v3, v4 } = this;
    // xxHash32's convergence and avalanche for one word, murmur3's mix and finish for the other
    let lo = (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20))) | 0;
    lo = (lo + ((v4 << 18) | (v4 >>> 14))) | 0;
    lo ^= lo >>> 15;
    lo = Math.imul(lo, P2);
    lo ^= lo >>> 13;
    lo = Math.imul(lo, P3);
    lo ^= lo >>> 16;
    const hi = finish(mix(mix(0x27d4eb2f, v1, v2), v3, v4));
    return hi.toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
  }
}

/** Hash of a whole byte array, used to hash-cons page contents. */
export function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

/** One round of a multiply-rotate hash over two 32-bit inputs. */
export function mix(h: number, a: number, b: number): number {
  let x = Math.imul(h ^ a, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x ^ b, 0x1b873593);
  return (x << 13) | (x >>> 19);
}

/** Avalanche, so that sums of hashes spread over all 32 bits. */
export function finish(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** FNV-1a of a string's UTF-16 units (names of counters, locks, secondaries). */
export function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A digest that is a sum of its items' hashes (two 32-bit lanes, modulo 2^32), so it does not depend on
 * the order items come in, and the difference of two digests is what changed between them: a state's
 * digest minus the digest before one transition is that transition's own effect, whatever else ran
 * before it that did not touch the same items. Counts enter linearly (value times the name's hash), so
 * that adding one to a count shared by several threads is the same change whoever added before.
 */
export class SumDigest {
  lo = 0;
  hi = 0;

  /** An item: a tag and up to four numbers (integers below 2^53). */
  item(tag: number, a: number, b = 0, c = 0, d = 0): void {
    let x = mix(tag, split(a), a >>> 0);
    x = mix(x, split(b), b >>> 0);
    x = mix(x, split(c), c >>> 0);
    x = mix(x, split(d), d >>> 0);
    this.lo = (this.lo + finish(x)) >>> 0;
    this.hi = (this.hi + finish(x ^ 0x9e3779b9)) >>> 0;
  }

  /** A count: `value` times the hash of (tag, a, b); a zero count is no item at all. */
  count(tag: number, a: number, b: number, value: number): void {
    if (value === 0) return;
    const x = mix(mix(tag, split(a), a >>> 0), split(b), b >>> 0);
    this.lo = (this.lo + Math.imul(finish(x) | 1, value)) >>> 0;
    this.hi = (this.hi + Math.imul(finish(x ^ 0x9e3779b9) | 1, value)) >>> 0;
  }

  hex(): string {
    return this.lo.toString(16).padStart(8, '0') + this.hi.toString(16).padStart(8, '0');
  }
}

/** The high word of an integer below 2^53. */
function split(x: number): number {
  return x > 0xffff_ffff || x < 0 ? Math.floor(x / 0x1_0000_0000) : 0;
}
