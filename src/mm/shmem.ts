/** A shared anonymous mapping's backing object (mm/shmem.c, reduced): a page cache of index -> pfn. */
import { BigMap } from '../sim/big-map.js';
import { RecordedMap } from '../sim/recorded-map.js';

export class ShmemObject {
  /** Page index -> pfn; the cache holds one reference on each page. */
  readonly pages: Map<number, number> = new RecordedMap(new BigMap<number, number>());
  /** Vmas that map this object (the object dies with the last one). */
  users = 0;
  constructor(readonly id: number) {}
}
