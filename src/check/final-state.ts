/**
 * The canonical final state of an execution, as a hash: every mm's vmas and ptes, the frames they map
 * (refcount, mapcount, flags and the bytes, by content digest so that equal bytes hash equal whatever
 * content id they got), the CPU TLBs, every secondary MMU's translations and protocol counts, the
 * counters, and the invariant violations. Two schedules of one Mazurkiewicz trace reach the same hash;
 * the checker counts distinct final states with it, and the soundness tests compare the sets a reduced
 * and an unreduced search reach.
 */
import { ptePfn, pteSpecial } from '../hw/pte.js';
import type { World } from '../scenario/world.js';
import { HmmMirror } from '../secondary/hmm/index.js';
import { KvmGuest } from '../secondary/kvm/index.js';
import { Digest } from '../sim/hash.js';
import { visitMappings } from './fingerprint.js';

export function finalStateHash(w: World): string {
  const d = new Digest();
  const k = w.kernel;
  const f = k.frames;
  const pfns = new Set<number>();
  for (const mm of [...k.mms.values()].sort((a, b) => a.id - b.id)) {
    d.number(mm.id);
    d.number((mm.exiting ? 1 : 0) + (mm.dead ? 2 : 0));
    visitMappings(w, mm, {
      vma: (vma) => {
        d.number(vma.start);
        d.number(vma.end);
        d.number(vma.flags);
      },
      pte: (vpn, pte) => {
        d.number(vpn);
        d.number(pte);
        if (!pteSpecial(pte)) pfns.add(ptePfn(pte));
      },
      tlb: (_cpu, vpn, pte) => {
        d.number(vpn);
        d.number(pte);
      },
    });
  }
  for (const view of w.secondaries()) {
    d.string(view.name);
    if (view instanceof KvmGuest) {
      d.number(view.mmuNotifierSeq);
      d.number(view.mmuNotifierCount);
    } else if (view instanceof HmmMirror) d.number(view.notifier.invalidateSeq);
    for (const t of view.translations()) {
      d.number(t.address);
      d.number(t.pfn);
      d.number(t.writable ? 1 : 0);
      pfns.add(t.pfn);
    }
  }
  for (const pfn of [...pfns].sort((a, b) => a - b)) {
    d.number(pfn);
    d.number(f.raw.refcount[pfn]);
    d.number(f.mapcount(pfn));
    d.number(f.raw.flags[pfn]);
    k.contents.digest(f.raw.content[pfn], d);
  }
  for (const [name, value] of Object.entries(w.counterValues())) {
    d.string(name);
    d.number(value);
  }
  for (const v of w.violations.list) d.string(v.invariant);
  return d.hex();
}
