/**
 * The unstable tree (mm/ksm.c v5.0 unstable_tree_search_insert, get_mergeable_page): pages that did not
 * change since the last scan, rebuilt from empty at every full scan. Keyed by the content id a page had
 * when it was filed; a page may have been written since, so every match re-checks its content now, as
 * memcmp would.
 */
import { PG_ANON } from '../../hw/frames.js';
import { done, lockShared, ModelBug, type Path, unlockShared } from '../../sim/exec.js';
import { followPage } from '../gup.js';
import { findMergeableVma, type KsmState } from './state.js';
import { IN_NO_TREE, IN_UNSTABLE, IntMap, MISSING } from './store.js';

/** An unstable-tree item whose page (referenced) holds the same bytes as the page being scanned. */
export interface TreeMatch {
  item: number;
  page: number;
}

/** What searchInsert returns when it filed the item at once (no twin to compare with). */
export const NO_TWIN: Path<TreeMatch | null> = done(null);

export class UnstableTree {
  /** root_unstable_tree: content id when filed -> rmap item (an int32 map keyed on `id | 0`). */
  private readonly tree = new IntMap(12);

  constructor(private readonly s: KsmState) {}

  /** root_unstable_tree = RB_ROOT: a new full scan starts with an empty tree. */
  clear(): void {
    this.tree.clear();
  }

  /**
   * unstable_tree_search_insert (v5.0): an item of the tree whose page still holds this page's content,
   * with that page referenced; or null, after filing this item (UNSTABLE_FLAG | seqnr) if the tree had
   * none of its content or the candidate's page has changed since it was filed.
   */
  searchInsert(item: number, pfn: number): Path<TreeMatch | null> {
    const key = this.s.k.frames.contentOf(pfn);
    const tree = this.tree.get(key | 0);
    if (tree === MISSING || tree === item) {
      this.file(item, key);
      return NO_TWIN;
    }
    return this.compareWith(tree, item, pfn);
  }

  /** The tree's item for this content: does its page (get_mergeable_page) still hold it (memcmp_pages)? */
  private *compareWith(tree: number, item: number, pfn: number): Path<TreeMatch | null> {
    const f = this.s.k.frames;
    const treePfn = yield* getMergeablePage(this.s, tree);
    if (treePfn < 0) return null;
    if (treePfn === pfn) {
      this.s.putPage(treePfn); // don't substitute a KSM page for a forked page
      return null;
    }
    if (f.contentOf(treePfn) === f.contentOf(pfn)) return { item: tree, page: treePfn };
    // the tree page changed since it was filed: memcmp walks past it and this item is filed instead
    this.s.putPage(treePfn);
    this.file(item, f.contentOf(pfn));
    return null;
  }

  private file(item: number, key: number): void {
    const s = this.s;
    const it = s.items;
    it.tree[item] = IN_UNSTABLE;
    it.seqnr[item] = s.seqnr & 0xff;
    it.key[item] = key;
    this.tree.set(key | 0, item);
    s.cv[s.c.unshared]++;
    s.syncVolatile();
  }

  /** remove_rmap_item_from_tree for an unstable item (the tree is rebuilt, so only this scan's are in it). */
  removeItem(item: number): void {
    const s = this.s;
    const it = s.items;
    const age = (s.seqnr - it.seqnr[item]) & 0xff;
    if (age > 1) throw new ModelBug(`rmap item ${item} stayed in the unstable tree for ${age} scans`);
    const key = it.key[item] | 0;
    if (age === 0 && this.tree.get(key) === item) this.tree.delete(key);
    it.tree[item] = IN_NO_TREE;
    s.cv[s.c.unshared]--;
    s.syncVolatile();
  }
}

/** get_mergeable_page: the anonymous page an item's address maps now, referenced; -1 if none. */
function* getMergeablePage(s: KsmState, item: number): Path<number> {
  const mm = s.slotMm(item);
  const addr = s.itemAddress(item);
  yield* lockShared(s.agent, mm.mmapLock);
  let pfn = -1;
  if (findMergeableVma(mm, addr) !== undefined) {
    const p = followPage(mm, addr, false);
    if (p > 0 && (s.k.frames.flagsOf(p) & PG_ANON) !== 0) {
      s.getPage(p);
      pfn = p;
    }
  }
  unlockShared(mm.mmapLock);
  return pfn;
}
