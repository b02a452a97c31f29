/** Where the generic mm paths call into KSM (mm/ksm.c hooks in madvise, fork and exit). */
import type { Agent, Path } from '../sim/exec.js';
import type { Errno } from './kernel.js';
import type { Mm } from './mm.js';
import type { Vma } from './vma.js';

export interface KsmHooks {
  /** ksm_madvise(MADV_MERGEABLE): register the mm with ksmd (__ksm_enter). */
  madviseMergeable(agent: Agent, vma: Vma): Path<Errno | null>;
  /** ksm_madvise(MADV_UNMERGEABLE): break every KSM page in [start, end) (unmerge_ksm_pages). */
  madviseUnmergeable(agent: Agent, vma: Vma, start: number, end: number): Path<Errno | null>;
  /** ksm_fork: the child of a registered mm is registered too. */
  fork(parent: Mm, child: Mm): void;
  /** ksm_exit: forget the mm. */
  exit(mm: Mm): void;
}
