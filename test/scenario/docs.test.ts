/**
 * docs/SCENARIO.md and docs/INVARIANTS.md stay in step with the parser: every key, step field, value
 * and counter a file may write is named there (the JSON schema test keeps the schema equal to the
 * parser, so walking the schema walks what the parser accepts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXPECTATION_KINDS, INVARIANT_NAMES, KERNEL_NAMES } from '../../src/scenario/ast.js';
import { counterListing } from '../../src/scenario/counters.js';
import { TOP_LEVEL_KEYS } from '../../src/scenario/parse.js';
import { type JsonSchema, scenarioSchema } from '../../src/scenario/schema.js';
import { stepFields, stepOps } from '../../src/scenario/steps/index.js';

const scenarioDoc = readFileSync('docs/SCENARIO.md', 'utf8');
const invariantsDoc = readFileSync('docs/INVARIANTS.md', 'utf8');

function mentions(doc: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_$])${escaped}($|[^A-Za-z0-9_])`, 'm').test(doc);
}

/** Every property name and every enum or const string of a JSON schema. */
function schemaWords(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) schemaWords(item, into);
  else if (node !== null && typeof node === 'object') {
    const o = node as JsonSchema;
    if (o.properties !== undefined) for (const key of Object.keys(o.properties as object)) into.add(key);
    if (Array.isArray(o.enum)) for (const v of o.enum) if (typeof v === 'string') into.add(v);
    if (typeof o.const === 'string') into.add(o.const);
    for (const [key, value] of Object.entries(o))
      if (key !== 'description' && key !== 'examples') schemaWords(value, into);
  }
  return into;
}

/** The table row of docs/SCENARIO.md that starts with `name`. */
function row(name: string): string {
  return scenarioDoc.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? '';
}

/** `faults.{a, b}` and `kvm.NAME.{c}` in the text, spelled out: faults.a, faults.b, kvm.NAME.c. */
function counterNames(doc: string): Set<string> {
  const names = new Set<string>();
  for (const m of doc.matchAll(/`([a-z]+(?:\.NAME)?)\.\{([^}]*)\}`/g))
    for (const c of m[2].split(',')) names.add(`${m[1]}.${c.trim()}`);
  for (const m of doc.matchAll(/`([a-z]+(?:\.NAME)?\.[a-z_]+)`/g)) names.add(m[1]);
  return names;
}

describe('docs/SCENARIO.md', () => {
  it('names every top-level key, kernel and expectation kind', () => {
    const missing = [...TOP_LEVEL_KEYS, ...KERNEL_NAMES].filter((w) => !mentions(scenarioDoc, w));
    expect(missing).toEqual([]);
    // an expectations-table entry is written as in a file: `same_frame: [a, b, ...]`
    expect(EXPECTATION_KINDS.filter((k) => !scenarioDoc.includes(`\`${k}: `))).toEqual([]);
  });

  it("names every step in a row of its own, with each of the step's fields", () => {
    const missing = stepOps().flatMap((op) =>
      row(op) === ''
        ? [op]
        : stepFields(op)
            .filter((f) => !mentions(row(op), f))
            .map((f) => `${op}.${f}`),
    );
    expect(missing).toEqual([]);
  });

  it('names every key and value the JSON schema (so the parser) accepts', () => {
    const missing = [...schemaWords(scenarioSchema())].filter(
      (w) => !w.startsWith('$') && !mentions(scenarioDoc, w),
    );
    expect(missing).toEqual([]);
  });

  it('names every counter', () => {
    const named = counterNames(scenarioDoc);
    expect(
      counterListing()
        .map(([name]) => name)
        .filter((n) => !named.has(n)),
    ).toEqual([]);
  });

  it('is what the README and the help link to', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('(docs/SCENARIO.md)');
    expect(readFileSync('README.md', 'utf8')).toContain('(docs/INVARIANTS.md)');
  });
});

describe('docs/INVARIANTS.md', () => {
  it('names every invariant a violation or a violations: expectation can name', () => {
    expect(INVARIANT_NAMES.filter((n) => !mentions(invariantsDoc, `\`${n}\``))).toEqual([]);
  });
});
