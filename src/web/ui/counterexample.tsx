/**
 * A counterexample replayed: what went wrong, the schedule, one lane per thread with its transitions
 * (the offending one marked), and the current transition's own description from the checker. Picking
 * a transition moves the point to its end, so every state view follows the schedule.
 */
import { transitionPoint } from './keys.js';
import {
  counterexample,
  counterexamples,
  currentTransition,
  go,
  openCheckerText,
  transitions,
  view,
} from './state.js';

export function CounterexampleView() {
  const cx = counterexample.value;
  if (cx === null) return null;
  const replay = transitions.value;
  const current = currentTransition.value;
  const diverges =
    replay.length !== cx.transitions.length || replay.some((t, i) => t.thread !== cx.transitions[i].thread);
  const shown = view.value?.sides[0]?.snapshot.violations ?? [];
  const all = counterexamples.value;
  const t = current >= 0 ? cx.transitions[current] : undefined;
  return (
    <section class="counterexample" aria-label="counterexample">
      <div class="problem">
        <b>
          {cx.problem.kind}
          {cx.problem.invariant ? ` (${cx.problem.invariant})` : ''}:
        </b>{' '}
        {cx.problem.message}
        <div class="schedule">
          schedule <code>{cx.schedule}</code> · {cx.preemptions} preemption(s) · {cx.transitions.length}{' '}
          transitions · replay:{' '}
          <code>
            mmsim run {cx.file} --kernel {cx.kernel}{' '}
            {Object.entries(cx.overrides)
              .map(([k, v]) => `--set ${k}=${v} `)
              .join('')}
            --schedule {cx.schedule}
          </code>
        </div>
        {all.length > 1 ? (
          <label>
            counterexample{' '}
            <select
              value={all.indexOf(cx)}
              onChange={(e) =>
                openCheckerText(
                  JSON.stringify({
                    format: 'mmsim-check',
                    version: 1,
                    file: cx.file,
                    results: [{ counterexamples: all }],
                  }),
                  Number((e.target as HTMLSelectElement).value),
                )
              }
            >
              {all.map((c, i) => (
                <option key={`${c.kernel}-${c.schedule}`} value={i}>
                  {i + 1}: {c.kernel} {c.schedule}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {diverges ? (
          <p class="bad">
            The replay took {replay.length} transitions where the file lists {cx.transitions.length}: the
            model has changed since this counterexample was found.
          </p>
        ) : null}
      </div>
      <fieldset class="lanes">
        <legend>transitions, one lane per thread</legend>
        {cx.threads.map((name, lane) => (
          <div class="lane" key={name} data-thread={lane}>
            <span class="lane-label">{name}</span>
            <span class="lane-cells">
              {cx.transitions.map((tr, i) => {
                const mine = tr.thread === lane;
                const cls = mine
                  ? `tr mine${i === cx.offending ? ' offending' : ''}${i === current ? ' current' : ''}`
                  : 'tr';
                return (
                  <button
                    type="button"
                    key={tr.index}
                    class={cls}
                    data-transition={i}
                    disabled={!mine}
                    tabIndex={mine ? 0 : -1}
                    title={`#${i}: ${cx.threads[tr.thread]} ${tr.from} → ${tr.to}${i === cx.offending ? ' (offending)' : ''}`}
                    aria-label={`transition ${i}${i === cx.offending ? ', offending' : ''}: ${tr.from} to ${tr.to}`}
                    aria-current={i === current ? 'step' : undefined}
                    onClick={() => {
                      const p = transitionPoint(i);
                      if (p !== undefined) go(p);
                    }}
                  >
                    {!mine ? '' : i === cx.offending ? '!' : i}
                  </button>
                );
              })}
            </span>
          </div>
        ))}
      </fieldset>
      <div class="transition-now" data-current={current}>
        {t === undefined ? (
          <span>before the first transition ( ] goes to the next )</span>
        ) : (
          <>
            <b>
              transition {current}
              {current === cx.offending ? ' — the offending one' : ''}:
            </b>{' '}
            {cx.threads[t.thread]} (cpu {t.cpu}) {t.from} → {t.to}
            <ul>
              {t.events.map((e, i) => (
                <li key={i}>{e}</li>
              ))}
            </ul>
          </>
        )}
        {shown.length > 0 ? (
          <p class="bad" data-violations={shown.length}>
            here: {shown.join(' · ')}
          </p>
        ) : null}
      </div>
    </section>
  );
}
