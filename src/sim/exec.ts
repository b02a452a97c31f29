/**
 * Kernel paths are written once, as generators: they `yield` at every preemption point and whenever
 * they must wait for a lock. The sequential runner drives a path to completion; the interleaving
 * model checker (later) resumes several paths in the order it chooses. One model, two drivers.
 */

import { FOOTPRINT, footprintSerial, noteRelease, noteTake } from './footprint.js';

/** What a path tells its driver when it pauses. */
export type Pause = PreemptPoint | LockWait | WaitFor;

/** A point where another agent may run before this one continues. */
export interface PreemptPoint {
  readonly kind: 'preempt';
  readonly label: string;
  /** The head of a retry loop (a fault tried again): where the livelock detector compares states. */
  readonly retry?: boolean;
}

/** The path cannot continue until `lock` is released. */
export interface LockWait {
  readonly kind: 'lock-wait';
  readonly lock: Lock;
}

/** The path sleeps until `ready()` holds (wait_event on a wait queue). */
export interface WaitFor {
  readonly kind: 'wait';
  readonly label: string;
  readonly ready: () => boolean;
}

/** wait_event(label, ready): sleep until the condition holds. */
export function* waitEvent(label: string, ready: () => boolean): Path {
  while (!ready()) yield { kind: 'wait', label, ready };
}

/** A kernel path: a resumable computation returning R. */
export type Path<R = void> = Generator<Pause, R, void>;

/**
 * A path that is already complete: `yield*` on it returns `value` at once. A kernel function returns one
 * when it finds nothing to wait for (no subscriber to call, the lock free) instead of allocating a
 * generator — the same behaviour as a generator that ran to its end without pausing.
 */
class DonePath<R> implements Generator<Pause, R, void> {
  private readonly result: IteratorReturnResult<R>;
  constructor(value: R) {
    this.result = { done: true, value };
  }
  next(): IteratorResult<Pause, R> {
    return this.result;
  }
  return(value: R): IteratorResult<Pause, R> {
    return { done: true, value };
  }
  throw(e: unknown): IteratorResult<Pause, R> {
    throw e;
  }
  [Symbol.iterator](): Generator<Pause, R, void> {
    return this;
  }
}

/** The complete path with no result (shared). */
export const DONE: Path = new DonePath<void>(undefined);

/** A complete path returning `value`. */
export function done<R>(value: R): Path<R> {
  return new DonePath(value);
}

/** Who runs a path: a task's CPU, ksmd, a vCPU, a device. */
export interface Agent {
  readonly id: number;
  readonly name: string;
  /** The CPU the agent runs on (devices use -1). */
  cpu: number;
}

const preemptPoints = new Map<string, PreemptPoint>();

/** The (shared, allocation-free) preemption point with this label. */
export function preemptPoint(label: string): PreemptPoint {
  let p = preemptPoints.get(label);
  if (p === undefined) {
    p = { kind: 'preempt', label };
    preemptPoints.set(label, p);
  }
  return p;
}

/** The preemption point at the head of a retry loop (see PreemptPoint.retry). */
export function retryPoint(label: string): PreemptPoint {
  let p = preemptPoints.get(label);
  if (p === undefined) {
    p = { kind: 'preempt', label, retry: true };
    preemptPoints.set(label, p);
  }
  return p;
}

/** Paths being resumed by an interleaving driver right now (nested resumes count once each). */
let interleaving = 0;

function* pauseAt(point: PreemptPoint): Path {
  yield point;
}

/**
 * A preemption point: `yield* preempt(P)` pauses at P when an interleaving driver (the scheduler, the
 * model checker) resumed this path, so another agent may run there. Under the sequential driver nobody
 * else could run, so the path goes straight on — the same outcome as pausing and being resumed at once,
 * without the cost (the fault and KSM paths pass millions of these).
 */
export function preempt(point: PreemptPoint): Path {
  return interleaving > 0 ? pauseAt(point) : DONE;
}

/** One step of an interleaving driver: resume `path` until its next pause, preemption points included. */
export function resume<R>(path: Path<R>): IteratorResult<Pause, R> {
  interleaving++;
  try {
    return path.next();
  } finally {
    interleaving--;
  }
}

/** A lock in the model (mmap_lock, a page-table lock, a page lock, kvm->mmu_lock, a driver mutex). */
export class Lock {
  owner: Agent | null = null;
  /** The lock's name in footprints (check/dpor.ts: taking or releasing it conflicts with the same on another thread). */
  readonly serial = footprintSerial();
  /** Readers holding a reader/writer lock in read mode. */
  readers = 0;
  readonly wait: LockWait;

  constructor(readonly name: string) {
    this.wait = { kind: 'lock-wait', lock: this };
  }

  get held(): boolean {
    return this.owner !== null || this.readers > 0;
  }
}

/** A lock taken, in the footprint (and by name in a counterexample's replay). */
function noteLock(l: Lock, shared: boolean): void {
  noteTake(l.serial, shared);
  FOOTPRINT.lockLog?.push(shared ? `takes (shared) ${l.name}` : `takes ${l.name}`);
}

/** A lock released, in the footprint (and by name in a counterexample's replay). */
function noteUnlock(l: Lock, shared: boolean): void {
  noteRelease(l.serial, shared);
  FOOTPRINT.lockLog?.push(shared ? `releases ${l.name} (shared)` : `releases ${l.name}`);
}

/** Raised when a path is driven into a state no kernel could reach: a bug in mmsim, never user input. */
export class ModelBug extends Error {
  override name = 'ModelBug';
}

/**
 * Take `lock` exclusively (spin_lock, mutex_lock, down_write), waiting while another agent holds it.
 * An uncontended lock is taken at once and the call returns the complete path: the fault paths take
 * the page-table lock millions of times and most of those never wait.
 */
export function lock(agent: Agent, l: Lock): Path {
  if (l.owner === null && l.readers === 0) {
    if (FOOTPRINT.on) noteLock(l, false);
    l.owner = agent;
    return DONE;
  }
  return waitToLock(agent, l);
}

function* waitToLock(agent: Agent, l: Lock): Path {
  while (l.owner !== null || l.readers > 0) {
    if (l.owner === agent) throw new ModelBug(`${agent.name} takes ${l.name} twice`);
    yield l.wait;
  }
  if (FOOTPRINT.on) noteLock(l, false);
  l.owner = agent;
}

/** Take `lock` shared (down_read), waiting while a writer holds it; at once when none does. */
export function lockShared(_agent: Agent, l: Lock): Path {
  if (l.owner === null) {
    if (FOOTPRINT.on) noteLock(l, true);
    l.readers++;
    return DONE;
  }
  return waitToLockShared(l);
}

function* waitToLockShared(l: Lock): Path {
  while (l.owner !== null) yield l.wait;
  if (FOOTPRINT.on) noteLock(l, true);
  l.readers++;
}

/** Try to take `lock` without waiting (trylock_page, mutex_trylock). */
export function tryLock(agent: Agent, l: Lock): boolean {
  if (FOOTPRINT.on) noteTake(l.serial, false); // a failed attempt read the lock held: a conflict all the same
  if (l.owner !== null || l.readers > 0) return false;
  l.owner = agent;
  return true;
}

/** Try to take `lock` shared without waiting (down_read_trylock). */
export function tryLockShared(l: Lock): boolean {
  if (FOOTPRINT.on) noteTake(l.serial, true);
  if (l.owner !== null) return false;
  l.readers++;
  return true;
}

export function unlock(agent: Agent, l: Lock): void {
  if (l.owner !== agent) releasesUnheld(agent, l);
  if (FOOTPRINT.on) noteUnlock(l, false);
  l.owner = null;
}

export function unlockShared(l: Lock): void {
  if (l.readers <= 0) throw new ModelBug(`read-unlock of ${l.name} with no readers`);
  if (FOOTPRINT.on) noteUnlock(l, true);
  l.readers--;
}

function releasesUnheld(agent: Agent, l: Lock): never {
  throw new ModelBug(`${agent.name} releases ${l.name} it does not hold`);
}

/**
 * The sequential driver: run a path to completion. Preemption points do not pause it (see preempt); a
 * lock wait can only mean the path waits for itself or for a path that is not running, which is a deadlock.
 */
export function runToCompletion<R>(path: Path<R>): R {
  for (;;) {
    const r = path.next();
    if (r.done === true) return r.value;
    const p = r.value;
    if (p.kind === 'lock-wait') {
      throw new ModelBug(`deadlock: ${p.lock.name} is held by ${p.lock.owner?.name ?? 'readers'}`);
    }
    if (p.kind === 'wait' && !p.ready()) {
      throw new ModelBug(`deadlock: waiting for ${p.label} with nobody to wake it`);
    }
  }
}
