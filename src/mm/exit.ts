/**
 * exit(2) of a single-threaded process: mmput → exit_mmap (mm/mmap.c v5.0): mmu_notifier_release first
 * (secondary MMUs tear down everything), then every vma is unmapped and every frame returned.
 */
import { type Agent, lock, type Path, unlock } from '../sim/exec.js';
import { newEvent } from '../sim/log.js';
import type { Kernel, Task } from './kernel.js';
import type { KsmHooks } from './ksm-port.js';
import { removeVma } from './mmap.js';
import { MMU_NOTIFY_UNMAP } from './notifier-port.js';
import { zapPageRange } from './zap.js';

export function* doExit(k: Kernel, agent: Agent, task: Task, ksm: KsmHooks | null): Path {
  const mm = task.mm;
  task.alive = false;
  yield* lock(agent, mm.mmapLock);
  mm.exiting = true;
  if (ksm !== null) ksm.exit(mm);
  if (mm.notifiers !== null) {
    if (k.recording) k.log(newEvent(agent.name, agent.cpu, 'notify', 'release', mm.id));
    yield* mm.notifiers.release(agent, mm);
  }
  const vmas = [...mm.vmas];
  if (vmas.length > 0) {
    yield* zapPageRange(
      k,
      agent,
      mm,
      vmas,
      vmas[0].start,
      vmas[vmas.length - 1].end,
      MMU_NOTIFY_UNMAP,
      'exit_mmap',
    );
  }
  for (const v of vmas) removeVma(k, v);
  mm.dead = true;
  unlock(agent, mm.mmapLock);
  for (const o of k.observers) o.onMmGone?.(mm);
  k.mms.delete(mm.id);
}
