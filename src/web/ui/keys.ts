/**
 * The page's keys: ← → steps, Shift+← → events, Home/End, Space plays, [ ] the counterexample's
 * transitions, g the gallery, Esc closes it. Keys typed into the editor or a form control stay there.
 */
import { currentTransition, galleryOpen, go, playing, stepCount, stepEvents, transitions } from './state.js';
import { nextEvent, nextStep, type Point, prevEvent, prevStep, START } from './timeline.js';

function onKey(e: KeyboardEvent): void {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target as HTMLElement | null;
  // the editor and form controls keep their keys (a range input moves itself)
  if (t?.closest('.editor, input, select, textarea')) return;
  if (e.key === 'Escape') {
    galleryOpen.value = false;
    return;
  }
  if (e.key === 'g') {
    galleryOpen.value = !galleryOpen.value;
    return;
  }
  if (e.key === ' ' && !t?.closest('button')) {
    e.preventDefault();
    playing.value = !playing.value;
    return;
  }
  const events = stepEvents.value;
  const steps = stepCount.value;
  const moves: Record<string, (p: Point) => Point> = {
    ArrowRight: (p) => (e.shiftKey ? nextEvent(p, events) : nextStep(p, steps)),
    ArrowLeft: (p) => (e.shiftKey ? prevEvent(p, events) : prevStep(p)),
    Home: () => START,
    End: () => ({ step: steps - 1, event: -1 }),
    ']': (p) => transitionPoint(currentTransition.value + 1) ?? p,
    '[': (p) => transitionPoint(currentTransition.value - 1) ?? p,
  };
  const move = moves[e.key];
  if (move === undefined) return;
  e.preventDefault();
  go(move);
}

export function transitionPoint(i: number): Point | undefined {
  const t = transitions.value[i];
  return t === undefined ? undefined : { step: t.step, event: t.event };
}

/** Play: one step every 700 ms until the end. */
function tick(): void {
  if (!playing.value) return;
  if (stepCount.value === 0) return;
  go((p) => {
    const n = nextStep(p, stepCount.value);
    if (n.step === p.step && n.event === p.event) playing.value = false;
    return n;
  });
}

export function installKeys(): () => void {
  window.addEventListener('keydown', onKey);
  const timer = setInterval(tick, 700);
  return () => {
    window.removeEventListener('keydown', onKey);
    clearInterval(timer);
  };
}
