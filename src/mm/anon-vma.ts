/**
 * The anonymous rmap (mm/rmap.c, v5.0, simplified): an anon_vma is shared by a vma and every vma forked
 * from it; a page records its anon_vma and its page index (vpn - base), so the (mm, address) pairs that
 * may map it are the member vmas at that index.
 */
import type { Vma } from './vma.js';

export class AnonVma {
  readonly members = new Set<Vma>();
  constructor(
    readonly id: number,
    /** The vpn that page index 0 stands for. */
    readonly baseVpn: number,
  ) {}
}

export class AnonVmaRegistry {
  private readonly byId = new Map<number, AnonVma>();
  private nextId = 1;
  private nextIdentity = 1;

  /** A fresh kernel anon_vma identity (Vma.anonId): anon_vma_prepare's or anon_vma_fork's new anon_vma. */
  newIdentity(): number {
    return this.nextIdentity++;
  }

  create(baseVpn: number): AnonVma {
    const av = new AnonVma(this.nextId++, baseVpn);
    this.byId.set(av.id, av);
    return av;
  }

  get(id: number): AnonVma | undefined {
    return this.byId.get(id);
  }

  /** Forget anon_vmas with no member vmas (their pages are all gone by then). */
  prune(av: AnonVma): void {
    if (av.members.size === 0) this.byId.delete(av.id);
  }
}
