/**
 * The sharing partition: which (process, address) pairs map the same physical frame. It is the state
 * the differential oracle compares between mmsim and the real kernel (where /proc/PID/pagemap gives
 * each page's pfn and /proc/kpageflags says which are KSM or the zero page): frame numbers differ
 * between the two, the partition does not. Canonical form: groups sorted, members sorted.
 */

import { PG_KSM, ZERO_PFN } from '../hw/frames.js';
import { vpnAddress, vpnOf } from '../hw/page.js';
import { ptePfn, ptePresent, pteSpecial } from '../hw/pte.js';
import { BigMap } from '../sim/big-map.js';
import type { Kernel } from './kernel.js';

export interface SharingGroup {
  /** 'zero' for the shared zero page, 'ksm' for a KSM page, 'anon' otherwise. */
  kind: 'zero' | 'ksm' | 'anon';
  /** `proc:0xaddress` members, sorted. */
  members: string[];
}

/** The partition of every mapped page of the named processes (default: all live ones) by frame. */
export function sharingPartition(k: Kernel, procs?: readonly string[]): SharingGroup[] {
  const byFrame = new BigMap<number, string[]>();
  const names = procs ?? [...k.tasks.values()].filter((t) => t.alive).map((t) => t.name);
  for (const name of names) {
    const t = k.tasks.get(name);
    if (t === undefined || !t.alive) continue;
    for (const vma of t.mm.vmas) {
      t.mm.pt.forEachMapped(vpnOf(vma.start), vpnOf(vma.end), (vpn, pte) => {
        if (!ptePresent(pte)) return;
        const pfn = pteSpecial(pte) ? ZERO_PFN : ptePfn(pte);
        let list = byFrame.get(pfn);
        if (list === undefined) byFrame.set(pfn, (list = []));
        list.push(`${name}:0x${vpnAddress(vpn).toString(16)}`);
      });
    }
  }
  const groups: SharingGroup[] = [];
  for (const [pfn, members] of byFrame) {
    members.sort();
    const kind = pfn === ZERO_PFN ? 'zero' : k.frames.flagsOf(pfn) & PG_KSM ? 'ksm' : 'anon';
    groups.push({ kind, members });
  }
  groups.sort((a, b) => (a.members[0] < b.members[0] ? -1 : a.members[0] > b.members[0] ? 1 : 0));
  return groups;
}

/** A stable text form of a partition (one group per line), for comparing and hashing. */
export function formatPartition(groups: readonly SharingGroup[]): string {
  return groups.map((g) => `${g.kind} ${g.members.join(' ')}`).join('\n');
}
