/**
 * Mutation fuzzing: valid scenarios, damaged thousands of ways, must never make the parser throw, every
 * error must carry a real position and a message, and every document that still parses must run (or
 * stop with a positioned run-time error).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Scenario } from '../../src/scenario/ast.js';
import { type ParseResult, parseScenario } from '../../src/scenario/parse.js';
import { runScenario, ScenarioRuntimeError } from '../../src/scenario/run.js';

/** Compact seeds (parse time is mostly YAML's, and grows with length) that use every step and expectation. */
const seeds: [string, string][] = [
  [
    'cow.yaml',
    `mmsim: 1
kernel: v6.10
machine: { ram: 64 pages, cpus: 1 }
steps:
  - spawn: p
  - mmap: { proc: p, size: 4p, prot: rw, as: buf, at: 0x7f0000000000 }
  - write: { proc: p, addr: buf+0x10, data: "abc" }
  - write: { proc: p, addr: buf+1p, bytes: [1, 2, 255] }
  - fork: { proc: p, child: c }
    expect:
      - same_frame: [p:buf, c:buf]
      - read_only: buf
  - read: { proc: c, addr: buf+0x10, expect: "abc" }
  - mprotect: { proc: p, addr: buf, size: 1p, prot: none }
  - exit: c
expect:
  - not_mapped: c:buf+3p
  - reads: { at: p:buf+1p, equals: [1, 2] }
  - signal: { proc: p, is: SIGSEGV }
  - counters: { faults.cow_copy: 1, tlb.flush_local: ">= 0" }
`,
  ],
  [
    'guests.yaml',
    `mmsim: 1
seed: 7
ksm: { pages_to_scan: 10, use_zero_pages: true }
steps:
  - spawn: { proc: q }
  - mmap: { proc: q, size: 8 pages, prot: rw, as: ram }
  - madvise: { proc: q, addr: ram, size: 8p, advice: mergeable }
  - vm: { name: vm1, proc: q, memslots: [{ gfn: 0, addr: ram, size: 32KiB }], vcpus: 2 }
  - guest: { vm: vm1, op: write, gfn: 0, pages: 8, pattern: { seed: 3 } }
  - ksm: { full_scans: 2 }
  - guest: { vm: vm1, op: write, gpa: 0x1000, fill: 7, size: 16 }
  - repeat: { times: 2, steps: [ { ksm: { scan: 8 pages } } ] }
expect:
  - ksm_page: q:ram+2p
  - writable: q:ram+1p
  - distinct_frames: [q:ram, q:ram+1p]
  - counters: { kvm.vm1.faults: ">= 8", ksm.pages_sharing: 6 }
  - invariants: hold
`,
  ],
  [
    'devices.json',
    JSON.stringify(
      {
        mmsim: 1,
        kernel: 'rfc-2019-aa',
        checks: { invariants: 'at_end', change_pte_rule: 'strict' },
        steps: [
          { spawn: 'a' },
          { mmap: { proc: 'a', size: '2p', prot: 'rw', as: 'b', shared: true } },
          { device: { name: 'gpu', proc: 'a' } },
          { iommu: { name: 'nic', proc: 'a' } },
          { gup: { proc: 'a', addr: 'b', pages: 1, write: true, as: 'dio' } },
          {
            parallel: {
              threads: [
                [{ dev: { device: 'gpu', op: 'read', addr: 'b', pages: 2 } }],
                [
                  { dma: { iommu: 'nic', op: 'write', addr: 'a:b+1p' } },
                  { munmap: { proc: 'a', addr: 'b', size: 4096 } },
                ],
              ],
            },
          },
          { unpin: 'dio' },
        ],
        expect: [
          { zero_page: 'a:b+1p' },
          { counters: { 'dev.gpu.faults': 1, 'iommu.nic.iotlb_flushes': '>= 1' } },
        ],
      },
      null,
      2,
    ),
  ],
];

/** What is wrong with a result, or undefined. (Plain checks: vitest's expect is slow in a hot loop.) */
function problemWith(result: ParseResult, text: string, file: string): string | undefined {
  if (result.ok) return undefined;
  if (result.errors.length === 0) return 'not ok, but no errors';
  const lines = text.split('\n').length;
  for (const e of result.errors) {
    const where = `${e.file}:${e.line}:${e.col}: ${e.message}`;
    if (e.file !== file) return `wrong file in ${where}`;
    if (!Number.isInteger(e.line) || e.line < 1 || e.line > lines + 1) return `bad line in ${where}`;
    if (!Number.isInteger(e.col) || e.col < 1) return `bad column in ${where}`;
    if (typeof e.message !== 'string' || e.message.trim() === '') return `empty message at ${where}`;
    if (e.message.includes('internal error')) return where;
  }
  for (let i = 1; i < result.errors.length; i++) {
    const [a, b] = [result.errors[i - 1], result.errors[i]];
    if (a.line > b.line || (a.line === b.line && a.col > b.col)) return 'errors not sorted by position';
  }
  return undefined;
}

/** Parses, failing (with the input, so fast-check can shrink it) on a throw or a malformed result. */
function parseAndCheck(text: string, file: string): void {
  const parsed = parseScenario(text, file);
  const problem = problemWith(parsed, text, file);
  if (problem) throw new Error(`${problem}\n--- input (${file}) ---\n${text}`);
  if (parsed.ok) runAndCheck(parsed.scenario, text, file);
}

/**
 * A document that parses must run: either to a result, or to a ScenarioRuntimeError at a real
 * position (an address past its mapping) — never any other exception.
 */
let ran = 0;

function runAndCheck(scenario: Scenario, text: string, file: string): void {
  ran++;
  try {
    runScenario(scenario, { file });
  } catch (e) {
    if (e instanceof ScenarioRuntimeError && e.pos.line >= 1 && e.pos.col >= 1 && e.message.length > 0)
      return;
    throw new Error(`running a valid scenario threw ${(e as Error).stack}\n--- input (${file}) ---\n${text}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Text mutations: what a careless edit or a broken file does.

const JUNK = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  '-',
  '#',
  '&a',
  '*a',
  '"',
  "'",
  '\t',
  '\n',
  ' ',
  '|',
  '>',
  '!!',
  '?',
  '%',
  '@',
  '`',
  '\\',
  '\u00e9',
  '\uFEFF',
  '0x',
  '999999999999999999999',
  '\r\n',
];

type TextMutation =
  | { kind: 'insert'; at: number; junk: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicateLine'; line: number }
  | { kind: 'swapLines'; a: number; b: number }
  | { kind: 'indent'; line: number; by: number }
  | { kind: 'numberToWord'; nth: number }
  | { kind: 'wordToNumber'; nth: number }
  | { kind: 'replaceChar'; at: number; char: string };

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    junk: fc.oneof(fc.constantFrom(...JUNK), fc.string({ maxLength: 4 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicateLine' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('numberToWord' as const), nth: fc.nat() }),
  fc.record({ kind: fc.constant('wordToNumber' as const), nth: fc.nat() }),
  fc.record({ kind: fc.constant('replaceChar' as const), at: fc.nat(), char: fc.constantFrom(...JUNK) }),
);

function replaceNth(text: string, pattern: RegExp, nth: number, replacement: string): string {
  const matches = [...text.matchAll(pattern)];
  if (matches.length === 0) return text;
  const m = matches[nth % matches.length];
  return text.slice(0, m.index) + replacement + text.slice(m.index! + m[0].length);
}

function applyText(text: string, m: TextMutation): string {
  const at = (n: number) => n % (text.length + 1);
  const lines = text.split('\n');
  const line = (n: number) => n % lines.length;
  switch (m.kind) {
    case 'insert':
      return text.slice(0, at(m.at)) + m.junk + text.slice(at(m.at));
    case 'delete':
      return text.slice(0, at(m.at)) + text.slice(at(m.at) + m.length);
    case 'truncate':
      return text.slice(0, at(m.at));
    case 'duplicateLine':
      lines.splice(line(m.line), 0, lines[line(m.line)]);
      return lines.join('\n');
    case 'swapLines': {
      const [a, b] = [line(m.a), line(m.b)];
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return lines.join('\n');
    }
    case 'indent': {
      const i = line(m.line);
      lines[i] = m.by >= 0 ? ' '.repeat(m.by) + lines[i] : lines[i].replace(new RegExp(`^ {0,${-m.by}}`), '');
      return lines.join('\n');
    }
    case 'numberToWord':
      return replaceNth(text, /\b\d+\b/g, m.nth, 'lots');
    case 'wordToNumber':
      return replaceNth(text, /\b[a-z_]+\b/g, m.nth, '42');
    case 'replaceChar':
      return text.slice(0, at(m.at)) + m.char + text.slice(at(m.at) + 1);
  }
}

// ---------------------------------------------------------------------------------------------------
// Structure mutations: well-formed documents with the wrong things in them.

type Path = (string | number)[];

function allPaths(value: unknown, path: Path = []): Path[] {
  const paths: Path[] = [path];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths.push(...allPaths(v, [...path, i]));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths.push(...allPaths(v, [...path, k]));
  }
  return paths;
}

const REPLACEMENTS: unknown[] = [
  null,
  0,
  -1,
  1.5,
  4096,
  2 ** 60,
  '',
  'x',
  'lots',
  '16KB',
  'buf+',
  'nope:buf',
  true,
  [],
  {},
  [1, 2],
  { a: 1 },
  'v9',
  'SIGKILL',
  '>= x',
];

type TreeMutation =
  | { kind: 'delete'; nth: number }
  | { kind: 'replace'; nth: number; value: unknown }
  | { kind: 'rename'; nth: number; name: string }
  | { kind: 'addKey'; nth: number; name: string; value: unknown }
  | { kind: 'duplicateItem'; nth: number }
  | { kind: 'numberToString'; nth: number }
  | { kind: 'stringToNumber'; nth: number };

const keyName = fc.oneof(
  fc.constantFrom('proc', 'size', 'expect', 'steps', 'mmap', 'spawn', 'as', 'op', 'zz', 'same_frame'),
  fc.string({ maxLength: 6 }),
);
const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), nth: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    nth: fc.nat(),
    value: fc.constantFrom(...REPLACEMENTS),
  }),
  fc.record({ kind: fc.constant('rename' as const), nth: fc.nat(), name: keyName }),
  fc.record({
    kind: fc.constant('addKey' as const),
    nth: fc.nat(),
    name: keyName,
    value: fc.constantFrom(...REPLACEMENTS),
  }),
  fc.record({ kind: fc.constant('duplicateItem' as const), nth: fc.nat() }),
  fc.record({ kind: fc.constant('numberToString' as const), nth: fc.nat() }),
  fc.record({ kind: fc.constant('stringToNumber' as const), nth: fc.nat() }),
);

function parentOf(
  root: unknown,
  path: Path,
): { parent: Record<string | number, unknown>; key: string | number } | undefined {
  if (path.length === 0) return undefined;
  let parent = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  return { parent, key: path[path.length - 1] };
}

function applyTree(root: unknown, m: TreeMutation): unknown {
  const paths = allPaths(root);
  const path = paths[m.nth % paths.length];
  const at = parentOf(root, path);
  const current = at ? at.parent[at.key] : root;
  switch (m.kind) {
    case 'delete':
      if (!at) return null;
      if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
      else delete at.parent[at.key];
      return root;
    case 'replace':
      if (!at) return m.value;
      at.parent[at.key] = structuredClone(m.value);
      return root;
    case 'rename':
      if (!at || Array.isArray(at.parent)) return root;
      delete at.parent[at.key];
      at.parent[m.name] = current;
      return root;
    case 'addKey':
      if (current && typeof current === 'object' && !Array.isArray(current)) {
        (current as Record<string, unknown>)[m.name] = structuredClone(m.value);
      }
      return root;
    case 'duplicateItem':
      if (at && Array.isArray(at.parent)) at.parent.splice(at.key as number, 0, structuredClone(current));
      return root;
    case 'numberToString':
      if (at && typeof current === 'number') at.parent[at.key] = `${current}`;
      return root;
    case 'stringToNumber':
      if (at && typeof current === 'string') at.parent[at.key] = current.length;
      return root;
  }
}

/** FUZZ_SCALE=10 npx vitest run test/scenario/fuzz.test.ts runs ten times as many cases. */
const scale = Math.max(1, Number(process.env.FUZZ_SCALE) || 1);

const seedTrees: [string, unknown][] = seeds.map(([file, text]) => [file, parse(text)]);

describe('fuzzing the parser with mutated scenarios', () => {
  it('the seed documents are valid', () => {
    for (const [file, text] of seeds) expect(parseScenario(text, file).ok, file).toBe(true);
  });

  it('never throws on damaged text (1700 documents)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(textMutation, { minLength: 1, maxLength: 3 }), (which, mutations) => {
        const [file, text] = seeds[which % seeds.length];
        const damaged = mutations.reduce(applyText, text);
        parseAndCheck(damaged, file);
      }),
      { numRuns: 1700 * scale },
    );
  });

  it('never throws on well-formed documents with wrong contents (1300 documents, YAML and JSON)', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(treeMutation, { minLength: 1, maxLength: 3 }),
        // Block-style YAML one time in four: the YAML printer costs as much as the parse.
        fc.integer({ min: 0, max: 3 }),
        (which, mutations, style) => {
          const asJson = style > 0;
          const [file, original] = seedTrees[which % seedTrees.length];
          const tree = mutations.reduce(applyTree, structuredClone(original));
          const damaged = asJson ? JSON.stringify(tree, null, 2) : stringify(tree);
          parseAndCheck(
            damaged ?? '',
            asJson ? file.replace(/\.ya?ml$/, '.json') : file.replace(/\.json$/, '.yaml'),
          );
        },
      ),
      { numRuns: 1300 * scale },
    );
  });

  it('a good share of the mutated documents still parsed and ran', () => {
    expect(ran).toBeGreaterThan(300);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        parseAndCheck(text, 'random.yaml');
        parseAndCheck(text, 'random.json');
      }),
      { numRuns: 300 * scale },
    );
  });
});

/** Every name Object.prototype has, in every place a file's word is looked up by name. */
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), '__proto__'];

const PROTOTYPE_PLACES: ((word: string) => string)[] = [
  (w) => `mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 1${w}, prot: rw, as: buf }\n`,
  (w) => `mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: "4 ${w}", prot: rw, as: buf }\n`,
  (w) => `mmsim: 1\nmachine: { ram: 2${w} }\n`,
  (w) =>
    `mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 4p, prot: rw, as: buf }\n  - gup: { proc: p, addr: buf, pages: 1${w}, as: g }\n`,
  (w) =>
    `mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 4p, prot: rw, as: buf }\n  - write: { proc: p, addr: buf+1${w}, fill: 1 }\n`,
  (w) => `mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 4p, prot: ${w}, as: buf }\n`,
  (w) => `mmsim: 1\nsteps:\n  - ${w}: p\n`,
  (w) => `mmsim: 1\nsteps:\n  - spawn: { ${w}: p }\n`,
  (w) => `mmsim: 1\n${w}: 1\n`,
  (w) => `mmsim: 1\nkernel: ${w}\n`,
  (w) => `mmsim: 1\nexpect:\n  - ${w}: 1\n`,
  (w) => `mmsim: 1\nexpect:\n  - counters: { ${w}: 0 }\n`,
  (w) => `mmsim: 1\nexpect:\n  - counters: { kvm.${w}.faults: 0 }\n`,
  (w) => `mmsim: 1\nexpect:\n  - counters: { ${w}.vm1.faults: 0 }\n`,
  (w) => `mmsim: 1\nsteps:\n  - spawn: p\n  - exit: ${w}\n`,
];

describe('names Object.prototype has', () => {
  it(`are plain unknown words in every looked-up place (${PROTOTYPE_NAMES.length} names x ${PROTOTYPE_PLACES.length} places)`, () => {
    let rejected = 0;
    for (const word of PROTOTYPE_NAMES) {
      for (const place of PROTOTYPE_PLACES) {
        const text = place(word);
        const parsed = parseScenario(text, 'proto.yaml');
        const problem = problemWith(parsed, text, 'proto.yaml');
        if (problem) throw new Error(`${problem}\n--- input ---\n${text}`);
        if (!parsed.ok) rejected++;
        else runAndCheck(parsed.scenario, text, 'proto.yaml');
      }
    }
    // most places reject the word (a unit, a kernel, a key); a few accept it as a name (exit: toString)
    expect(rejected).toBeGreaterThan(PROTOTYPE_NAMES.length * (PROTOTYPE_PLACES.length - 3));
  });
});
