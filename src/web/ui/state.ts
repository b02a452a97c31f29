/**
 * The page's state as signals, and the effects that keep it in step: the source (a scenario, or a
 * counterexample to replay) is opened in the model's worker when it changes; the view of the current
 * point is asked for when the point moves; the URL follows both. Components read the signals they show,
 * so moving the point re-renders the timeline and the state views, never the editor or the gallery.
 */
import { batch, computed, effect, signal } from '@preact/signals';
import type { Counterexample } from '../../check/counterexample.js';
import type { ScenarioError } from '../../scenario/parse.js';
import type { Catalog, ExperimentView, Opened, PointView } from '../model/backend.js';
import { readCheckerFile, settingsOf } from '../model/checker-file.js';
import type { TransitionRecord } from '../model/session.js';
import { ModelClient } from './client.js';
import { DEFAULT_EXAMPLE, findEntry } from './gallery.js';
import type { Cursor } from './panels.js';
import { counterexampleHash, decodeHash, deflate, scenarioHash } from './share.js';
import { type Point, START } from './timeline.js';

const client = new ModelClient();
/** Experiments run in a worker of their own, so the views stay answered meanwhile (made when first used). */
let lab: ModelClient | null = null;

export const file = signal(DEFAULT_EXAMPLE);
export const text = signal(findEntry(DEFAULT_EXAMPLE)?.text ?? 'mmsim: 1\nsteps: []\n');
export const kernel = signal('');
export const compare = signal('');
/** What-if profile fields (`FIELD=VALUE ...`) and a schedule for the `parallel` threads, as typed. */
export const settings = signal('');
export const schedule = signal('');
/** The counterexample being replayed (its scenario, kernel, overrides and schedule replace the above). */
export const counterexample = signal<Counterexample | null>(null);
/** Other counterexamples of the file it came from (a report may hold several). */
export const counterexamples = signal<Counterexample[]>([]);
export const opened = signal<Opened | null>(null);
export const point = signal<Point>(START);
export const view = signal<PointView | null>(null);
export const cursor = signal<Cursor | null>(null);
export const playing = signal(false);
export const busy = signal(false);
/** Milliseconds from the last move of the point to its view drawn on screen, that point, and how many views were drawn. */
export const drawn = signal<{ ms: number; at: Point; n: number } | null>(null);
export const experiment = signal<ExperimentView | { running: string } | null>(null);
/** A problem loading a file or link (not a scenario error: those go to the editor). */
export const loadError = signal<string | null>(null);
export const galleryOpen = signal(false);
export const catalog = signal<Catalog['experiments']>([]);

/** Events per step (the first kernel's: the timeline's). */
export const stepEvents = computed(() => (opened.value?.steps[0] ?? []).map((s) => s.events));
export const stepCount = computed(() => stepEvents.value.length);
export const errors = computed<ScenarioError[]>(() => {
  const o = opened.value;
  if (o === null) return [];
  if (o.errors.length > 0) return o.errors;
  return o.runtimeErrors.filter((e): e is ScenarioError => e !== null);
});
/** The scenario line of the current step (the editor highlights it). */
export const stepLine = computed(() => {
  const p = point.value;
  return p.step < 0 ? null : (opened.value?.steps[0]?.[p.step]?.line ?? null);
});
/** The replay's transitions (the first kernel: a counterexample has one). */
export const transitions = computed<TransitionRecord[]>(() => opened.value?.transitions[0] ?? []);

/** Index of the transition the current point is in or at the end of, or -1 before the first. */
export const currentTransition = computed(() => {
  const p = point.value;
  const list = transitions.value;
  let at = -1;
  for (let i = 0; i < list.length; i++) if (!after(list[i], p)) at = i;
  return at;
});

/** Whether point `t` comes after point `p` (a step's end, event -1, comes after its events). */
function after(t: Point, p: Point): boolean {
  if (t.step !== p.step) return t.step > p.step;
  const rank = (e: number) => (e < 0 ? Number.MAX_SAFE_INTEGER : e);
  return rank(t.event) > rank(p.event);
}

/** Where to go once the next open completes; undefined: stay (an edit, another kernel). */
let pendingPoint: Point | 'offending' | undefined = START;

let movedAt = 0;
export function go(p: Point | ((p: Point) => Point)): void {
  movedAt = performance.now();
  point.value = typeof p === 'function' ? p(point.value) : p;
}

/** Open a scenario (from the gallery, a file, a link). */
export function openScenario(f: string, t: string, at: Point = START): void {
  batch(() => {
    counterexample.value = null;
    counterexamples.value = [];
    experiment.value = null;
    file.value = f;
    text.value = t;
    schedule.value = ''; // another scenario's threads
    cursor.value = null;
    loadError.value = null;
    pendingPoint = at;
    point.value = at;
  });
}

/** Open a checker file's text (a Counterexample or a CheckReport): the first counterexample replays. */
export function openCheckerText(json: string, index = 0, at?: Point): boolean {
  const r = readCheckerFile(json);
  if (!r.ok) {
    loadError.value = `not a checker file: ${r.error}`;
    return false;
  }
  const cx = r.counterexamples[Math.min(index, r.counterexamples.length - 1)];
  batch(() => {
    experiment.value = null;
    loadError.value = null;
    counterexamples.value = r.counterexamples;
    counterexample.value = cx;
    file.value = cx.file;
    text.value = cx.scenario;
    kernel.value = cx.kernel;
    compare.value = '';
    cursor.value = null;
    pendingPoint = at ?? 'offending';
  });
  return true;
}

/** A dropped or picked file: a checker file (JSON with a `format`), else a scenario. */
export async function openFile(f: File): Promise<void> {
  const t = await f.text();
  if (/"format"\s*:\s*"mmsim-(counterexample|check)"/.test(t)) openCheckerText(t);
  else openScenario(f.name, t);
}

/** Read the link, then keep opening, viewing and the link in step. */
export async function start(): Promise<void> {
  const s = await decodeHash(location.hash);
  const at = parsePoint(s.point);
  if (s.counterexample !== undefined) openCheckerText(s.counterexample, 0, at);
  else if (s.checkerUrl !== undefined) {
    try {
      const res = await fetch(s.checkerUrl);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      openCheckerText(await res.text(), s.index ?? 0, at);
    } catch (e) {
      loadError.value = `cannot fetch ${s.checkerUrl}: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else {
    batch(() => {
      if (s.kernel !== undefined) kernel.value = s.kernel;
      if (s.compare !== undefined) compare.value = s.compare;
      if (s.settings !== undefined) settings.value = s.settings;
      const t = s.text ?? (s.file !== undefined ? findEntry(s.file)?.text : undefined);
      if (s.file !== undefined || t !== undefined)
        openScenario(s.file ?? 'scenario.yaml', t ?? text.value, at ?? START);
      else pendingPoint = at ?? START;
      if (s.schedule !== undefined) schedule.value = s.schedule;
    });
  }
  client.catalog().then((c) => {
    catalog.value = c.experiments;
  });
  effect(openEffect);
  effect(viewEffect);
  effect(linkEffect);
}

function parsePoint(p: string | undefined): Point | undefined {
  if (p === undefined) return undefined;
  const [s, e] = p.split('.').map(Number);
  return Number.isInteger(s) && Number.isInteger(e) ? { step: s, event: e } : undefined;
}

let openSeq = 0;
function openEffect(): (() => void) | undefined {
  const cx = counterexample.value;
  const req = {
    kind: 'open' as const,
    text: text.value,
    file: file.value,
    // '' is the file's own kernel
    kernels: cx !== null ? [cx.kernel] : compare.value ? [kernel.value, compare.value] : [kernel.value],
    settings: cx !== null ? settingsOf(cx) : settings.value.split(/\s+/).filter(Boolean),
    schedule: cx !== null ? cx.schedule : schedule.value.trim() || undefined,
  };
  const seq = ++openSeq;
  const t = setTimeout(async () => {
    busy.value = true;
    let o: Opened;
    try {
      o = await client.open(req);
    } catch (e) {
      if (seq !== openSeq) return;
      batch(() => {
        busy.value = false;
        loadError.value = `the model failed: ${e instanceof Error ? e.message : String(e)}`;
      });
      return;
    }
    if (seq !== openSeq) return;
    batch(() => {
      busy.value = false;
      opened.value = o;
      if (o.errors.length > 0) return;
      const n = o.steps[0]?.length ?? 0;
      const want = pendingPoint === 'offending' ? offendingPoint(o, cx) : pendingPoint;
      pendingPoint = undefined;
      const p = want ?? point.value;
      go(p.step >= n ? { step: n - 1, event: -1 } : p);
    });
  }, 200);
  return () => clearTimeout(t);
}

function offendingPoint(o: Opened, cx: Counterexample | null): Point | null {
  if (cx === null) return null;
  const t = o.transitions[0]?.[cx.offending];
  return t === undefined ? null : { step: t.step, event: t.event };
}

let viewSeq = 0;
function viewEffect(): void {
  const o = opened.value;
  const p = point.value;
  if (o === null || o.errors.length > 0) return;
  const seq = ++viewSeq;
  client.view(p.step, p.event).then((v) => {
    if (seq !== viewSeq) return;
    view.value = v;
    // measured to the frame after the view is drawn
    requestAnimationFrame(() => {
      if (seq === viewSeq && movedAt > 0)
        drawn.value = { ms: Math.round(performance.now() - movedAt), at: p, n: (drawn.peek()?.n ?? 0) + 1 };
    });
  });
}

let deflated = { text: '', data: '' };
function linkEffect(): (() => void) | undefined {
  const cx = counterexample.value;
  const t = cx !== null ? JSON.stringify(cx) : text.value;
  const where = `${point.value.step}.${point.value.event}`;
  const shared = {
    file: file.value,
    kernel: kernel.value,
    compare: compare.value,
    settings: settings.value.trim(),
    schedule: schedule.value.trim(),
    point: where,
  };
  const timer = setTimeout(async () => {
    if (deflated.text !== t) deflated = { text: t, data: await deflate(t) };
    const hash = cx !== null ? counterexampleHash(deflated.data, where) : scenarioHash(shared, deflated.data);
    history.replaceState(null, '', hash);
  }, 300);
  return () => clearTimeout(timer);
}

export async function runExperiment(name: string, scale: number): Promise<void> {
  batch(() => {
    experiment.value = { running: name };
    galleryOpen.value = false;
  });
  lab ??= new ModelClient();
  try {
    experiment.value = await lab.experiment(name, scale);
  } catch (e) {
    experiment.value = null;
    loadError.value = `experiment ${name} failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}
