/**
 * KSM's self-check: the counters against a recount of the trees and rmap items, and every KSM page
 * against its stable node and the page tables (PG_KSM with a live node, mapcount equal to the ptes that
 * map it, none of them writable, content unchanged). What the accounting invariant asks of KSM.
 */
import { PG_KSM } from '../../hw/frames.js';
import { vpnAddress, vpnOf } from '../../hw/page.js';
import { ptePfn, ptePresent, pteSpecial, pteWrite } from '../../hw/pte.js';
import { BigMap } from '../../sim/big-map.js';
import type { Kernel } from '../kernel.js';
import type { Mm } from '../mm.js';
import type { KsmState } from './state.js';
import { IN_STABLE, IN_UNSTABLE, NO_ITEM, NO_NODE } from './store.js';
import type { KsmTrees } from './trees.js';

/** Every inconsistency found (empty when consistent). */
export function ksmProblems(s: KsmState, trees: KsmTrees): string[] {
  const out = ksmStructureProblems(s, trees);
  ksmPagesAgainstPageTables(s, out);
  return out;
}

/**
 * The self-check's part about KSM's own structures: mm_slots, rmap items, the trees, stable nodes and
 * their pages' content, the counters against a recount. What can change only on KSM's paths.
 */
export function ksmStructureProblems(s: KsmState, trees: KsmTrees): string[] {
  const out: string[] = [];
  const it = s.items;
  const nd = s.nodes;
  const cv = s.cv;
  let items = 0;
  let unstable = 0;
  let stableItems = 0;
  for (let sl = s.head.next; sl !== s.head; sl = sl.next) {
    if (s.slots[sl.id] !== sl) out.push(`mm_slot ${sl.id} is on the list but not registered`);
    let prevVpn = -1;
    let n = 0;
    for (let i = sl.head; i !== NO_ITEM; i = it.next[i]) {
      if (++n > it.live) {
        out.push(`mm_slot ${sl.id}: rmap_list has a cycle`);
        break;
      }
      items++;
      if (it.slot[i] !== sl.id)
        out.push(`rmap item ${i} is on mm_slot ${sl.id}'s list but says ${it.slot[i]}`);
      if (it.vpn[i] <= prevVpn) out.push(`mm_slot ${sl.id}: rmap_list not in ascending address order`);
      prevVpn = it.vpn[i];
      if (it.tree[i] === IN_UNSTABLE) unstable++;
      else if (it.tree[i] === IN_STABLE) {
        stableItems++;
        if (!nd.alive[it.node[i]]) out.push(`rmap item ${i} is on freed stable node ${it.node[i]}`);
      }
    }
  }
  if (items !== it.live) out.push(`${it.live} rmap items allocated, ${items} on mm_slot lists`);
  let inTree = 0;
  let chains = 0;
  let dups = 0;
  trees.stable.forEachEntry((key, list, chain) => {
    if (chain) {
      chains++;
      dups += list.length;
    }
    for (const node of list) {
      inTree++;
      if (!nd.alive[node]) out.push(`stable tree holds freed node ${node}`);
      else if ((nd.key[node] | 0) !== key) out.push(`stable node ${node} filed under the wrong content`);
    }
  });
  if (inTree !== nd.live) out.push(`${nd.live} stable nodes allocated, ${inTree} in the stable tree`);
  let shared = 0;
  let sharing = 0;
  let onNodes = 0;
  for (const node of nd.ids()) {
    let n = 0;
    let prev = NO_ITEM;
    for (let i = nd.first[node]; i !== NO_ITEM; i = it.hnext[i]) {
      if (++n > it.live) {
        out.push(`stable node ${node}: hlist has a cycle`);
        break;
      }
      if (it.node[i] !== node || it.tree[i] !== IN_STABLE)
        out.push(`rmap item ${i} on node ${node}'s hlist says otherwise`);
      if (it.hprev[i] !== prev) out.push(`rmap item ${i}: broken hlist back link`);
      prev = i;
    }
    if (n !== nd.len[node]) out.push(`stable node ${node}: rmap_hlist_len ${nd.len[node]} but ${n} items`);
    if (n > 0) {
      shared++;
      sharing += n - 1;
    }
    onNodes += n;
    const changed = nodeContentProblem(s, trees, node);
    if (changed !== null) out.push(changed);
  }
  if (onNodes !== stableItems) out.push(`${stableItems} items marked stable, ${onNodes} on stable nodes`);
  const expect = (name: string, slot: number, want: number): void => {
    if (cv[slot] !== want) out.push(`ksm.${name} is ${cv[slot]}, recount gives ${want}`);
  };
  const c = s.c;
  expect('pages_shared', c.shared, shared);
  expect('pages_sharing', c.sharing, sharing);
  expect('pages_unshared', c.unshared, unstable);
  expect('pages_volatile', c.volatile, items - shared - sharing - unstable);
  expect('full_scans', c.fullScans, s.seqnr);
  expect('stable_node_chains', c.chains, chains);
  expect('stable_node_dups', c.dups, dups);
  if (cv[c.volatile] < 0) out.push(`ksm.pages_volatile is negative (${cv[c.volatile]})`);
  return out;
}

/** Every KSM page against the page tables: none maps it writable, its mapcount is what maps it. */
function ksmPagesAgainstPageTables(s: KsmState, out: string[]): void {
  const k = s.k;
  const f = k.frames;
  const maps = new BigMap<number, number>();
  for (const mm of k.mms.values()) {
    for (const vma of mm.vmas) {
      mm.pt.forEachMapped(vpnOf(vma.start), vpnOf(vma.end), (vpn, pte) => {
        if (!ptePresent(pte) || pteSpecial(pte)) return;
        const pfn = ptePfn(pte);
        if ((f.raw.flags[pfn] & PG_KSM) === 0) return;
        maps.set(pfn, (maps.get(pfn) ?? 0) + 1);
        const writable = ksmMappingProblem(k, mm, vpn, pte);
        if (writable !== null) out.push(writable);
      });
    }
  }
  for (let pfn = 1; pfn < f.everUsedBelow; pfn++) {
    if ((f.raw.flags[pfn] & PG_KSM) === 0 || f.raw.refcount[pfn] === 0) continue;
    ksmPageProblems(s, pfn, maps.get(pfn) ?? 0, out);
    if (out.length > 50) break;
  }
}

/** The KSM page of `node` no longer holds the content the node is filed under. */
function nodeContentProblem(s: KsmState, trees: KsmTrees, node: number): string | null {
  const nd = s.nodes;
  if (!trees.stable.nodeValid(node) || s.k.frames.raw.content[nd.kpfn[node]] === nd.key[node]) return null;
  return `KSM page ${nd.kpfn[node]} (node ${node}) changed content`;
}

/** A pte of `mm` at `vpn` that maps a KSM page writable (a store would bypass COW). */
export function ksmMappingProblem(k: Kernel, mm: Mm, vpn: number, pte: number): string | null {
  if (!ptePresent(pte) || pteSpecial(pte) || !pteWrite(pte)) return null;
  const pfn = ptePfn(pte);
  if ((k.frames.raw.flags[pfn] & PG_KSM) === 0) return null;
  return `mm${mm.id} maps KSM page ${pfn} writable at 0x${vpnAddress(vpn).toString(16)}`;
}

/** One KSM page (PG_KSM, referenced) against its stable node, and its mapcount against `ptes`. */
function ksmPageProblems(s: KsmState, pfn: number, ptes: number, out: string[]): void {
  const f = s.k.frames;
  const nd = s.nodes;
  const node = s.pfnNode[pfn];
  if (node === NO_NODE) {
    if (!s.busy && !s.orphans.has(pfn)) out.push(`KSM page ${pfn} has no stable node`);
  } else if (!nd.alive[node] || nd.kpfn[node] !== pfn) {
    out.push(`KSM page ${pfn} points at stable node ${node}, which is not its node`);
  }
  if (f.mapcount(pfn) !== ptes)
    out.push(`KSM page ${pfn}: mapcount ${f.mapcount(pfn)} but ${ptes} ptes map it`);
  if (f.raw.refcount[pfn] < f.mapcount(pfn))
    out.push(`KSM page ${pfn}: refcount ${f.raw.refcount[pfn]} below mapcount`);
}

/**
 * What `ksmProblems` says about frames `pfns` alone (each mapped by `ptesOf(pfn)` ptes), in their order:
 * all that can change while KSM's own state stays as it was (its counters, trees and rmap items change
 * only on KSM's paths), so a check of what changed asks this instead of the whole self-check.
 */
export function ksmFrameProblems(
  s: KsmState,
  trees: KsmTrees,
  pfns: ArrayLike<number>,
  ptesOf: (pfn: number) => number,
): string[] {
  const out: string[] = [];
  const f = s.k.frames;
  const nd = s.nodes;
  for (let i = 0; i < pfns.length; i++) {
    const pfn = pfns[i];
    const node = s.pfnNode[pfn];
    if (node !== NO_NODE && node < nd.alive.length && nd.alive[node] && nd.kpfn[node] === pfn) {
      const changed = nodeContentProblem(s, trees, node);
      if (changed !== null) out.push(changed);
    }
    if ((f.raw.flags[pfn] & PG_KSM) !== 0 && f.raw.refcount[pfn] !== 0)
      ksmPageProblems(s, pfn, ptesOf(pfn), out);
  }
  return out;
}
