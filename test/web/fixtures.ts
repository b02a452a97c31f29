/**
 * A counterexample built the way the model checker reports one (check/counterexample.ts), from a known
 * failing schedule of example 20 (found by `mmsim run ... --explore 2 --set kvmChangePteBumpsSeq=false`):
 * the browser tests replay it without depending on `mmsim check`.
 */
import { readFileSync } from 'node:fs';
import type { Counterexample, CounterexampleTransition } from '../../src/check/counterexample.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioRun } from '../../src/scenario/run.js';
import { explain } from '../../src/web/model/explain.js';

export const RACE_FILE = 'examples/20-race-fault-vs-merge.yaml';
export const RACE_SCHEDULE = '0*7,1*2,0*2,1';

export function raceCounterexample(): Counterexample {
  const text = readFileSync(RACE_FILE, 'utf8');
  const parsed = parseScenario(text, RACE_FILE);
  if (!parsed.ok) throw new Error(parsed.errors[0].message);
  const transitions: CounterexampleTransition[] = [];
  const pauses = [0, 0];
  let logged = 0;
  let offending = -1;
  const run = new ScenarioRun(parsed.scenario, {
    kernel: 'rfc-2019',
    profileOverrides: { kvmChangePteBumpsSeq: false },
    schedule: RACE_SCHEDULE,
    // the steps before the `parallel` are no transition's
    onStep: (_index, _step, world) => {
      if (transitions.length === 0) logged = world.kernel.machine.log.events.length;
    },
    onTransition: (index, thread, world) => {
      const log = world.kernel.machine.log.events;
      const events = log.slice(logged).map(explain);
      logged = log.length;
      const from = pauses[thread] === 0 ? 'start' : `pause ${pauses[thread]}`;
      pauses[thread]++;
      transitions.push({
        index,
        thread,
        cpu: thread,
        from,
        to: `pause ${pauses[thread]}`,
        events,
        preemptions: 0,
      });
      if (offending < 0 && world.violations.list.length > 0) offending = transitions.length - 1;
    },
  });
  const result = run.run();
  const v = result.violations[0];
  if (v === undefined) throw new Error('the schedule no longer fails: find a new one with --explore 2');
  return {
    format: 'mmsim-counterexample',
    version: 1,
    file: RACE_FILE,
    scenario: text,
    kernel: 'rfc-2019',
    overrides: { kvmChangePteBumpsSeq: false },
    schedule: RACE_SCHEDULE,
    preemptions: 2,
    problem: { kind: 'invariant', invariant: v.invariant, message: v.message },
    threads: ['ksmd', 'vcpu'],
    transitions,
    offending: offending < 0 ? transitions.length - 1 : offending,
  };
}
