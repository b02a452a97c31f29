/**
 * KSM's bookkeeping as flat typed arrays (mm/ksm.c v5.0 struct rmap_item and struct stable_node): ids
 * index parallel arrays, free ids are recycled through a free list, and the arrays double when full. A
 * fleet of 4M scanned pages costs about 45 bytes an rmap item this way, with no per-item object.
 */

/** No rmap item (an empty link). Item ids are >= 0. */
export const NO_ITEM = -1;
/** No stable node. Node ids are >= 1, so a zero-filled per-frame array means "none". */
export const NO_NODE = 0;

/** rmap_item->address flags: in no tree (volatile or just merged), in the unstable tree, in the stable tree. */
export const IN_NO_TREE = 0;
export const IN_UNSTABLE = 1;
export const IN_STABLE = 2;

/**
 * oldchecksum of an item that has never been checksummed. The kernel zero-fills a new rmap_item and no
 * real page hashes to 0; here checksums are content ids and 0 is the zero page's, so "never" needs its
 * own value (content ids never reach it in practice).
 */
export const NO_CHECKSUM = 0xffff_ffff;

function grow<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/** struct rmap_item: one scanned (mm, address), threaded on its mm_slot's sorted rmap_list. */
export class RmapItems {
  /** Virtual page number (address >> PAGE_SHIFT). */
  vpn: Float64Array;
  /** The mm_slot the item belongs to; -1 when the id is free. */
  slot: Int32Array;
  /** Next item of the same mm_slot's rmap_list (ascending addresses), or NO_ITEM. */
  next: Int32Array;
  /** oldchecksum: the page's content id when last seen (NO_CHECKSUM at first). */
  checksum: Uint32Array;
  /** IN_NO_TREE, IN_UNSTABLE or IN_STABLE (UNSTABLE_FLAG / STABLE_FLAG). */
  tree: Uint8Array;
  /** ksm_scan.seqnr & 0xff when inserted in the unstable tree (SEQNR_MASK). */
  seqnr: Uint8Array;
  /** Unstable: the content id the item was filed under. */
  key: Uint32Array;
  /** Stable: the stable node (rmap_item->head), and the node's hlist links. */
  node: Int32Array;
  hnext: Int32Array;
  hprev: Int32Array;
  /** Smart scan (v6.7+): visits while not a KSM page (rmap_item->age, saturating at 255). */
  age: Uint8Array;
  /** Smart scan: visits still to skip before the next look (rmap_item->remaining_skips). */
  remainingSkips: Uint8Array;
  /** Items allocated now (ksm_rmap_items). */
  live = 0;
  private cap: number;
  private top = 0;
  private freeHead = NO_ITEM;

  constructor(initial = 1024) {
    this.cap = initial;
    this.vpn = new Float64Array(initial);
    this.slot = new Int32Array(initial).fill(-1);
    this.next = new Int32Array(initial);
    this.checksum = new Uint32Array(initial);
    this.tree = new Uint8Array(initial);
    this.seqnr = new Uint8Array(initial);
    this.key = new Uint32Array(initial);
    this.node = new Int32Array(initial);
    this.hnext = new Int32Array(initial);
    this.hprev = new Int32Array(initial);
    this.age = new Uint8Array(initial);
    this.remainingSkips = new Uint8Array(initial);
  }

  /** alloc_rmap_item: a zeroed item for (slot, vpn). */
  alloc(slot: number, vpn: number): number {
    let id = this.freeHead;
    if (id !== NO_ITEM) this.freeHead = this.next[id];
    else {
      if (this.top === this.cap) this.enlarge();
      id = this.top++;
    }
    this.vpn[id] = vpn;
    this.slot[id] = slot;
    this.next[id] = NO_ITEM;
    this.checksum[id] = NO_CHECKSUM;
    this.tree[id] = IN_NO_TREE;
    this.seqnr[id] = 0;
    this.node[id] = NO_NODE;
    this.hnext[id] = NO_ITEM;
    this.hprev[id] = NO_ITEM;
    this.age[id] = 0;
    this.remainingSkips[id] = 0;
    this.live++;
    return id;
  }

  /** free_rmap_item: the caller has taken it out of every tree and list. */
  free(id: number): void {
    this.slot[id] = -1;
    this.next[id] = this.freeHead;
    this.freeHead = id;
    this.live--;
  }

  isLive(id: number): boolean {
    return id >= 0 && id < this.top && this.slot[id] >= 0;
  }

  private enlarge(): void {
    const cap = this.cap * 2;
    this.vpn = grow(this.vpn, cap);
    const slot = new Int32Array(cap).fill(-1);
    slot.set(this.slot);
    this.slot = slot;
    this.next = grow(this.next, cap);
    this.checksum = grow(this.checksum, cap);
    this.tree = grow(this.tree, cap);
    this.seqnr = grow(this.seqnr, cap);
    this.key = grow(this.key, cap);
    this.node = grow(this.node, cap);
    this.hnext = grow(this.hnext, cap);
    this.hprev = grow(this.hprev, cap);
    this.age = grow(this.age, cap);
    this.remainingSkips = grow(this.remainingSkips, cap);
    this.cap = cap;
  }
}

/** struct stable_node: a KSM page (kpfn) and the rmap items that share it. */
export class StableNodes {
  kpfn: Int32Array;
  /** The content id the node is filed under in the stable tree (KSM pages never change). */
  key: Uint32Array;
  /** First item of the node's hlist, and rmap_hlist_len. */
  first: Int32Array;
  len: Int32Array;
  alive: Uint8Array;
  /** Nodes allocated now. */
  live = 0;
  private cap: number;
  private top = 1;
  private readonly freeIds: number[] = [];

  constructor(initial = 256) {
    this.cap = initial;
    this.kpfn = new Int32Array(initial);
    this.key = new Uint32Array(initial);
    this.first = new Int32Array(initial);
    this.len = new Int32Array(initial);
    this.alive = new Uint8Array(initial);
  }

  alloc(kpfn: number, key: number): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.top === this.cap) this.enlarge();
      id = this.top++;
    }
    this.kpfn[id] = kpfn;
    this.key[id] = key;
    this.first[id] = NO_ITEM;
    this.len[id] = 0;
    this.alive[id] = 1;
    this.live++;
    return id;
  }

  free(id: number): void {
    this.alive[id] = 0;
    this.freeIds.push(id);
    this.live--;
  }

  /** Every allocated node id. */
  *ids(): Generator<number> {
    for (let id = 1; id < this.top; id++) if (this.alive[id]) yield id;
  }

  private enlarge(): void {
    const cap = this.cap * 2;
    this.kpfn = grow(this.kpfn, cap);
    this.key = grow(this.key, cap);
    this.first = grow(this.first, cap);
    this.len = grow(this.len, cap);
    this.alive = grow(this.alive, cap);
    this.cap = cap;
  }
}

/** What IntMap.get returns for a missing key. */
export const MISSING = -0x8000_0000;
const TOMB = -0x7fff_ffff;

/** Keys that differ only in these low bits keep their order in neighbouring slots (see homeSlot). */
const RUN_BITS = 6;
const RUN_MASK = (1 << RUN_BITS) - 1;

/**
 * Where a key's probe starts in a table of `mask + 1` = 2^(32 - shift) slots: keys that differ only in
 * their low RUN_BITS bits lie in neighbouring slots, in order, and the rest is Fibonacci-hashed. Content
 * ids come in runs (a pattern's pages, contents made one after another) and ksmd meets them in that
 * order, address after address, so its lookups walk the tables along cache lines instead of missing the
 * cache at every page (the unstable tree of a 4M-page fleet is 50 MB).
 */
function homeSlot(key: number, shift: number, mask: number): number {
  return ((Math.imul(key >>> RUN_BITS, 0x9e3779b1) >>> shift) + (key & RUN_MASK)) & mask;
}

/**
 * An int32 -> int32 hash map with open addressing (linear probing, homeSlot), for the trees'
 * content-id indexes: no boxing, no per-entry objects, one cache line per probe (each slot is three
 * adjacent int32s: generation, key, value), and `clear` is O(1) — a generation bump — which the
 * unstable tree needs at the start of every full scan. Values must not be MISSING.
 */
export class IntMap {
  /** Slot i is t[3i] (generation: in use, live or deleted, iff equal to the map's), t[3i+1] key, t[3i+2] value. */
  private t: Int32Array;
  private gen = 1;
  private shift: number;
  private mask: number;
  /** Slots in use (live + deleted), and live entries. */
  private used = 0;
  size = 0;

  constructor(initialBits = 10) {
    this.t = new Int32Array(3 << initialBits);
    this.shift = 32 - initialBits;
    this.mask = (1 << initialBits) - 1;
  }

  get(key: number): number {
    const { t, gen, mask } = this;
    for (let i = homeSlot(key, this.shift, mask); t[3 * i] === gen; i = (i + 1) & mask) {
      if (t[3 * i + 1] === key && t[3 * i + 2] !== TOMB) return t[3 * i + 2];
    }
    return MISSING;
  }

  set(key: number, value: number): void {
    const { t, gen, mask } = this;
    let tomb = -1;
    let i = homeSlot(key, this.shift, mask);
    for (; t[3 * i] === gen; i = (i + 1) & mask) {
      if (t[3 * i + 1] === key && t[3 * i + 2] !== TOMB) {
        t[3 * i + 2] = value;
        return;
      }
      if (tomb < 0 && t[3 * i + 2] === TOMB) tomb = i;
    }
    if (tomb >= 0) i = tomb;
    else {
      t[3 * i] = gen;
      this.used++;
    }
    t[3 * i + 1] = key;
    t[3 * i + 2] = value;
    this.size++;
    if (this.used * 2 > mask + 1) this.rehash();
  }

  delete(key: number): boolean {
    const { t, gen, mask } = this;
    for (let i = homeSlot(key, this.shift, mask); t[3 * i] === gen; i = (i + 1) & mask) {
      if (t[3 * i + 1] === key && t[3 * i + 2] !== TOMB) {
        t[3 * i + 2] = TOMB;
        this.size--;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.used = 0;
    this.size = 0;
    if (++this.gen === 0x7fff_ffff) {
      this.t.fill(0);
      this.gen = 1;
    }
  }

  forEach(visit: (key: number, value: number) => void): void {
    const { t, gen } = this;
    for (let i = 0; i < t.length; i += 3) if (t[i] === gen && t[i + 2] !== TOMB) visit(t[i + 1], t[i + 2]);
  }

  private rehash(): void {
    const old = this.t;
    const oldGen = this.gen;
    let bits = 32 - this.shift;
    if (this.size * 4 > this.mask + 1) bits++;
    this.t = new Int32Array(3 << bits);
    this.gen = 1;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.used = 0;
    this.size = 0;
    for (let i = 0; i < old.length; i += 3) {
      if (old[i] === oldGen && old[i + 2] !== TOMB) this.set(old[i + 1], old[i + 2]);
    }
  }
}

/**
 * A one-hash Bloom filter over int32 keys: "certainly absent" answers without touching a big table.
 * The stable tree consults it first, since most scanned pages have no KSM twin; keys removed from the
 * tree stay set until the next rebuild, which only costs a lookup.
 */
export class KeyFilter {
  private bits: Uint32Array;
  private shift: number;
  private mask: number;

  constructor(log2Bits = 16) {
    this.bits = new Uint32Array(Math.max(1, (1 << log2Bits) >>> 5));
    this.shift = 32 - log2Bits;
    this.mask = (1 << log2Bits) - 1;
  }

  /** Number of bits. */
  get size(): number {
    return this.bits.length * 32;
  }

  add(key: number): void {
    const b = homeSlot(key, this.shift, this.mask);
    this.bits[b >>> 5] |= 1 << (b & 31);
  }

  mayHave(key: number): boolean {
    const b = homeSlot(key, this.shift, this.mask);
    return (this.bits[b >>> 5] & (1 << (b & 31))) !== 0;
  }

  /** Start over with 2^log2Bits bits and no key. */
  reset(log2Bits: number): void {
    this.bits = new Uint32Array(Math.max(1, (1 << log2Bits) >>> 5));
    this.shift = 32 - log2Bits;
    this.mask = (1 << log2Bits) - 1;
  }
}
