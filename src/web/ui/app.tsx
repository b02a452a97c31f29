/**
 * The visualizer's layout: the header (gallery, open, kernels, status), the editor and the legend on
 * the left, the timeline on top of the state views (one column per kernel, two in compare mode), the
 * counterexample's lanes and problem when one is replayed, an experiment's table and chart when one ran.
 */
import type { Signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { KERNEL_NAMES } from '../../kernel/profiles.js';
import { formatError } from '../../scenario/parse.js';
import { CounterexampleView, ScheduleView } from './counterexample.js';
import { Editor } from './editor.js';
import { ExperimentPanel } from './experiment.js';
import { findEntry, shortName } from './gallery.js';
import { Gallery } from './gallery-view.js';
import { installKeys } from './keys.js';
import { Legend } from './legend.js';
import { Side } from './panels.js';
import {
  busy,
  compare,
  counterexample,
  cursor,
  drawn,
  errors,
  experiment,
  file,
  galleryOpen,
  kernel,
  loadError,
  opened,
  openFile,
  openScenario,
  point,
  schedule,
  settings,
  view,
} from './state.js';
import { TimelineBar } from './timeline-bar.js';

export function App() {
  useEffect(installKeys, []);
  useEffect(() => {
    const over = (e: DragEvent) => e.preventDefault();
    const drop = (e: DragEvent) => {
      e.preventDefault();
      const f = e.dataTransfer?.files[0];
      if (f !== undefined) openFile(f);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, []);
  return (
    <div class="app">
      <Header />
      {galleryOpen.value ? <Gallery /> : null}
      <div class="body">
        <aside>
          <div class="file-name" title={file.value}>
            {counterexample.value !== null ? 'counterexample · ' : ''}
            {shortName(file.value)}
          </div>
          <Editor />
          <ErrorList />
          <Legend />
        </aside>
        <main>
          {loadError.value !== null ? (
            <p class="load-error" role="alert">
              {loadError.value}
            </p>
          ) : null}
          {experiment.value !== null ? <ExperimentPanel /> : <States />}
        </main>
      </div>
    </div>
  );
}

function Header() {
  const cx = counterexample.value;
  return (
    <header>
      <h1>mmsim</h1>
      <button
        type="button"
        onClick={() => {
          galleryOpen.value = !galleryOpen.value;
        }}
        title="the example scenarios, bugs and experiments (g)"
        aria-expanded={galleryOpen.value}
      >
        ☰ gallery
      </button>
      <label class="open-file" title="a scenario (YAML/JSON) or a checker result (mmsim check --json)">
        open file…
        <input
          type="file"
          accept=".yaml,.yml,.json"
          onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f !== undefined) openFile(f);
          }}
        />
      </label>
      {cx === null ? (
        <>
          <KernelSelect label="kernel" name="kernel" bind={kernel} empty="(the file's)" />
          <KernelSelect label="compare with" name="compare" bind={compare} empty="(none)" />
          <CommitInput label="what-if" name="set" bind={settings} placeholder="F=V … (--set)" />
          <CommitInput label="schedule" name="schedule" bind={schedule} placeholder="0*7,1*2 (--schedule)" />
          {opened.value?.optionError ? (
            <span class="option-error" role="alert">
              {opened.value.optionError}
            </span>
          ) : null}
        </>
      ) : (
        <span class="cx-badge">
          replaying a counterexample on <code>{cx.kernel}</code>
          {Object.keys(cx.overrides).length > 0 ? (
            <>
              {' '}
              with{' '}
              <code>
                {Object.entries(cx.overrides)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}
              </code>
            </>
          ) : null}{' '}
          <button
            type="button"
            onClick={() => {
              const t = cx.scenario;
              const f = cx.file;
              openScenario(findEntry(f)?.file ?? f, t);
            }}
          >
            back to the scenario
          </button>
        </span>
      )}
      <Status />
    </header>
  );
}

/** A kernel picker bound to a signal ('' is the option `empty`). */
function KernelSelect(props: { label: string; name: string; bind: Signal<string>; empty: string }) {
  return (
    <label>
      {props.label}{' '}
      <select
        value={props.bind.value}
        name={props.name}
        onChange={(e) => {
          props.bind.value = (e.target as HTMLSelectElement).value;
        }}
      >
        <option value="">{props.empty}</option>
        {KERNEL_NAMES.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A text field bound to a signal, set when Enter is pressed or it loses focus (not at every key). */
function CommitInput(props: { label: string; name: string; bind: Signal<string>; placeholder: string }) {
  const commit = (e: Event) => {
    props.bind.value = (e.target as HTMLInputElement).value.trim();
  };
  return (
    <label class="commit-input">
      {props.label}{' '}
      <input
        type="text"
        name={props.name}
        value={props.bind.value}
        placeholder={props.placeholder}
        spellcheck={false}
        onChange={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit(e);
        }}
      />
    </label>
  );
}

function Status() {
  const o = opened.value;
  const d = drawn.value;
  let line = '';
  if (busy.value) line = 'running…';
  else if (o !== null && o.errors.length > 0) line = `${o.errors.length} error(s) in the scenario`;
  else if (o !== null)
    line = o.kernels
      .map((k, i) => {
        const r = o.results[i];
        if (r.ok) return `${k}: expectations hold`;
        const parts = [];
        if (r.failed.length > 0) parts.push(`${r.failed.length} expectation(s) failed`);
        if (r.violations.length > 0) parts.push(`${r.violations.length} violation(s)`);
        return `${k}: ${parts.join(', ') || 'failed'}`;
      })
      .join(' · ');
  return (
    <span
      class="status"
      data-busy={busy.value ? 'yes' : 'no'}
      data-opened={o?.file ?? ''}
      data-ms={d?.ms ?? ''}
      data-drawn={d === null ? '' : `${d.at.step}.${d.at.event}`}
      data-draws={d?.n ?? 0}
    >
      {line}
      {d !== null && !busy.value ? <small> · drawn in {d.ms} ms</small> : null}
    </span>
  );
}

function ErrorList() {
  const list = errors.value;
  if (list.length === 0) return null;
  return (
    <ul class="errors" role="alert">
      {list.map((e) => (
        <li key={`${e.line}:${e.col}:${e.message}`}>{formatError(e)}</li>
      ))}
    </ul>
  );
}

function States() {
  const v = view.value;
  const o = opened.value;
  if (o === null || o.errors.length > 0) return <TimelineBar />;
  const p = point.value;
  return (
    <>
      <TimelineBar />
      {counterexample.value !== null ? <CounterexampleView /> : <ScheduleView />}
      {v !== null ? (
        <>
          {v.differs ? (
            <p class="differs-summary" data-cells={v.differs.cells}>
              {v.differs.cells === 0 && v.differs.counters.length === 0
                ? `${v.sides[0].kernel} and ${v.sides[1].kernel} agree here`
                : `${v.differs.cells} cell(s) and ${v.differs.counters.length} counter(s) differ between ${v.sides[0].kernel} and ${v.sides[1].kernel} here`}
              {v.differs.counters.length > 0 ? `: ${v.differs.counters.join(', ')}` : ''}
            </p>
          ) : v.sides.length === 2 ? (
            <p class="differs-summary">
              inside a step the two kernels log different events: differences are marked at step ends
            </p>
          ) : null}
          <div class={`sides n${v.sides.length}`}>
            {v.sides.map((s, i) => (
              <Side
                key={`${i}-${s.kernel}`}
                view={s}
                differs={v.differs?.mappings ?? null}
                differingCounters={v.differs?.counters ?? []}
                cursor={cursor.value}
                event={p.step === v.step ? p.event : -1}
              />
            ))}
          </div>
        </>
      ) : null}
    </>
  );
}
