/**
 * A map from page numbers that records its reads and writes in footprints (sim/footprint.ts): a device's
 * page table or IOTLB. A lookup reads one key, a store writes it and marks the whole; iterating or asking
 * the size reads the whole, clearing writes it. It wraps any Map (a Map keeps insertion order, which an
 * IOTLB's oldest-first eviction needs; a BigMap has no 2^24 limit).
 */
import { Access, FOOTPRINT, FootprintKind, footprintSerial, note } from './footprint.js';

/** The footprint index standing for the whole map. */
const WHOLE = 2 ** 36 - 1;

export class RecordedMap<V> implements Map<number, V> {
  private readonly serial = footprintSerial();

  constructor(private readonly inner: Map<number, V>) {}

  private noteKey(key: number, mode: Access, whole: Access): void {
    note(FootprintKind.SecondaryEntry, this.serial, key, mode);
    note(FootprintKind.SecondaryEntry, this.serial, WHOLE, whole);
  }

  private noteWhole(mode: Access): void {
    if (FOOTPRINT.on) note(FootprintKind.SecondaryEntry, this.serial, WHOLE, mode);
  }

  get size(): number {
    this.noteWhole(Access.Read);
    return this.inner.size;
  }

  get [Symbol.toStringTag](): string {
    return 'RecordedMap';
  }

  get(key: number): V | undefined {
    if (FOOTPRINT.on) this.noteKey(key, Access.Read, Access.Touch);
    return this.inner.get(key);
  }

  has(key: number): boolean {
    if (FOOTPRINT.on) this.noteKey(key, Access.Read, Access.Touch);
    return this.inner.has(key);
  }

  set(key: number, value: V): this {
    if (FOOTPRINT.on) this.noteKey(key, Access.Write, Access.Mark);
    this.inner.set(key, value);
    return this;
  }

  delete(key: number): boolean {
    if (FOOTPRINT.on) this.noteKey(key, Access.Write, Access.Mark);
    return this.inner.delete(key);
  }

  clear(): void {
    this.noteWhole(Access.Write);
    this.inner.clear();
  }

  forEach(visit: (value: V, key: number, map: Map<number, V>) => void, thisArg?: unknown): void {
    this.noteWhole(Access.Read);
    this.inner.forEach((v, k) => {
      visit.call(thisArg, v, k, this);
    });
  }

  keys(): MapIterator<number> {
    this.noteWhole(Access.Read);
    return this.inner.keys();
  }

  values(): MapIterator<V> {
    this.noteWhole(Access.Read);
    return this.inner.values();
  }

  entries(): MapIterator<[number, V]> {
    this.noteWhole(Access.Read);
    return this.inner.entries();
  }

  [Symbol.iterator](): MapIterator<[number, V]> {
    return this.entries();
  }
}
