/**
 * The timeline: buttons (with their keys), a scrubber over the steps and, for the current step, one over
 * its events; the line saying where the point is.
 */
import { go, opened, playing, point, stepCount, stepEvents } from './state.js';
import { nextEvent, nextStep, prevEvent, prevStep, START } from './timeline.js';

export function TimelineBar() {
  const steps = stepCount.value;
  const events = stepEvents.value;
  const p = point.value;
  const info = p.step >= 0 ? opened.value?.steps[0]?.[p.step] : undefined;
  const n = info?.events ?? 0;
  return (
    <nav class="timeline" aria-label="timeline">
      <div class="buttons">
        <button type="button" onClick={() => go(START)} title="to the start (Home)">
          ⇤
        </button>
        <button type="button" onClick={() => go(prevStep)} title="step back (←)" name="back">
          ◀ step
        </button>
        <button type="button" onClick={() => go((q) => prevEvent(q, events))} title="event back (Shift+←)">
          ‹ event
        </button>
        <button
          type="button"
          class="play"
          onClick={() => {
            playing.value = !playing.value;
          }}
          title="play / pause (Space)"
        >
          {playing.value ? '❚❚' : '▶'}
        </button>
        <button type="button" onClick={() => go((q) => nextEvent(q, events))} title="event forward (Shift+→)">
          event ›
        </button>
        <button
          type="button"
          onClick={() => go((q) => nextStep(q, steps))}
          title="step forward (→)"
          name="forward"
        >
          step ▶
        </button>
        <button type="button" onClick={() => go({ step: steps - 1, event: -1 })} title="to the end (End)">
          ⇥
        </button>
      </div>
      <label class="scrub">
        <span>step</span>
        <input
          type="range"
          min={-1}
          max={Math.max(-1, steps - 1)}
          value={p.step}
          aria-label="step"
          aria-valuetext={p.step < 0 ? 'start' : `step ${p.step + 1} of ${steps}`}
          onInput={(e) => go({ step: Number((e.target as HTMLInputElement).value), event: -1 })}
        />
      </label>
      <label class="scrub">
        <span>event</span>
        <input
          type="range"
          name="event"
          min={0}
          max={Math.max(0, n - 1)}
          disabled={n < 2}
          value={p.event < 0 ? n - 1 : p.event}
          aria-label="event within the step"
          aria-valuetext={p.event < 0 ? 'the step’s end' : `after event ${p.event + 1} of ${n}`}
          onInput={(e) => {
            const v = Number((e.target as HTMLInputElement).value);
            go({ step: Math.max(0, p.step), event: v >= n - 1 ? -1 : v }); // the last event ends the step
          }}
        />
      </label>
      <span class="where" data-step={p.step} data-event={p.event} aria-live="polite">
        {p.step < 0
          ? `start · before step 1 of ${steps}`
          : `step ${p.step + 1}/${steps}: ${info?.op ?? ''} (line ${info?.line}:${info?.col})${
              p.event >= 0 ? ` · after event ${p.event + 1}/${n}` : ` · end (${n} events)`
            }`}
      </span>
    </nav>
  );
}
