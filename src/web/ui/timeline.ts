/**
 * Moving through a scenario: a point is (step, event), step -1 the start, event -1 a step's end (after
 * its last event). Pure functions, so the keyboard, the buttons and the scrubbers agree.
 */
export interface Point {
  step: number;
  event: number;
}

export const START: Point = { step: -1, event: -1 };

export function nextStep(p: Point, steps: number): Point {
  return { step: Math.min(steps - 1, p.step + 1), event: -1 };
}

export function prevStep(p: Point): Point {
  if (p.event >= 0) return { step: p.step, event: -1 };
  return { step: Math.max(-1, p.step - 1), event: -1 };
}

/** Events per step, from the opened scenario. */
export function nextEvent(p: Point, events: readonly number[]): Point {
  if (p.step >= 0 && p.event >= 0 && p.event + 1 < events[p.step] - 1)
    return { step: p.step, event: p.event + 1 };
  if (p.step >= 0 && p.event >= 0) return { step: p.step, event: -1 };
  // at a step's end: into the next step's first event (or its end when it logged nothing)
  const s = p.step + 1;
  if (s >= events.length) return p;
  return { step: s, event: events[s] > 1 ? 0 : -1 };
}

export function prevEvent(p: Point, events: readonly number[]): Point {
  if (p.step < 0) return p;
  if (p.event > 0) return { step: p.step, event: p.event - 1 };
  if (p.event === 0) return { step: p.step - 1, event: -1 };
  const n = events[p.step];
  return n >= 2 ? { step: p.step, event: n - 2 } : { step: p.step - 1, event: -1 };
}
