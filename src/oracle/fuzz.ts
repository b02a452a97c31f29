/**
 * Differential fuzzing: random primary-MMU scenarios (several processes; mmap incl. shared, munmap,
 * mprotect incl. PROT_NONE, madvise MERGEABLE/UNMERGEABLE/DONTNEED, writes of a few patterns so that KSM
 * finds duplicates, reads, fork, exit, ksm full scans) run on the real kernel and in mmsim, compared at
 * every step. A difference shrinks (fast-check) to a minimal scenario, written as a file for replay.
 *
 * Needs the dev dependency fast-check (it is a development tool: `npm run oracle:fuzz`, `npm test`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Scenario } from '../scenario/ast.js';
import { parseScenario } from '../scenario/parse.js';
import { differenceCount } from './compare.js';
import { formatComparison, type OracleResult, runOracleIn } from './index.js';
import { HelperSession } from './real-kernel.js';

/** One generated step, before it is fitted to the processes and mappings that exist at that point. */
export type Intent =
  | { k: 'spawn' }
  /** mergeable: MADV_MERGEABLE right after, as KSM's users (and its selftests) do. */
  | { k: 'mmap'; p: number; pages: number; prot: string; shared: boolean; mergeable: boolean }
  | { k: 'munmap'; p: number; m: number; off: number; n: number }
  | { k: 'mprotect'; p: number; m: number; off: number; n: number; prot: string }
  | { k: 'madvise'; p: number; m: number; off: number; n: number; advice: string }
  /** twin: the same content written at a second place too (another mapping or process): a merge to find. */
  | { k: 'write'; p: number; m: number; off: number; n: number; what: Content; twin: Place | null }
  | { k: 'read'; p: number; m: number; off: number; n: number }
  | { k: 'fork'; p: number }
  | { k: 'exit'; p: number }
  | { k: 'ksm'; scans: number }
  /** gup pin: a write pin (io_uring fixed buffer, held until an unpin) or a read-only one released at once. */
  | { k: 'pin'; p: number; m: number; off: number; n: number; write: boolean }
  | { k: 'unpin'; p: number };

/** A page of some process's mapping (indices taken modulo what exists). */
export interface Place {
  p: number;
  m: number;
  off: number;
}

/** What a write stores: a few patterns and fills, so that equal pages (KSM's duplicates) are common. */
export type Content = { pattern: number } | { fill: number } | { data: string };

const MAX_PROCS = 4;
const MAX_PAGES = 6;

const proc = fc.nat(7);
const range = {
  p: proc,
  m: fc.nat(3),
  off: fc.nat(MAX_PAGES - 1),
  n: fc.integer({ min: 1, max: MAX_PAGES }),
};
const content: fc.Arbitrary<Content> = fc.oneof(
  fc.record({ pattern: fc.constantFrom(1, 2) }),
  // a fill of several pages makes equal pages at once: the likeliest source of merges
  { arbitrary: fc.record({ fill: fc.constantFrom(0, 0x5a) }), weight: 2 },
  fc.record({ data: fc.constantFrom('x', 'y') }),
);

/** The step mix: merges need writes, mergeable areas and scans, so those weigh most. */
export const intent: fc.Arbitrary<Intent> = fc.oneof(
  { arbitrary: fc.constant({ k: 'spawn' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant('mmap' as const),
      p: proc,
      pages: fc.integer({ min: 1, max: MAX_PAGES }),
      prot: fc.constantFrom('rw', 'rw', 'rw', 'rw', 'r', 'none'),
      shared: fc.constantFrom(false, false, false, true),
      mergeable: fc.constantFrom(false, true, true),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ k: fc.constant('munmap' as const), ...range }), weight: 1 },
  {
    arbitrary: fc.record({
      k: fc.constant('mprotect' as const),
      ...range,
      prot: fc.constantFrom('none', 'r', 'rw'),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('madvise' as const),
      ...range,
      advice: fc.constantFrom('mergeable', 'mergeable', 'unmergeable', 'dontneed'),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      ...range,
      what: content,
      twin: fc.option(fc.record({ p: proc, m: range.m, off: range.off }), { freq: 2 }),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ k: fc.constant('read' as const), ...range }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('fork' as const), p: proc }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('exit' as const), p: proc }), weight: 1 },
  {
    arbitrary: fc.record({ k: fc.constant('ksm' as const), scans: fc.integer({ min: 1, max: 3 }) }),
    weight: 4,
  },
  { arbitrary: fc.record({ k: fc.constant('pin' as const), ...range, write: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('unpin' as const), p: proc }), weight: 1 },
);

/** A generated case: KSM's zero-page knob and the steps. */
export interface FuzzCase {
  useZeroPages: boolean;
  /** KSM's max_page_sharing: 2 makes stable node chains (several KSM pages of one content). */
  maxPageSharing: number;
  intents: Intent[];
  /** Full scans after the last step (where anything is mergeable): what the last writes lead to. */
  finalScans: number;
}

export const fuzzCase = (maxSteps = 20): fc.Arbitrary<FuzzCase> =>
  fc.record({
    useZeroPages: fc.boolean(),
    maxPageSharing: fc.constantFrom(256, 2),
    intents: fc.array(intent, { minLength: 1, maxLength: maxSteps, size: 'max' }),
    finalScans: fc.nat(3),
  });

interface Proc {
  name: string;
  /** Write pins held (released before exit). */
  pins: string[];
  mappings: { name: string; pages: number }[];
  next: number;
}

/**
 * The scenario file of a case. Intents are fitted to what exists (process and mapping indices taken
 * modulo, ranges clipped to the mapping) and dropped where nothing fits, so every case is a valid file.
 */
export function scenarioText(c: FuzzCase, name: string): string {
  const lines = [
    'mmsim: 1',
    `name: ${name}`,
    'kernel: v6.18',
    `ksm: { use_zero_pages: ${c.useZeroPages}, max_page_sharing: ${c.maxPageSharing} }`,
    'steps:',
    '  - spawn: p0',
  ];
  const alive: Proc[] = [{ name: 'p0', mappings: [], next: 0, pins: [] }];
  let tasks = 1;
  let pins = 0;
  let mergeable = false;
  const step = (s: string): void => {
    lines.push(`  - ${s}`);
  };
  for (const it of c.intents) {
    if (it.k === 'spawn' || (alive.length === 0 && it.k !== 'ksm')) {
      if (alive.length >= MAX_PROCS) continue;
      const p: Proc = { name: `p${tasks++}`, mappings: [], next: 0, pins: [] };
      alive.push(p);
      step(`spawn: ${p.name}`);
      if (it.k === 'spawn') continue;
    }
    if (it.k === 'ksm') {
      // before any MADV_MERGEABLE ksmd has no mm to scan (the real side would wait to be sure of that):
      // make the first mapping there is mergeable first
      const owner = alive.find((q) => q.mappings.length > 0);
      if (!mergeable && owner !== undefined) {
        const m = owner.mappings[0];
        step(`madvise: { proc: ${owner.name}, addr: ${m.name}, size: ${m.pages}p, advice: mergeable }`);
        mergeable = true;
      }
      if (mergeable) step(`ksm: { full_scans: ${it.scans} }`);
      continue;
    }
    const p = alive[it.p % alive.length];
    if (
      p.mappings.length === 0 &&
      it.k !== 'mmap' &&
      it.k !== 'fork' &&
      it.k !== 'exit' &&
      it.k !== 'unpin'
    ) {
      // nothing to act on yet: map something (the intent's range size, read-write, private, mergeable)
      const m = `m${p.next++}`;
      p.mappings.push({ name: m, pages: it.n });
      step(`mmap: { proc: ${p.name}, size: ${it.n}p, prot: rw, as: ${m} }`);
      step(`madvise: { proc: ${p.name}, addr: ${m}, size: ${it.n}p, advice: mergeable }`);
      mergeable = true;
    }
    switch (it.k) {
      case 'mmap': {
        const m = `m${p.next++}`;
        p.mappings.push({ name: m, pages: it.pages });
        step(
          `mmap: { proc: ${p.name}, size: ${it.pages}p, prot: ${it.prot}, as: ${m}${it.shared ? ', shared: true' : ''} }`,
        );
        if (it.mergeable) {
          step(`madvise: { proc: ${p.name}, addr: ${m}, size: ${it.pages}p, advice: mergeable }`);
          mergeable = true;
        }
        continue;
      }
      case 'fork': {
        if (alive.length >= MAX_PROCS) continue;
        const child: Proc = {
          name: `p${tasks++}`,
          mappings: p.mappings.map((m) => ({ ...m })),
          next: p.next,
          pins: [],
        };
        alive.push(child);
        step(`fork: { proc: ${p.name}, child: ${child.name} }`);
        continue;
      }
      case 'exit':
        // io_uring drops a dead ring's buffers later, from a workqueue: unpin first, as a program would
        for (const pin of p.pins) step(`unpin: ${pin}`);
        alive.splice(alive.indexOf(p), 1);
        step(`exit: ${p.name}`);
        continue;
      case 'unpin': {
        const pin = p.pins.shift();
        if (pin !== undefined) step(`unpin: ${pin}`);
        continue;
      }
    }
    const place = (q: Proc, at: { m: number; off: number }, pages: number) => {
      const m = q.mappings[at.m % q.mappings.length];
      const off = at.off % m.pages;
      return {
        n: Math.min(pages, m.pages - off),
        where: `proc: ${q.name}, addr: ${m.name}${off > 0 ? `+${off}p` : ''}`,
      };
    };
    const write = (where: string, n: number, w: Content): void => {
      if ('pattern' in w) step(`write: { ${where}, pattern: { seed: ${w.pattern}, pages: ${n} } }`);
      else if ('fill' in w) step(`write: { ${where}, fill: ${w.fill}, size: ${n}p }`);
      else step(`write: { ${where}, data: "${w.data}" }`);
    };
    const { n, where } = place(p, it, it.n);
    switch (it.k) {
      case 'munmap':
        step(`munmap: { ${where}, size: ${n}p }`);
        break;
      case 'mprotect':
        step(`mprotect: { ${where}, size: ${n}p, prot: ${it.prot} }`);
        break;
      case 'madvise':
        mergeable ||= it.advice === 'mergeable';
        step(`madvise: { ${where}, size: ${n}p, advice: ${it.advice} }`);
        break;
      case 'read':
        step(`read: { ${where}, size: ${n}p }`);
        break;
      case 'pin': {
        const pin = `g${pins++}`;
        step(`gup: { ${where}, pages: ${n}, pin: true, write: ${it.write}, as: ${pin} }`);
        if (it.write) p.pins.push(pin);
        else step(`unpin: ${pin}`); // a read-only pin is replayed as an O_DIRECT write: released at once
        break;
      }
      case 'write': {
        write(where, n, it.what);
        const q = it.twin === null ? undefined : alive[it.twin.p % alive.length];
        if (it.twin !== null && q !== undefined && q.mappings.length > 0) {
          const t = place(q, it.twin, n);
          write(t.where, t.n, it.what);
        }
        break;
      }
    }
  }
  if (mergeable && c.finalScans > 0) step(`ksm: { full_scans: ${c.finalScans} }`);
  return `${lines.join('\n')}\n`;
}

function parse(text: string, file: string): Scenario {
  const r = parseScenario(text, file);
  if (!r.ok)
    throw new Error(`the fuzzer wrote a scenario that does not parse:\n${text}\n${JSON.stringify(r.errors)}`);
  return r.scenario;
}

export interface FuzzOptions {
  runs: number;
  seed: number;
  maxSteps?: number;
  /** Where a shrunk difference is written (created on demand). */
  outDir: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface FuzzReport {
  runs: number;
  seed: number;
  /** Sequences compared, shrinking runs included. */
  compared: number;
  steps: number;
  ms: number;
  realMs: number;
  modelMs: number;
  /** How many sequences exercised each state or outcome (OracleResult.exercised). */
  exercised: Record<string, number>;
  /** The minimal scenario of a difference, its file and its differences; null when all agreed. */
  found: { file: string; text: string; differences: string[] } | null;
}

/** Run `runs` random sequences through one helper session; shrink and save the first difference. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const session = new HelperSession();
  const start = Date.now();
  let compared = 0;
  let steps = 0;
  let realMs = 0;
  let modelMs = 0;
  let last: { text: string; result: OracleResult } | null = null;
  const seen: Record<string, number> = {};
  const check = async (c: FuzzCase): Promise<boolean> => {
    const text = scenarioText(c, `fuzz-${options.seed}`);
    const result = await runOracleIn(session, parse(text, 'fuzz.yaml'), { snapshotEvery: true });
    compared++;
    for (const e of result.exercised) seen[e] = (seen[e] ?? 0) + 1;
    steps += text.split('\n').length - 6;
    realMs += result.realMs;
    modelMs += result.modelMs;
    if (result.unexplainedCount === 0) return true;
    last = { text, result };
    return false;
  };
  try {
    const details = await fc.check(fc.asyncProperty(fuzzCase(options.maxSteps), check), {
      numRuns: options.runs,
      seed: options.seed,
    });
    let found: FuzzReport['found'] = null;
    if (details.failed) {
      if (details.errorInstance !== undefined && last === null) throw details.errorInstance;
      // re-run the shrunk case so that `last` is its own result
      const minimal = details.counterexample?.[0] as FuzzCase;
      last = null;
      await check(minimal);
      const hit = last as { text: string; result: OracleResult } | null;
      if (hit !== null) {
        const differences = formatComparison(hit.result.unexplained);
        mkdirSync(options.outDir, { recursive: true });
        const file = join(options.outDir, `fuzz-${options.seed}-${hit.result.unexplainedCount}d.yaml`);
        const header = [
          `# found by npm run oracle:fuzz -- --seed ${options.seed} (shrunk after ${details.numShrinks} steps)`,
          `# ${differenceCount(hit.result.unexplained)} difference(s), mmsim ${hit.result.kernel} vs ${hit.result.running}:`,
          ...differences.map((l) => `#${l}`),
        ];
        const text = `${header.join('\n')}\n${hit.text}`;
        writeFileSync(file, text);
        found = { file, text, differences };
      }
    }
    return {
      runs: options.runs,
      seed: options.seed,
      compared,
      steps,
      ms: Date.now() - start,
      realMs,
      modelMs,
      exercised: seen,
      found,
    };
  } finally {
    await session.close();
  }
}
