/**
 * The anonymous rmap (mm/rmap.c, v5.0, simplified): an anon_vma is shared by a vma and every vma forked
 * from it; a page records its anon_vma and its page index (vpn - base), so the (mm, address) pairs that
 * may map it are the member vmas at that index.
 */
import { Access, FOOTPRINT, FootprintKind, note } from '../sim/footprint.js';
import type { Vma } from './vma.js';

export class AnonVma {
  /** The vmas that may map its pages (anon_vma_chain); change them with join/leave. */
  readonly members = new Set<Vma>();

  /** anon_vma_chain_link: `vma` may map this anon_vma's pages from now on. */
  join(vma: Vma): void {
    if (FOOTPRINT.on) note(FootprintKind.AnonRmap, 0, 0, Access.Write);
    this.members.add(vma);
  }

  /** unlink_anon_vmas for one vma. */
  leave(vma: Vma): void {
    if (FOOTPRINT.on) note(FootprintKind.AnonRmap, 0, 0, Access.Write);
    this.members.delete(vma);
  }
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
    if (FOOTPRINT.on) note(FootprintKind.IdAlloc, 0, 0, Access.Write);
    return this.nextIdentity++;
  }

  create(baseVpn: number): AnonVma {
    if (FOOTPRINT.on) note(FootprintKind.IdAlloc, 0, 0, Access.Write);
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
