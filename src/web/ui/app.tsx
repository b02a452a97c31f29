/**
 * The visualizer: gallery and editor on the left, the timeline on top, one column of state views per
 * kernel (two in compare mode, differing cells marked), the counterexample lanes when a model-checker
 * result is open.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { KERNEL_NAMES } from '../../kernel/profiles.js';
import type { ScenarioError } from '../../scenario/parse.js';
import type { Opened, PointView } from '../model/backend.js';
import { PAGE_STATE_LABELS, PAGE_STATE_NAMES } from '../model/snapshot.js';
import { ModelClient } from './client.js';
import { Editor } from './editor.js';
import { DEFAULT_EXAMPLE, EXAMPLES } from './gallery.js';
import {
  CHANGED_OUTLINE,
  DIFFERS_OUTLINE,
  PAGE_COLOURS,
  PAGE_LETTERS,
  SECONDARY_COLOURS,
  SECONDARY_LABELS,
  SECONDARY_LETTERS,
} from './palette.js';
import { type Cursor, Side } from './panels.js';
import { decodeHash, encodeHash } from './share.js';
import { nextEvent, nextStep, type Point, prevEvent, prevStep, START } from './timeline.js';

const client = new ModelClient();
const byFile = (f: string) => EXAMPLES.find((e) => e.file === f);

export function App() {
  const [file, setFile] = useState(DEFAULT_EXAMPLE);
  const [text, setText] = useState(byFile(DEFAULT_EXAMPLE)?.text ?? 'mmsim: 1\nsteps: []\n');
  const [kernel, setKernel] = useState('');
  const [compare, setCompare] = useState('');
  const [opened, setOpened] = useState<Opened | null>(null);
  const [point, setPoint] = useState<Point>(START);
  const [view, setView] = useState<PointView | null>(null);
  const [cursor, setCursor] = useState<Cursor | null>(null);
  const [playing, setPlaying] = useState(false);
  const [ready, setReady] = useState(false);
  const [busy, setBusy] = useState(false);

  // a shared link opens what it carries
  useEffect(() => {
    decodeHash(location.hash).then((s) => {
      if (s.file !== undefined) setFile(s.file);
      if (s.text !== undefined) setText(s.text);
      else if (s.file !== undefined && byFile(s.file)) setText(byFile(s.file)!.text);
      if (s.kernel !== undefined) setKernel(s.kernel);
      if (s.compare !== undefined) setCompare(s.compare);
      setReady(true);
    });
  }, []);

  // parse and run (debounced while typing), then keep the link in step
  useEffect(() => {
    if (!ready) return;
    const kernels = compare ? [kernel || 'v5.0', compare] : kernel ? [kernel] : [];
    const t = setTimeout(async () => {
      setBusy(true);
      const o = await client.open({ kind: 'open', text, file, kernels });
      setBusy(false);
      setOpened(o);
      if (o.errors.length === 0) setPoint((p) => clamp(p, o));
      history.replaceState(null, '', await encodeHash({ file, text, kernel, compare }));
    }, 250);
    return () => clearTimeout(t);
  }, [text, file, kernel, compare, ready]);

  useEffect(() => {
    if (opened === null || opened.errors.length > 0) return;
    let live = true;
    client.view(point.step, point.event).then((v) => live && setView(v));
    return () => {
      live = false;
    };
  }, [opened, point]);

  const events = useMemo(() => (opened?.steps[0] ?? []).map((s) => s.events), [opened]);
  const steps = events.length;

  useEffect(() => {
    if (!playing) return;
    if (point.step >= steps - 1) {
      setPlaying(false);
      return;
    }
    const t = setTimeout(() => setPoint((p) => nextStep(p, steps)), 700);
    return () => clearTimeout(t);
  }, [playing, point, steps]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t?.closest('.editor, input, select, textarea')) return;
      const go: Record<string, (p: Point) => Point> = {
        ArrowRight: (p) => (e.shiftKey ? nextEvent(p, events) : nextStep(p, steps)),
        ArrowLeft: (p) => (e.shiftKey ? prevEvent(p, events) : prevStep(p)),
        Home: () => START,
        End: () => ({ step: steps - 1, event: -1 }),
      };
      if (e.key === ' ') {
        e.preventDefault();
        setPlaying((x) => !x);
        return;
      }
      const f = go[e.key];
      if (f === undefined) return;
      e.preventDefault();
      setPoint(f);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [events, steps]);

  const errors: ScenarioError[] = opened?.errors ?? [];
  const runtimeErrors = (opened?.runtimeErrors ?? []).filter((e): e is ScenarioError => e !== null);
  const shownErrors = errors.length > 0 ? errors : runtimeErrors;
  const stepInfo = point.step >= 0 ? opened?.steps[0]?.[point.step] : undefined;

  return (
    <div class="app">
      <header>
        <h1>mmsim</h1>
        <label>
          example{' '}
          <select
            value={byFile(file) ? file : ''}
            onChange={(e) => {
              const ex = byFile((e.target as HTMLSelectElement).value);
              if (ex === undefined) return;
              setFile(ex.file);
              setText(ex.text);
              setPoint(START);
              setCursor(null);
            }}
          >
            <option value="">(your scenario)</option>
            {EXAMPLES.map((e) => (
              <option key={e.file} value={e.file}>
                {e.file.replace(/^examples\//, '')}
              </option>
            ))}
          </select>
        </label>
        <label>
          kernel{' '}
          <select
            value={kernel}
            onChange={(e) => setKernel((e.target as HTMLSelectElement).value)}
            name="kernel"
          >
            <option value="">(the file's)</option>
            {KERNEL_NAMES.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          compare with{' '}
          <select
            value={compare}
            onChange={(e) => setCompare((e.target as HTMLSelectElement).value)}
            name="compare"
          >
            <option value="">(none)</option>
            {KERNEL_NAMES.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <span class="status" data-busy={busy ? 'yes' : 'no'}>
          {busy ? 'running…' : opened === null ? '' : resultLine(opened)}
        </span>
      </header>
      <div class="body">
        <aside>
          <Editor
            text={text}
            errors={shownErrors}
            onChange={(t) => {
              setText(t);
            }}
          />
          {shownErrors.length > 0 ? (
            <ul class="errors" role="alert">
              {shownErrors.map((e) => (
                <li key={`${e.line}:${e.col}:${e.message}`}>
                  {e.file}:{e.line}:{e.col}: error: {e.message}
                </li>
              ))}
            </ul>
          ) : null}
          <Legend />
        </aside>
        <main>
          <nav class="timeline" aria-label="timeline">
            <button type="button" onClick={() => setPoint(START)} title="start (Home)">
              ⇤ start
            </button>
            <button
              type="button"
              onClick={() => setPoint((p) => prevStep(p))}
              title="step back (←)"
              name="back"
            >
              ◀ step
            </button>
            <button
              type="button"
              onClick={() => setPoint((p) => prevEvent(p, events))}
              title="event back (Shift+←)"
            >
              ‹ event
            </button>
            <button type="button" onClick={() => setPlaying(!playing)} title="play (Space)">
              {playing ? '❚❚ pause' : '▶ play'}
            </button>
            <button
              type="button"
              onClick={() => setPoint((p) => nextEvent(p, events))}
              title="event forward (Shift+→)"
            >
              event ›
            </button>
            <button
              type="button"
              onClick={() => setPoint((p) => nextStep(p, steps))}
              title="step forward (→)"
              name="forward"
            >
              step ▶
            </button>
            <button type="button" onClick={() => setPoint({ step: steps - 1, event: -1 })} title="end (End)">
              end ⇥
            </button>
            <input
              type="range"
              min={-1}
              max={steps - 1}
              value={point.step}
              aria-label="step"
              onInput={(e) => setPoint({ step: Number((e.target as HTMLInputElement).value), event: -1 })}
            />
            <span class="where" data-step={point.step} data-event={point.event}>
              {point.step < 0
                ? `start (${steps} steps)`
                : `step ${point.step + 1}/${steps}: ${stepInfo?.op ?? ''} (line ${stepInfo?.line}:${stepInfo?.col})${
                    point.event >= 0
                      ? ` · after event ${point.event + 1}/${stepInfo?.events}`
                      : ` · end (${stepInfo?.events} events)`
                  }`}
            </span>
          </nav>
          {view !== null && errors.length === 0 ? (
            <div class={`sides n${view.sides.length}`}>
              {view.sides.map((s, i) => (
                <Side
                  key={`${i}-${s.kernel}`}
                  view={s}
                  differs={view.differs?.mappings ?? null}
                  cursor={cursor}
                  onPick={setCursor}
                  event={point.step === view.step ? point.event : -1}
                  onEvent={(ev) => setPoint({ step: Math.max(0, point.step), event: ev })}
                />
              ))}
            </div>
          ) : null}
          {view?.differs ? (
            <p class="differs-summary" data-cells={view.differs.cells}>
              {view.differs.cells} cell(s) and {view.differs.counters.length} counter(s) differ between{' '}
              {view.sides[0].kernel} and {view.sides[1].kernel} here
              {view.differs.counters.length > 0 ? `: ${view.differs.counters.join(', ')}` : ''}
            </p>
          ) : null}
        </main>
      </div>
    </div>
  );
}

function clamp(p: Point, o: Opened): Point {
  const n = o.steps[0]?.length ?? 0;
  if (p.step >= n) return { step: n - 1, event: -1 };
  return p;
}

function resultLine(o: Opened): string {
  if (o.errors.length > 0) return `${o.errors.length} error(s)`;
  return o.kernels
    .map((k, i) => {
      const r = o.results[i];
      return `${k}: ${r.ok ? 'expectations hold' : `${r.failed.length} expectation(s) failed, ${r.violations.length} violation(s)`}`;
    })
    .join(' · ');
}

function Legend() {
  return (
    <div class="legend">
      <h4>pages (pte row)</h4>
      {PAGE_STATE_NAMES.map((n) => (
        <span key={n} class="key">
          <span class="cell" style={{ background: PAGE_COLOURS[n] }}>
            {PAGE_LETTERS[n]}
          </span>{' '}
          {PAGE_STATE_LABELS[n]}
        </span>
      ))}
      <h4>secondary MMU rows</h4>
      {SECONDARY_LABELS.slice(0, 4).map((l, i) => (
        <span key={l} class="key">
          <span class="cell" style={{ background: SECONDARY_COLOURS[i], color: i === 2 ? '#fff' : '#000' }}>
            {SECONDARY_LETTERS[i]}
          </span>{' '}
          {l.replace(' (read-only, another frame)', '')}
        </span>
      ))}
      <h4>marks</h4>
      <span class="key">
        <span class="cell changed" style={{ outlineColor: CHANGED_OUTLINE }} /> changed since the previous
        point
      </span>
      <span class="key">
        <span class="cell differs" style={{ outlineColor: DIFFERS_OUTLINE }} /> differs between the two
        kernels
      </span>
      <p class="keys">
        Keys: ← → step · Shift+← → event · Home/End · Space play · arrows inside a grid move the cursor
      </p>
    </div>
  );
}
