/**
 * A deterministic scheduler for several kernel paths at once: the second driver of the model (the
 * sequential runner being the first). It resumes paths one pause at a time in an order chosen by a
 * plan ("run A until it reaches preemption point X, then B") or by a seeded random walk; a path waiting
 * for a lock or an event is not runnable until the lock is free or the event has happened. The
 * interleaving model checker builds on it.
 */
import { ModelBug, type Path, type Pause, resume } from './exec.js';
import { discardFootprint, FOOTPRINT, type Footprint, takeFootprint } from './footprint.js';
import { Rng } from './rng.js';

export interface Thread {
  readonly name: string;
  readonly path: Path<unknown>;
  done: boolean;
  result: unknown;
  /** Where the thread is paused (null before its first step). */
  paused: Pause | null;
  steps: number;
}

export class Scheduler {
  readonly threads: Thread[] = [];
  /** Every scheduling decision taken, as thread names: replaying them replays the interleaving. */
  readonly decisions: string[] = [];

  add(name: string, path: Path<unknown>): Thread {
    const t: Thread = { name, path, done: false, result: undefined, paused: null, steps: 0 };
    this.threads.push(t);
    return t;
  }

  thread(name: string): Thread {
    const t = this.threads.find((x) => x.name === name);
    if (t === undefined) throw new ModelBug(`no thread ${name}`);
    return t;
  }

  runnable(t: Thread): boolean {
    if (t.done) return false;
    const p = t.paused;
    if (p === null || p.kind === 'preempt') return true;
    if (p.kind === 'lock-wait') return !p.lock.held;
    return p.ready();
  }

  /** Resume `t` until its next pause. */
  step(t: Thread): void {
    if (!this.runnable(t)) throw new ModelBug(`${t.name} is not runnable`);
    this.decisions.push(t.name);
    const r = resume(t.path);
    t.steps++;
    if (r.done === true) {
      t.done = true;
      t.result = r.value;
      t.paused = null;
    } else t.paused = r.value;
  }

  /**
   * Run `name` until it pauses at the preemption point `label` (or finishes). While it is blocked, the
   * other threads run in order, just enough to unblock it.
   */
  runUntil(name: string, label: string): void {
    const t = this.thread(name);
    const from = t.steps; // a pause it was already at does not count: it must reach the label anew
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (t.done) return;
      if (t.steps > from && t.paused?.kind === 'preempt' && t.paused.label === label) return;
      if (this.runnable(t)) this.step(t);
      else this.stepOther(t);
    }
    throw new ModelBug(`${name} never reached ${label}`);
  }

  /** Run `name` to completion, letting others run only while it is blocked. */
  finish(name: string): unknown {
    const t = this.thread(name);
    while (!t.done) {
      if (this.runnable(t)) this.step(t);
      else this.stepOther(t);
    }
    return t.result;
  }

  /**
   * Run everything to completion, asking `choose` which runnable thread goes next at every pause (the
   * exhaustive explorer's hook). `current` is the thread that ran last. With `stepped`, every transition
   * runs with the footprint recorder on and `stepped` gets what it read and wrote (check/dpor.ts).
   */
  runWith(
    choose: (ready: readonly Thread[], current: Thread | null) => Thread,
    stepped?: (footprint: Footprint) => void,
  ): void {
    let current: Thread | null = null;
    for (;;) {
      const ready = this.threads.filter((t) => this.runnable(t));
      if (ready.length === 0) {
        const blocked = this.threads.filter((t) => !t.done);
        if (blocked.length === 0) return;
        throw new ModelBug(
          `deadlock: ${blocked.map((t) => `${t.name} waits (${describe(t.paused)})`).join(', ')}`,
        );
      }
      current = choose(ready, current);
      if (stepped === undefined) this.step(current);
      else stepped(this.recordedStep(current));
    }
  }

  /** Resume `t` with the footprint recorder on: what the transition read and wrote. */
  private recordedStep(t: Thread): Footprint {
    discardFootprint(); // the driver's own look at the state (runnable's wait conditions) is no transition's
    FOOTPRINT.on = true;
    try {
      this.step(t);
    } finally {
      FOOTPRINT.on = false;
    }
    return takeFootprint();
  }

  /** Run everything to completion: in thread order, or in a seeded random order. */
  runAll(seed?: number): void {
    const rng = seed === undefined ? null : new Rng(seed);
    this.runWith((ready) => (rng === null ? ready[0] : ready[rng.below(ready.length)]));
  }

  private stepOther(blocked: Thread): void {
    const other = this.threads.find((t) => t !== blocked && this.runnable(t));
    if (other === undefined)
      throw new ModelBug(`deadlock: ${blocked.name} waits (${describe(blocked.paused)}) and nobody can run`);
    this.step(other);
  }
}

function describe(p: Pause | null): string {
  if (p === null) return 'not started';
  if (p.kind === 'preempt') return p.label;
  if (p.kind === 'lock-wait') return `lock ${p.lock.name}`;
  return p.label;
}
