import { describe, expect, it } from 'vitest';
import {
  type Agent,
  Lock,
  lock,
  lockShared,
  ModelBug,
  type Path,
  preemptPoint,
  runToCompletion,
  tryLock,
  unlock,
  unlockShared,
  waitEvent,
} from '../../src/sim/exec.js';

const agent = (id: number, name: string): Agent => ({ id, name, cpu: 0 });
const A = agent(1, 'A');
const B = agent(2, 'B');

describe('paths and locks', () => {
  it('runToCompletion passes preemption points and returns the result', () => {
    const P = preemptPoint('somewhere');
    expect(preemptPoint('somewhere')).toBe(P); // shared, allocation-free
    function* path(): Path<number> {
      yield P;
      yield P;
      return 42;
    }
    expect(runToCompletion(path())).toBe(42);
  });

  it('a lock is exclusive; tryLock fails while held; unlock by a non-owner is a ModelBug', () => {
    const l = new Lock('l');
    runToCompletion(lock(A, l));
    expect(l.held).toBe(true);
    expect(l.owner).toBe(A);
    expect(tryLock(B, l)).toBe(false);
    expect(() => unlock(B, l)).toThrow(ModelBug);
    unlock(A, l);
    expect(l.held).toBe(false);
    expect(tryLock(B, l)).toBe(true);
    expect(l.owner).toBe(B);
    unlock(B, l);
  });

  it('taking a lock twice is a ModelBug, not a hang', () => {
    const l = new Lock('mm1.ptl');
    runToCompletion(lock(A, l));
    expect(() => runToCompletion(lock(A, l))).toThrow(/takes mm1.ptl twice/);
  });

  it('the sequential driver reports waiting for a lock held elsewhere as a deadlock ModelBug', () => {
    const l = new Lock('mm1.mmap_sem');
    runToCompletion(lock(B, l));
    let err: unknown;
    try {
      runToCompletion(lock(A, l));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelBug);
    expect((err as Error).message).toMatch(/deadlock: mm1.mmap_sem is held by B/);
    // a writer waiting on readers
    const rw = new Lock('rw');
    runToCompletion(lockShared(A, rw));
    expect(() => runToCompletion(lock(B, rw))).toThrow(/held by readers/);
  });

  it('readers share; a writer excludes readers; read-unlock without readers is a ModelBug', () => {
    const l = new Lock('rw');
    runToCompletion(lockShared(A, l));
    runToCompletion(lockShared(B, l));
    expect(l.readers).toBe(2);
    expect(tryLock(A, l)).toBe(false);
    unlockShared(l);
    unlockShared(l);
    expect(() => unlockShared(l)).toThrow(ModelBug);
    runToCompletion(lock(A, l));
    const reader = lockShared(B, l);
    const first = reader.next();
    expect(first.done).toBe(false);
    expect(first.value).toEqual({ kind: 'lock-wait', lock: l });
    unlock(A, l);
    expect(reader.next().done).toBe(true); // now it gets in
    expect(l.readers).toBe(1);
  });

  it('a path waiting for a lock resumes when another driver releases it', () => {
    const l = new Lock('x');
    runToCompletion(lock(B, l));
    const p = lock(A, l);
    expect(p.next().value).toBe(l.wait);
    expect(p.next().value).toBe(l.wait);
    unlock(B, l);
    expect(p.next().done).toBe(true);
    expect(l.owner).toBe(A);
  });

  it('waitEvent sleeps until its condition holds', () => {
    let ready = false;
    const p = waitEvent('flag', () => ready);
    const r = p.next();
    expect(r.done).toBe(false);
    expect(r.value).toMatchObject({ kind: 'wait', label: 'flag' });
    ready = true;
    expect(p.next().done).toBe(true);
    expect(runToCompletion(waitEvent('now', () => true))).toBeUndefined();
  });
});
