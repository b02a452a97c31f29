/** A named experiment's result as the CLI prints it (table, notes) and its chart. */
import { experiment } from './state.js';

export function ExperimentPanel() {
  const x = experiment.value;
  if (x === null) return null;
  return (
    <section class="experiment">
      <button
        type="button"
        class="close"
        onClick={() => {
          experiment.value = null;
        }}
      >
        back to the scenario
      </button>
      {'running' in x ? (
        <p class="running">running mmsim experiment {x.running} in the browser…</p>
      ) : (
        <>
          <h2>{x.title}</h2>
          <p>{x.summary}</p>
          <pre class="table">{x.table}</pre>
          {x.notes.map((n) => (
            <p key={n} class="note">
              {n}
            </p>
          ))}
          <p class={x.violations === 0 ? '' : 'bad'}>invariant violations: {x.violations}</p>
          {/* the chart is the model's own SVG (experiments/svg.ts), not user input */}
          <div class="chart" dangerouslySetInnerHTML={{ __html: x.svg }} />
        </>
      )}
    </section>
  );
}
