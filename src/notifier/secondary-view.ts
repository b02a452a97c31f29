/**
 * What the invariant checker may ask of a secondary MMU: the translations it holds right now. Every
 * secondary (KVM, a device mirror, an IOMMU's IOTLB) implements this alongside its notifier ops.
 */
import type { Mm } from '../mm/mm.js';

export interface SecondaryTranslation {
  /** The host virtual address (bytes, page aligned) the translation stands for. */
  address: number;
  pfn: number;
  writable: boolean;
}

/** Told of one translation: the host address (page aligned), the pfn, whether writable. */
export type TranslationVisitor = (address: number, pfn: number, writable: boolean) => void;

export interface SecondaryMmuView {
  /** 'kvm:vm1', 'dev:gpu', 'iommu:sva0' — also the agent prefix in reports. */
  readonly name: string;
  readonly mm: Mm;
  /** Every translation the secondary could use without asking the primary MMU. */
  translations(): Iterable<SecondaryTranslation>;
  /**
   * Visit the translations of host addresses in [start, end), for checking what changed without a sweep
   * (no object per translation: a step may change a million pages; default: `translations()` filtered).
   */
  translationsIn?(start: number, end: number, visit: TranslationVisitor): void;
  /** References the secondary holds on frames (pfn -> count), for the accounting recount. */
  heldRefs?(): Map<number, number>;
}
