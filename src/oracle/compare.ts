/**
 * Comparing the two sides: per snapshot point, every page's place in the sharing partition (which pages
 * share its frame, zero page, KSM page, not present, outside any vma), the KSM counters, and every
 * step's outcome (ok, errno, SIGSEGV, full scans done).
 */
import type { SharingGroup } from '../mm/partition.js';
import { COMPARED_KSM_COUNTERS, type Plan, parseSnap, type SideState } from './plan.js';

export interface PageDifference {
  page: string;
  model: string;
  real: string;
}

export interface CounterDifference {
  name: string;
  model: number;
  real: number;
}

export interface PointComparison {
  at: string;
  pages: PageDifference[];
  counters: CounterDifference[];
}

export interface StepDifference {
  at: string;
  op: string;
  model: string;
  real: string;
}

export interface Comparison {
  points: PointComparison[];
  steps: StepDifference[];
  /** Why the global KSM counters were not compared, when they were not. */
  countersNotComparable?: string;
}

export const differenceCount = (c: Comparison): number =>
  c.steps.length + c.points.reduce((n, p) => n + p.pages.length + p.counters.length, 0);

/** The real side's states and step answers, read from the helper's answers to the plan's commands. */
export function realStates(
  plan: Plan,
  answers: readonly string[],
): { states: SideState[]; steps: string[]; others: string[] } {
  const acc = plan.points.map(() => ({
    groups: new Map<string, string[]>(),
    kinds: new Map<string, SharingGroup['kind']>(),
    pages: new Set<string>(),
    counters: {} as Record<string, number>,
  }));
  const steps = plan.steps.map(() => '');
  let others: string[] = [];
  plan.meanings.forEach((m, i) => {
    const a = answers[i] ?? '';
    if (m.kind === 'step') steps[m.step] = a;
    else if (m.kind === 'snap') parseSnap(m.proc, a, acc[m.point]);
    else if (m.kind === 'counters')
      for (const kv of a.split(' ').slice(1)) {
        const [k, v] = kv.split('=');
        acc[m.point].counters[k] = Number(v);
      }
    else if (m.kind === 'others') others = a.split(' ').slice(1);
  });
  const states = acc.map((s) => {
    const partition: SharingGroup[] = [...s.groups].map(([frame, members]) => ({
      kind: s.kinds.get(frame)!,
      members: members.sort(),
    }));
    partition.sort((a, b) => (a.members[0] < b.members[0] ? -1 : 1));
    return { partition, pages: s.pages, counters: s.counters };
  });
  return { states, steps, others };
}

/** Each page's class: 'outside any vma', 'not present', 'zero page', or its kind and frame-mates. */
function classes(s: SideState): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of s.pages) out.set(p, 'not present');
  for (const g of s.partition) {
    const cls = g.kind === 'zero' ? 'zero page' : `${g.kind} ${g.members.join(',')}`;
    for (const m of g.members) out.set(m, cls);
  }
  return out;
}

/** "ksm, shared with b:buf+0p" and so on, in the scenario's names. */
function describe(cls: string | undefined, page: string, labels: ReadonlyMap<string, string>): string {
  if (cls === undefined) return 'outside any vma';
  if (!cls.startsWith('ksm ') && !cls.startsWith('anon ')) return cls;
  const [kind, list] = cls.split(' ');
  const mates = list.split(',').filter((m) => m !== page);
  const kindText = kind === 'ksm' ? 'KSM page' : 'own page';
  if (mates.length === 0) return kindText;
  const names = mates.map((m) => labels.get(m) ?? m);
  const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} +${names.length - 3}` : names.join(', ');
  return `${kind === 'ksm' ? 'KSM page' : 'page'} shared with ${shown}`;
}

/**
 * The normalised answer of a step: the value matters for ksm (full scans done) only, and only when no
 * other process uses KSM (ksmd then has their mms to scan where the model's has none).
 */
function normalise(op: string, answer: string, othersUseKsm: boolean): string {
  if (op === 'ksm' && !othersUseKsm) return answer;
  return answer.startsWith('ok') ? 'ok' : answer;
}

export function compare(
  plan: Plan,
  modelStates: readonly SideState[],
  real: { states: SideState[]; steps: string[] },
  countersComparable: string | null,
): Comparison {
  const points = plan.points.map((pt, i): PointComparison => {
    const m = classes(modelStates[i]);
    const r = classes(real.states[i]);
    const pages: PageDifference[] = [];
    const keys = [...new Set([...m.keys(), ...r.keys()])].sort();
    for (const k of keys) {
      const a = describe(m.get(k), k, plan.labels);
      const b = describe(r.get(k), k, plan.labels);
      if (m.get(k) !== r.get(k)) pages.push({ page: plan.labels.get(k) ?? k, model: a, real: b });
    }
    const counters: CounterDifference[] = [];
    if (countersComparable === null)
      for (const c of COMPARED_KSM_COUNTERS) {
        const mv = modelStates[i].counters[c] ?? 0;
        const rv = real.states[i].counters[c] ?? -1;
        if (rv < 0) continue; // the running kernel has no such file (the helper answers -1)
        if (mv !== rv) counters.push({ name: `ksm.${c}`, model: mv, real: rv });
      }
    return { at: pt.at, pages, counters };
  });
  const steps: StepDifference[] = [];
  plan.steps.forEach((s, i) => {
    const others = countersComparable !== null;
    const model = normalise(s.op, s.model, others);
    const realAnswer = normalise(s.op, real.steps[i] ?? '', others);
    if (model !== realAnswer) steps.push({ at: s.at, op: s.op, model, real: realAnswer || '(no answer)' });
  });
  return countersComparable === null
    ? { points, steps }
    : { points, steps, countersNotComparable: countersComparable };
}
