/**
 * A Map without V8's limit of 2^24 entries per Map ("Map maximum size exceeded"): one Map until it holds
 * `spill` entries, then further Maps for the keys added after that. New keys always go to the last Map
 * and iteration runs over the Maps in order, so the behaviour, iteration order included, is exactly a
 * Map's; below `spill` entries it costs one Map and one extra test per call. For collections with an
 * entry per page or frame, which can outgrow 2^24 on a large machine.
 */
const V8_MAP_LIMIT = 2 ** 24;

export class BigMap<K, V> implements Map<K, V> {
  private readonly maps: Map<K, V>[] = [new Map()];

  /** `spill`: entries per inner Map (below V8's limit; smaller only for tests). */
  constructor(private readonly spill = V8_MAP_LIMIT / 2) {
    if (!(spill >= 1 && spill < V8_MAP_LIMIT)) throw new RangeError(`BigMap: spill ${spill} out of range`);
  }

  get size(): number {
    let n = 0;
    for (const m of this.maps) n += m.size;
    return n;
  }

  get [Symbol.toStringTag](): string {
    return 'BigMap';
  }

  private holder(key: K): Map<K, V> | undefined {
    const maps = this.maps;
    if (maps.length === 1) return maps[0].has(key) ? maps[0] : undefined;
    for (const m of maps) if (m.has(key)) return m;
    return undefined;
  }

  get(key: K): V | undefined {
    const maps = this.maps;
    if (maps.length === 1) return maps[0].get(key);
    return this.holder(key)?.get(key);
  }

  has(key: K): boolean {
    return this.holder(key) !== undefined;
  }

  set(key: K, value: V): this {
    const maps = this.maps;
    const last = maps[maps.length - 1];
    const at = maps.length === 1 ? (last.has(key) ? last : undefined) : this.holder(key);
    if (at !== undefined) at.set(key, value);
    else if (last.size < this.spill) last.set(key, value);
    else maps.push(new Map([[key, value]]));
    return this;
  }

  delete(key: K): boolean {
    const maps = this.maps;
    for (let i = 0; i < maps.length; i++) {
      if (!maps[i].delete(key)) continue;
      if (maps[i].size === 0 && maps.length > 1) maps.splice(i, 1);
      return true;
    }
    return false;
  }

  clear(): void {
    this.maps.length = 1;
    this.maps[0].clear();
  }

  forEach(visit: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const m of this.maps) for (const [k, v] of m) visit.call(thisArg, v, k, this);
  }

  *entries(): MapIterator<[K, V]> {
    for (const m of this.maps) yield* m.entries();
  }

  *keys(): MapIterator<K> {
    for (const m of this.maps) yield* m.keys();
  }

  *values(): MapIterator<V> {
    for (const m of this.maps) yield* m.values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
