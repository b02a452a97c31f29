/** KSM's two trees, and remove_rmap_item_from_tree (mm/ksm.c v5.0), which takes an item out of either. */
import { StableTree } from './stable-tree.js';
import type { KsmState } from './state.js';
import { IN_STABLE, IN_UNSTABLE } from './store.js';
import { UnstableTree } from './unstable-tree.js';

export class KsmTrees {
  readonly stable: StableTree;
  readonly unstable: UnstableTree;

  constructor(private readonly s: KsmState) {
    this.stable = new StableTree(s);
    this.unstable = new UnstableTree(s);
  }

  /** remove_rmap_item_from_tree. */
  removeRmapItemFromTree(item: number): void {
    const tree = this.s.items.tree[item];
    if (tree === IN_STABLE) this.stable.removeItem(item);
    else if (tree === IN_UNSTABLE) this.unstable.removeItem(item);
  }
}
