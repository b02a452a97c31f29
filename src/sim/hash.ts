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
