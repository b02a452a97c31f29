/**
 * One path per step, whichever driver runs it: every example runs under the sequential driver and under
 * the interleaving driver with a trivial schedule (each thread to completion, in order) and leaves the
 * same trace, event for event.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/parse.js';
import { formatEvent, ScenarioRun } from '../../src/scenario/run.js';

const dirs = ['examples', 'examples/bugs', 'test/scenario/examples'];
const files = dirs.flatMap((d) =>
  readdirSync(d)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(d, f)),
);

function trace(file: string, schedule?: string): { events: string[]; hash: string; ok: boolean } {
  const parsed = parseScenario(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(`${file} does not parse`);
  const run = new ScenarioRun(parsed.scenario, schedule === undefined ? {} : { schedule });
  const result = run.run();
  return { events: run.events.map(formatEvent), hash: result.traceHash, ok: result.ok };
}

describe('both drivers run the same paths', () => {
  it('there are examples with parallel steps among them', () => {
    expect(files.some((f) => readFileSync(f, 'utf8').includes('parallel:'))).toBe(true);
  });

  it.each(files)('%s: sequential and trivially scheduled traces are identical', (file) => {
    const sequential = trace(file);
    const scheduled = trace(file, '');
    expect(scheduled.events).toEqual(sequential.events);
    expect(scheduled.hash).toBe(sequential.hash);
    expect(scheduled.ok).toBe(sequential.ok);
  });

  it('a schedule that preempts changes the trace (the comparison can fail)', () => {
    const file = 'examples/20-race-fault-vs-merge.yaml';
    expect(trace(file, '1').events).not.toEqual(trace(file).events);
  });
});
