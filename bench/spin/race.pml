/*
 * The example-20 race (examples/20-race-fault-vs-merge.yaml) as a Promela model, the anchor bench/check
 * compares mmsim's checker with: ksmd merges qemu-a's page P into the KSM page K (write_protect_page,
 * then replace_page; mm/ksm.c v5.0) while NVCPU vCPUs of vm1 take an EPT read fault on the gfn backed by
 * P (tdp_page_fault, arch/x86/kvm/mmu.c v5.0) under the mmu_notifier_seq / mmu_notifier_count retry
 * protocol (virt/kvm/kvm_main.c v5.0). The kernel is the seed's RFC (rfc-2019): both KSM ranges carry
 * MMU_NOTIFIER_USE_CHANGE_PTE and KVM returns at once from their invalidate_range_start/end, so only
 * change_pte's mmu_notifier_seq++ can make a racing fault retry. BUMP=1 is v5.0's KVM (the correct
 * protocol); BUMP=0 is KVM after c13fda237f08 (2021), where the fault installs a stale spte.
 *
 *   spin -DNVCPU=2 -DBUMP=1 -a race.pml && cc -O2 -DSAFETY -o pan pan.c && ./pan
 *
 * Written for mmsim's bench; abstracted as mmsim's paths are: one pte (qemu-a's), one spte (vm1's gfn 0),
 * the page reference gfn_to_pfn holds on P (which makes write_protect_page's pin check refuse the merge).
 */
#ifndef NVCPU
#define NVCPU 1
#endif
#ifndef BUMP
#define BUMP 1
#endif

#define NONE 0
#define P    1
#define K    2

byte pte = P;          /* qemu-a's pte: pfn */
bool pte_w = 1;        /* ... writable (the host wrote the page: dirty) */
byte spte = NONE;      /* vm1's spte for gfn 0: pfn */
bool spte_w = 0;
byte seq = 0;          /* kvm->mmu_notifier_seq */
byte count = 0;        /* kvm->mmu_notifier_count: never raised, the RFC skips KSM's ranges */
byte refs = 0;         /* references gfn_to_pfn holds on P */
bool ptl = 0;          /* qemu-a's page-table lock */
bool mmu_lock = 0;     /* kvm->mmu_lock: only ever held within one step here */
byte finished = 0;

/*
 * Steps are as coarse as mmsim's transitions between preemption points: a critical section that no other
 * process can observe midway is one atomic step; a step blocks at its guard while the lock it needs is
 * held (lock-wait is a scheduling point in mmsim too).
 */

/* kvm_mmu_notifier_change_pte -> kvm_set_spte_hva under mmu_lock: seq++ (v5.0), re-point a live spte RO */
inline change_pte(newpfn) {
  atomic {
    mmu_lock == 0 ->
#if BUMP
    seq++;
#endif
    if
    :: spte != NONE -> spte = newpfn; spte_w = 0
    :: else -> skip
    fi
  }
}

proctype ksmd() {
  bool merged = 0;
  /* write_protect_page(P): range start (skipped by KVM); under the ptl: ptep_clear_flush, pin check */
  atomic {
    ptl == 0 -> ptl = 1;
    if
    :: pte == P && pte_w ->
         pte = NONE;                          /* ptep_clear_flush */
         if
         :: refs != 0 -> pte = P; ptl = 0     /* mapcount + 1 != page_count: a fault holds P; set_pte_at back */
         :: else -> merged = 1
         fi
    :: else -> ptl = 0
    fi
  }
  if
  :: merged ->
       change_pte(P);                         /* set_pte_at_notify: ->change_pte first ... */
       atomic { pte_w = 0; pte = P; ptl = 0 } /* ... then the clean read-only pte; unlock */
       /* replace_page(P -> K): range start (skipped); under the ptl, if the pte is still P read-only */
       atomic {
         ptl == 0 -> ptl = 1;
         if
         :: pte == P && !pte_w -> pte = NONE; merged = 1   /* ptep_clear_flush */
         :: else -> ptl = 0; merged = 0
         fi
       }
       if
       :: merged ->
            change_pte(K);
            atomic { pte = K; ptl = 0 }       /* read-only; put P */
       :: else -> skip
       fi
  :: else -> skip
  fi;
  finished++
}

proctype vcpu() {
  byte s, pfn;
  bool w;
again:
  /* the access through the spte, else tdp_page_fault: mmu_notifier_seq read */
  atomic {
    if
    :: spte != NONE -> goto done
    :: else -> s = seq
    fi
  }
  /* hva_to_pfn_fast: lockless, a writable pte only */
  atomic {
    if
    :: pte != NONE && pte_w -> pfn = pte; w = 1; refs = refs + (pfn == P)
    :: else -> pfn = NONE
    fi
  }
  /* else get_user_pages (read) under the ptl */
  atomic {
    if
    :: pfn == NONE -> ptl == 0 -> pfn = pte; w = pte_w; refs = refs + (pfn == P)
    :: else -> skip
    fi
  }
  /* under mmu_lock: mmu_notifier_retry, else install the spte; kvm_release_pfn_clean */
  atomic {
    mmu_lock == 0 ->
    if
    :: count > 0 || seq != s -> skip
    :: else -> spte = pfn; spte_w = w
    fi;
    refs = refs - (pfn == P);
    s = 0; pfn = NONE; w = 0
  }
  goto again;
done:
  finished++
}

init {
  byte i;
  atomic {
    run ksmd();
    for (i : 1 .. NVCPU) { run vcpu() }
  }
  (finished == NVCPU + 1);
  /* coherence: vm1's spte maps what qemu-a's pte maps, writable only if the pte is */
  assert(spte == NONE || (spte == pte && (pte_w || !spte_w)))
}
