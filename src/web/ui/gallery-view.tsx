/**
 * The gallery: the example scenarios, the historical bugs (each with the `--set` switch that brings it
 * back, in its text) and the experiments: the headline fleet as a scenario to step through, and each
 * named experiment run in the browser for its table and chart.
 */
import { useEffect, useRef } from 'preact/hooks';
import { ENTRIES, type Entry, type Group, HEADLINE, shortName } from './gallery.js';
import { catalog, file, galleryOpen, openScenario, runExperiment } from './state.js';

const GROUPS: [Group, string][] = [
  ['examples', 'Example scenarios'],
  ['bugs', 'Historical bugs (run with the switch in the text, or open a counterexample)'],
];

export function Gallery() {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  const pick = (e: Entry) => {
    openScenario(e.file, e.text);
    galleryOpen.value = false;
  };
  const headline = ENTRIES.find((e) => e.file === HEADLINE);
  return (
    <div class="gallery-overlay" role="dialog" aria-label="gallery" aria-modal="true">
      <div class="gallery">
        <div class="gallery-head">
          <h2>Gallery</h2>
          <button
            type="button"
            ref={first}
            onClick={() => {
              galleryOpen.value = false;
            }}
          >
            close (Esc)
          </button>
        </div>
        {GROUPS.map(([g, title]) => (
          <section key={g}>
            <h3>{title}</h3>
            <div class="cards">
              {ENTRIES.filter((e) => e.group === g).map((e) => (
                <Card key={e.file} entry={e} onPick={() => pick(e)} />
              ))}
            </div>
          </section>
        ))}
        <section>
          <h3>Experiments</h3>
          <div class="cards">
            {headline !== undefined ? <Card entry={headline} onPick={() => pick(headline)} /> : null}
            {catalog.value.map((x) => (
              <div class="card" key={x.name}>
                <b>mmsim experiment {x.name}</b>
                <p>
                  {x.description} <small>({x.kernels.join(', ')})</small>
                </p>
                <span class="card-actions">
                  <button type="button" onClick={() => runExperiment(x.name, 0.25)}>
                    run at ¼ scale
                  </button>
                  <button type="button" onClick={() => runExperiment(x.name, 1)}>
                    full size
                  </button>
                </span>
              </div>
            ))}
          </div>
        </section>
      </div>
    </div>
  );
}

function Card({ entry, onPick }: { entry: Entry; onPick: () => void }) {
  return (
    <button
      type="button"
      class={`card${file.value === entry.file ? ' current' : ''}`}
      onClick={onPick}
      data-file={entry.file}
    >
      <b>{shortName(entry.file)}</b>
      <p>{entry.about.length > 260 ? `${entry.about.slice(0, 257)}…` : entry.about}</p>
    </button>
  );
}
