/**
 * The stable tree (mm/ksm.c v5.0 stable_tree_search, stable_tree_insert, stable_tree_append,
 * remove_node_from_stable_tree, get_ksm_page's staleness test, stable_node chains past max_page_sharing).
 * The kernel's rb-tree is ordered by memcmp of page contents; here it is a map keyed by content id (ids
 * are equal iff bytes are). Its pages are KSM pages: write-protected, so their content never changes.
 */
import { PG_KSM } from '../../hw/frames.js';
import { ModelBug } from '../../sim/exec.js';
import type { KsmState } from './state.js';
import { IN_NO_TREE, IN_STABLE, IntMap, KeyFilter, MISSING, NO_ITEM, NO_NODE } from './store.js';

export class StableTree {
  /**
   * root_stable_tree: content id -> a stable node, or a stable_node chain (filed as -(index + 1)). An
   * int32 hash map keyed on `id | 0` (one-to-one on uint32 content ids).
   */
  private readonly tree = new IntMap(12);
  /** Keys ever filed since the filter's last rebuild (a superset of the tree's keys). */
  private readonly filter = new KeyFilter(16);
  private removals = 0;
  /** stable_node chains: their dups, most recent first. */
  private readonly chains: number[][] = [];
  private readonly freeChains: number[] = [];

  constructor(private readonly s: KsmState) {}

  /** page_stable_node. */
  pageStableNode(pfn: number): number {
    return (this.s.k.frames.flagsOf(pfn) & PG_KSM) !== 0 ? this.s.pfnNode[pfn] : NO_NODE;
  }

  /** get_ksm_page's test: the node's page is still the KSM page of this node. */
  nodeValid(node: number): boolean {
    const kpfn = this.s.nodes.kpfn[node];
    const f = this.s.k.frames;
    return (f.flagsOf(kpfn) & PG_KSM) !== 0 && f.refcountOf(kpfn) > 0 && this.s.pfnNode[kpfn] === node;
  }

  /** is_page_sharing_candidate. */
  private isCandidate(node: number): boolean {
    const len = this.s.nodes.len[node];
    return len > 0 && len < this.s.config.maxPageSharing;
  }

  /**
   * stable_tree_search (v5.0): a KSM page with this page's content that can take one more sharer,
   * referenced; -1 if none. A KSM page that was forked is its own answer. Stale nodes met on the way are
   * pruned; a chain left with one dup below the limit collapses back to a plain node (chain_prune).
   */
  search(pfn: number): number {
    const s = this.s;
    const f = s.k.frames;
    if (this.pageStableNode(pfn) !== NO_NODE) {
      s.getPage(pfn); // ksm page forked
      return pfn;
    }
    const key = f.contentOf(pfn);
    if (!this.filter.mayHave(key | 0)) return -1;
    const entry = this.tree.get(key | 0);
    if (entry === MISSING) return -1;
    let found = NO_NODE;
    if (entry > 0) {
      if (!this.nodeValid(entry)) this.removeNode(entry);
      else if (this.isCandidate(entry)) found = entry;
    } else {
      const chain = this.chains[-entry - 1];
      let live = 0;
      let best = -1;
      for (const dup of [...chain]) {
        if (!this.nodeValid(dup)) {
          this.removeNode(dup);
          continue;
        }
        live++;
        if (this.isCandidate(dup) && s.nodes.len[dup] > best) {
          found = dup;
          best = s.nodes.len[dup];
        }
      }
      if (found !== NO_NODE && live === 1 && this.tree.get(key | 0) === entry) {
        // one dup left, below the limit: drop the chain
        this.tree.set(key | 0, found);
        this.freeChain(entry);
        s.cv[s.c.chains]--;
        s.cv[s.c.dups]--;
      }
    }
    if (found === NO_NODE) return -1; // none, or every dup is full: wait for an unstable-tree match
    const kpfn = s.nodes.kpfn[found];
    if (f.contentOf(kpfn) !== key)
      throw new ModelBug(`KSM page ${kpfn} changed content while in the stable tree`);
    s.getPage(kpfn);
    return kpfn;
  }

  /** stable_tree_insert: a new stable node for kpage, as a new dup of a chain if its content is there. */
  insert(kpfn: number): number {
    const s = this.s;
    const key = s.k.frames.contentOf(kpfn);
    let entry = this.tree.get(key | 0);
    if (entry !== MISSING) {
      const list = entry > 0 ? [entry] : [...this.chains[-entry - 1]];
      for (const n of list) if (!this.nodeValid(n)) this.removeNode(n);
      entry = this.tree.get(key | 0);
    }
    const node = s.nodes.alloc(kpfn, key);
    s.pfnNode[kpfn] = node;
    s.orphans.delete(kpfn);
    if (entry === MISSING) {
      this.tree.set(key | 0, node);
      this.fileKey(key | 0);
    } else if (entry > 0) {
      // alloc_stable_node_chain + stable_node_chain_add_dup: the full node and the new one become dups
      this.tree.set(key | 0, this.newChain([node, entry]));
      s.cv[s.c.chains]++;
      s.cv[s.c.dups] += 2;
      s.log('stable_node chain', null, -1, `max_page_sharing ${s.config.maxPageSharing} reached`);
    } else {
      this.chains[-entry - 1].unshift(node);
      s.cv[s.c.dups]++;
    }
    return node;
  }

  /** A new key in the tree: into the filter, which is rebuilt when it gets crowded or stale. */
  private fileKey(key: number): void {
    const size = this.tree.size;
    if (size * 16 > this.filter.size || this.removals > Math.max(4096, size)) {
      this.filter.reset(Math.max(16, Math.ceil(Math.log2(size * 32))));
      this.removals = 0;
      this.tree.forEach((k) => {
        this.filter.add(k);
      });
    } else this.filter.add(key);
  }

  private newChain(dups: number[]): number {
    const c = this.freeChains.pop();
    if (c === undefined) {
      this.chains.push(dups);
      return -this.chains.length;
    }
    this.chains[c] = dups;
    return -c - 1;
  }

  private freeChain(ref: number): void {
    this.chains[-ref - 1] = [];
    this.freeChains.push(-ref - 1);
  }

  /** stable_tree_append: the item shares the node's KSM page. */
  append(item: number, node: number): void {
    const s = this.s;
    const it = s.items;
    const nd = s.nodes;
    const first = nd.first[node];
    it.hnext[item] = first;
    it.hprev[item] = NO_ITEM;
    if (first !== NO_ITEM) it.hprev[first] = item;
    nd.first[node] = item;
    nd.len[node]++;
    it.node[item] = node;
    it.tree[item] = IN_STABLE;
    if (first !== NO_ITEM) s.cv[s.c.sharing]++;
    else s.cv[s.c.shared]++;
    s.syncVolatile();
  }

  /** remove_node_from_stable_tree: a stale node (its page is gone) and all its items. */
  removeNode(node: number): void {
    const s = this.s;
    const it = s.items;
    const nd = s.nodes;
    const cv = s.cv;
    for (let i = nd.first[node]; i !== NO_ITEM; ) {
      const nxt = it.hnext[i];
      if (nxt !== NO_ITEM) cv[s.c.sharing]--;
      else cv[s.c.shared]--;
      it.tree[i] = IN_NO_TREE;
      it.node[i] = NO_NODE;
      it.hnext[i] = NO_ITEM;
      it.hprev[i] = NO_ITEM;
      i = nxt;
    }
    nd.first[node] = NO_ITEM;
    nd.len[node] = 0;
    const key = nd.key[node] | 0;
    const entry = this.tree.get(key);
    if (entry === node) {
      this.tree.delete(key);
      this.removals++;
    } else if (entry !== MISSING && entry < 0) {
      const chain = this.chains[-entry - 1];
      const i = chain.indexOf(node);
      if (i >= 0) {
        chain.splice(i, 1); // stable_node_dup_del
        cv[s.c.dups]--;
        if (chain.length === 0) {
          this.tree.delete(key);
          this.removals++;
          this.freeChain(entry);
          cv[s.c.chains]--;
        }
      }
    }
    const kpfn = nd.kpfn[node];
    if (s.pfnNode[kpfn] === node) s.pfnNode[kpfn] = NO_NODE;
    nd.free(node);
    s.syncVolatile();
  }

  /** remove_rmap_item_from_tree for an item on a stable node (get_ksm_page prunes a stale node). */
  removeItem(item: number): void {
    const s = this.s;
    const it = s.items;
    const node = it.node[item];
    if (!this.nodeValid(node)) {
      this.removeNode(node);
      return;
    }
    const nd = s.nodes;
    const prev = it.hprev[item];
    const next = it.hnext[item];
    if (prev === NO_ITEM) nd.first[node] = next;
    else it.hnext[prev] = next;
    if (next !== NO_ITEM) it.hprev[next] = prev;
    nd.len[node]--;
    if (nd.first[node] !== NO_ITEM) s.cv[s.c.sharing]--;
    else s.cv[s.c.shared]--;
    it.tree[item] = IN_NO_TREE;
    it.node[item] = NO_NODE;
    it.hnext[item] = NO_ITEM;
    it.hprev[item] = NO_ITEM;
    s.syncVolatile();
  }

  /** Every filed entry, for the self-check: (content key, the nodes filed under it, is it a chain). */
  forEachEntry(visit: (key: number, nodes: readonly number[], chain: boolean) => void): void {
    this.tree.forEach((key, entry) => {
      visit(key, entry > 0 ? [entry] : this.chains[-entry - 1], entry < 0);
    });
  }
}
