/** FNV-1a over 32-bit words, two lanes: a fast, deterministic 64-bit digest (not cryptographic). */
export class Digest {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;

  word(x: number): void {
    this.a = Math.imul(this.a ^ (x >>> 0), 0x01000193);
    this.b = Math.imul(this.b ^ ((x >>> 0) + 0x9e3779b9), 0x5bd1e995);
    this.b ^= this.b >>> 15;
  }

  /** The first n words of `w`, as word() one by one would (in one loop: the event log's blocks). */
  words(w: Int32Array, n: number): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < n; i++) {
      const x = w[i];
      a = Math.imul(a ^ (x >>> 0), 0x01000193);
      b = Math.imul(b ^ ((x >>> 0) + 0x9e3779b9), 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.a = a;
    this.b = b;
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
