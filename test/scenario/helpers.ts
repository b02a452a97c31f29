import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Expectation, Scenario, Step } from '../../src/scenario/ast.js';
import { formatError, parseScenario } from '../../src/scenario/parse.js';

export const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'examples');

/** The example scenarios shipped with the tests: [file name, text]. */
export function examples(): [string, string][] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => [f, readFileSync(join(EXAMPLES_DIR, f), 'utf8')]);
}

/** Parses text that must be valid, failing the test with the formatted errors otherwise. */
export function parseOk(text: string, file = 'test.yaml'): Scenario {
  const result = parseScenario(text, file);
  if (!result.ok)
    expect.fail(`expected a valid scenario, got:\n${result.errors.map(formatError).join('\n')}`);
  return result.scenario;
}

/** Parses text that must be invalid; returns the errors as `line:col: message` strings. */
export function errorsOf(text: string, file = 'test.yaml'): string[] {
  const result = parseScenario(text, file);
  if (result.ok) expect.fail('expected errors, but the scenario is valid');
  return result.errors.map((e) => `${e.line}:${e.col}: ${e.message}`);
}

/** A YAML scenario around some step lines (each indented under `steps:`) and optional expect lines. */
export function scenarioWith(steps: string[], expectations: string[] = []): string {
  const lines = ['mmsim: 1'];
  if (steps.length > 0) lines.push('steps:', ...steps.map((s) => `  ${s}`));
  if (expectations.length > 0) lines.push('expect:', ...expectations.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/** The one step of a scenario whose preamble spawns `p` with mappings `buf` (4 pages) and `buf2`. */
export const PREAMBLE = [
  '- spawn: p',
  '- mmap: { proc: p, size: 4p, prot: rw, as: buf }',
  '- mmap: { proc: p, size: 4p, prot: rw, as: buf2 }',
];

export function lastStep(text: string): Step {
  const steps = parseOk(text).steps;
  return steps[steps.length - 1];
}

export function onlyExpectation(text: string): Expectation {
  const expectations = parseOk(text).expect;
  expect(expectations).toHaveLength(1);
  return expectations[0];
}

/** Drops positions (and texts) so ASTs compare by content. */
export function withoutPositions<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v) => (key === 'pos' ? undefined : v)));
}
