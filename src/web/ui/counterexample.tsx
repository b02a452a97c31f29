/**
 * An interleaving replayed: one lane per thread with its transitions, picking one moves the point to
 * its end, so every state view follows the schedule. For a counterexample also what went wrong, the
 * offending transition marked, and the checker's own description of the current transition; for a
 * schedule typed in the header, the replay's own transitions.
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

interface Lane {
  thread: number;
  /** Shown on hover: where the thread went. */
  title: string;
}

function Lanes(props: { threads: readonly string[]; items: Lane[]; offending: number; current: number }) {
  const { items, offending, current } = props;
  return (
    <fieldset class="lanes">
      <legend>transitions, one lane per thread</legend>
      {props.threads.map((name, lane) => (
        <div class="lane" key={name} data-thread={lane}>
          <span class="lane-label" title={name}>
            {name}
          </span>
          <span class="lane-cells">
            {items.map((tr, i) => {
              const mine = tr.thread === lane;
              const cls = mine
                ? `tr mine${i === offending ? ' offending' : ''}${i === current ? ' current' : ''}`
                : 'tr';
              return (
                <button
                  type="button"
                  key={i}
                  class={cls}
                  data-transition={i}
                  disabled={!mine}
                  tabIndex={mine ? 0 : -1}
                  title={`#${i}: ${tr.title}${i === offending ? ' (offending)' : ''}`}
                  aria-label={`transition ${i}${i === offending ? ', offending' : ''}: ${tr.title}`}
                  aria-current={i === current ? 'step' : undefined}
                  onClick={() => {
                    const p = transitionPoint(i);
                    if (p !== undefined) go(p);
                  }}
                >
                  {!mine ? '' : i === offending ? '!' : i}
                </button>
              );
            })}
          </span>
        </div>
      ))}
    </fieldset>
  );
}

/** What the current point's state says is broken, if anything. */
function Broken() {
  const shown = view.value?.sides[0]?.snapshot.violations ?? [];
  if (shown.length === 0) return null;
  return (
    <p class="bad" data-violations={shown.length}>
      here: {shown.join(' · ')}
    </p>
  );
}

export function CounterexampleView() {
  const cx = counterexample.value;
  if (cx === null) return null;
  const replay = transitions.value;
  const current = currentTransition.value;
  const diverges =
    replay.length !== cx.transitions.length || replay.some((t, i) => t.thread !== cx.transitions[i].thread);
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
      <Lanes
        threads={cx.threads}
        items={cx.transitions.map((tr) => ({
          thread: tr.thread,
          title: `${cx.threads[tr.thread]} ${tr.from} → ${tr.to}`,
        }))}
        offending={cx.offending}
        current={current}
      />
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
        <Broken />
      </div>
    </section>
  );
}

/** A schedule typed in the header (no counterexample): the replay's own transitions. */
export function ScheduleView() {
  const replay = transitions.value;
  if (counterexample.value !== null || replay.length === 0) return null;
  const threads = Array.from(
    { length: Math.max(...replay.map((t) => t.thread)) + 1 },
    (_, i) => `thread ${i}`,
  );
  const current = currentTransition.value;
  return (
    <section class="counterexample schedule-only" aria-label="schedule">
      <Lanes
        threads={threads}
        items={replay.map((t) => ({ thread: t.thread, title: `thread ${t.thread}: ${t.events} event(s)` }))}
        offending={-1}
        current={current}
      />
      <div class="transition-now" data-current={current}>
        {current < 0 ? 'before the first transition ( ] goes to the next )' : `transition ${current}`}
        <Broken />
      </div>
    </section>
  );
}
