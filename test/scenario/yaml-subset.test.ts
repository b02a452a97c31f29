/**
 * The fast reader of plain YAML (src/scenario/yaml-subset.ts) reads what it accepts exactly as the yaml
 * library does: the same tree (kinds, values, types, offsets) and no file the library calls malformed.
 * Files are generated with random layout (block and flow, indentation, comments, quoting) from tricky
 * scalars, and mutated; the reader may leave any of them to the library, but what it reads must match.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { largeScenario } from '../../bench/validate.js';
import { syntaxTree } from '../../src/scenario/source.js';
import type { SyntaxNode } from '../../src/scenario/syntax-tree.js';
import { parseYamlSubset } from '../../src/scenario/yaml-subset.js';

function libraryTree(text: string) {
  const doc = parseDocument(text, { intAsBigInt: true, uniqueKeys: false, prettyErrors: false });
  return { errors: doc.errors.map((e) => e.message), tree: syntaxTree(doc) };
}

/** A tree as plain data (the subset reader's nodes compute their items and values when asked). */
function plain(node: SyntaxNode | undefined): unknown {
  if (node === undefined) return undefined;
  switch (node.kind) {
    case 'scalar':
      return { kind: node.kind, value: node.value, start: node.start, end: node.end };
    case 'map':
      return {
        kind: node.kind,
        start: node.start,
        items: node.items.map((p) => [plain(p.key), plain(p.value)]),
      };
    case 'seq':
      return { kind: node.kind, start: node.start, items: node.items.map(plain) };
    default:
      return { kind: node.kind, name: node.name, start: node.start, target: node.target?.start };
  }
}

/** What the property asserts of any text: the subset reader's tree, when it gives one, is the library's. */
function agrees(text: string): boolean {
  const fast = parseYamlSubset(text);
  if (fast === undefined) return false;
  const { errors, tree } = libraryTree(text);
  expect(errors, JSON.stringify(text)).toEqual([]);
  expect(plain(fast), JSON.stringify(text)).toEqual(plain(tree));
  return true;
}

const SCALARS = [
  ...['a', 'p0', 'qemu-a', 'buf', 'buf+2p', 'a:buf+3p', '8 pages', '16KiB', 'hello world', 'x#y', 'a-b'],
  ...['0', '12', '-5', '+5', '-0', '007', '0x1F', '0X1f', '0o17', '0o8', '1e3', '1E+3', '1.5', '.5', '1.'],
  ...['-1.5e-3', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', 'NaN', 'inf', '~', 'null', 'Null', 'NULL'],
  ...['nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'yes', 'no', 'on', '12345678901234567890'],
  ...['a: b', 'a:b', 'a :b', 'x #y', 'x,y', '[x]', '{x}', 'a]', 'b}', 'c,', '-x', '- x', '--', '-', '?x'],
  ...[':x', 'x:', 'x:y:z', "it's", 'say "hi"', '', ' lead', 'trail ', '\\', 'é', '日本', '😀', '&a', '*a'],
  ...['!t', '|', '>', '%', '@', '`', "'", '"', '#', 'a\nb', '\u0085', 'a\\nb', 'a  b', '---', '...'],
];
const KEYS = ['mmsim', 'steps', 'proc', 'addr', 'size', 'a b', 'x', '1', 'true', '~', 'a:b', 'k#', '-k'];

type Model = { scalar: string } | { map: [string, Model][] } | { seq: Model[] };

const model: fc.Arbitrary<Model> = fc.letrec<{ node: Model }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...SCALARS).map((scalar) => ({ scalar })),
    fc
      .array(fc.tuple(fc.constantFrom(...KEYS), tie('node')), { minLength: 1, maxLength: 4 })
      .map((map) => ({ map })),
    fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((seq) => ({ seq })),
  ),
})).node;

/** The random choices of a rendering, drawn one by one. */
type Choices = () => number;

function scalarText(s: string, pick: Choices): string {
  switch (pick() % 4) {
    case 0:
      return `'${s.replaceAll("'", "''")}'`;
    case 1:
      return JSON.stringify(s);
    case 2:
      return `"${[...s].map((c) => (pick() % 3 === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c)).join('')}"`;
    default:
      return s; // plain, whether or not that is valid here
  }
}

const spaces = (pick: Choices, max: number): string => ' '.repeat(pick() % (max + 1));
const comment = (pick: Choices): string => (pick() % 5 === 0 ? `${pick() % 2 ? ' ' : ''}# note: x` : '');

function flow(m: Model, pick: Choices, indent: number): string {
  const sep = (): string =>
    pick() % 6 === 0 ? `\n${' '.repeat(Math.max(0, indent + (pick() % 3) - 1))}` : spaces(pick, 2);
  if ('scalar' in m) return scalarText(m.scalar, pick);
  if ('seq' in m) return `[${sep()}${m.seq.map((x) => flow(x, pick, indent)).join(`,${sep()}`)}${sep()}]`;
  const entries = m.map.map(
    ([k, v]) => `${scalarText(k, pick)}${spaces(pick, 1)}:${sep() || ' '}${flow(v, pick, indent)}`,
  );
  return `{${sep()}${entries.join(`,${sep()}`)}${pick() % 9 === 0 ? ',' : ''}${sep()}}`;
}

/** `m` as block YAML whose lines start at `indent`; the first line's indentation is the caller's. */
function block(m: Model, pick: Choices, indent: number): string {
  const step = 1 + (pick() % 3);
  if ('scalar' in m || pick() % 4 === 0) return `${flow(m, pick, indent)}${comment(pick)}`;
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  const blank = (): void => {
    if (pick() % 8 === 0) lines.push(pick() % 2 ? '' : `${' '.repeat(pick() % 6)}# between`);
  };
  if ('seq' in m) {
    m.seq.forEach((item, i) => {
      if (i > 0) blank();
      const gap = ' '.repeat(1 + (pick() % 2));
      const compact = pick() % 3 !== 0;
      if (compact) lines.push(`${i === 0 ? '' : pad}-${gap}${block(item, pick, indent + 1 + gap.length)}`);
      else
        lines.push(
          `${i === 0 ? '' : pad}-${comment(pick)}\n${pad}${' '.repeat(step)}${block(item, pick, indent + step)}`,
        );
    });
    return lines.join('\n');
  }
  m.map.forEach(([k, v], i) => {
    if (i > 0) blank();
    const key = `${i === 0 ? '' : pad}${scalarText(k, pick)}${pick() % 10 === 0 ? ' ' : ''}:`;
    const nested = !('scalar' in v) && pick() % 2 === 0;
    if (!nested) lines.push(`${key} ${flow(v, pick, indent)}${comment(pick)}`);
    else {
      const at = 'seq' in v && pick() % 2 === 0 ? indent : indent + step; // a list may sit at its key's indentation
      lines.push(`${key}${comment(pick)}\n${' '.repeat(at)}${block(v, pick, at)}`);
    }
  });
  return lines.join('\n');
}

const rendered = fc
  .tuple(
    model,
    fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
    fc.nat(9).map((n) => n === 0),
  )
  .map(([m, numbers, bom]) => {
    let i = 0;
    const pick: Choices = () => numbers[i++ % numbers.length] + (i >> 6);
    const root: Model = 'map' in m ? m : { map: [['steps', m]] };
    return `${bom ? '\uFEFF' : ''}${pick() % 4 === 0 ? '# head\n' : ''}${block(root, pick, 0)}${pick() % 2 ? '\n' : ''}`;
  });

const MUTATIONS = [
  ' ',
  '  ',
  '\n',
  '\n  ',
  '-',
  '- ',
  ':',
  ': ',
  '#',
  ' #',
  ',',
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  'a',
  '\t',
  '\r\n',
  '&a ',
  '*a',
  '!',
  '|',
  '? ',
];

const mutated = fc
  .tuple(rendered, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...MUTATIONS), fc.nat(3)), { maxLength: 3 }))
  .map(([text, edits]) => {
    let t = text;
    for (const [at, insert, remove] of edits) {
      const p = at % (t.length + 1);
      t = t.slice(0, p) + insert + t.slice(p + remove);
    }
    return t;
  });

function scenarioFiles(): string[] {
  return ['examples', 'examples/bugs', 'test/scenario/examples', 'bench/spin'].flatMap((d) =>
    readdirSync(d)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => join(d, f)),
  );
}

describe('the plain-YAML reader', () => {
  it('reads every example scenario as the yaml library does (one with a folded block scalar is left to it)', () => {
    const left = scenarioFiles().filter((f) => !agrees(readFileSync(f, 'utf8')));
    expect(left).toEqual(['test/scenario/examples/ksm-merge-two-guests.yaml']);
  });

  it('reads the large benchmark scenario and its JSON form as the yaml library does', () => {
    const text = largeScenario(1000);
    expect(agrees(text)).toBe(true);
    expect(agrees(JSON.stringify(parseDocument(text).toJS(), null, 2))).toBe(true);
    expect(agrees(JSON.stringify(parseDocument(text).toJS()))).toBe(true);
  });

  it('reads generated files exactly as the yaml library does, or leaves them to it', () => {
    let read = 0;
    fc.assert(
      fc.property(rendered, (text) => {
        if (agrees(text)) read++;
      }),
      { numRuns: 3000, seed: 14 },
    );
    expect(read).toBeGreaterThan(300); // the reader is exercised, not just declining
  });

  it('reads mutated files exactly as the yaml library does, or leaves them to it', () => {
    let read = 0;
    fc.assert(
      fc.property(mutated, (text) => {
        if (agrees(text)) read++;
      }),
      { numRuns: 3000, seed: 15 },
    );
    expect(read).toBeGreaterThan(100);
  });

  it('leaves what it does not read to the library', () => {
    for (const text of [
      '',
      '# only a comment\n',
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      'a: |\n  text\n',
      'a:\n',
      'a:\n  b\n',
      '? a\n: b\n',
      '%YAML 1.2\n---\na: 1\n',
      'a: 1\n---\nb: 2\n',
      'a:\tb\n',
      'a: 1\r\nb: 2\r\n',
      'a: "multi\n  line"\n',
      'a: b\n  c\n',
      '[a, b, ]\n',
      '\uFEFFa: 1\n',
      `${'['.repeat(300)}${']'.repeat(300)}\n`,
    ])
      expect(parseYamlSubset(text), JSON.stringify(text)).toBeUndefined();
  });
});
