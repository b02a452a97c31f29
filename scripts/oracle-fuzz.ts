/**
 * `npm run oracle:fuzz -- [--runs N] [--seed S] [--max-steps K] [--out DIR]`: differential fuzzing of
 * mmsim against the running kernel (src/oracle/fuzz.ts). Exit 0 when every sequence agreed, 1 with the
 * shrunk scenario of a difference written to DIR (default oracle-found/), 2 for a bad option, 3 when
 * the real kernel cannot be used here.
 */
import { parseArgs } from 'node:util';
import { fuzz } from '../src/oracle/fuzz.js';
import { EXIT_UNAVAILABLE, unavailableReason } from '../src/oracle/index.js';

function int(name: string, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  if (!/^\d+$/.test(text)) {
    console.error(`oracle:fuzz: --${name} expects a whole number, got '${text}'`);
    process.exit(2);
  }
  return Number(text);
}

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      'max-steps': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  }));
} catch (e) {
  console.error(`oracle:fuzz: ${(e as Error).message.split('\n')[0]}`);
  process.exit(2);
}
const reason = unavailableReason();
if (reason !== null) {
  console.error(`oracle:fuzz: ${reason}`);
  process.exit(EXIT_UNAVAILABLE);
}
const runs = int('runs', values.runs, 1000);
const seed = int('seed', values.seed, Date.now() % 1_000_000_007);
const r = await fuzz({
  runs,
  seed,
  maxSteps: int('max-steps', values['max-steps'], 16),
  outDir: values.out ?? 'oracle-found',
});
const per = r.compared > 0 ? (r.ms / r.compared).toFixed(1) : '0';
console.log(
  `oracle:fuzz seed ${seed}: ${r.compared} sequences (${r.steps} steps) compared in ${(r.ms / 1000).toFixed(1)} s, ${per} ms per sequence (Linux ${(r.realMs / 1000).toFixed(1)} s, mmsim ${(r.modelMs / 1000).toFixed(1)} s)`,
);
const seen = Object.entries(r.exercised).sort((a, b) => b[1] - a[1]);
console.log(`exercised (sequences): ${seen.map(([what, n]) => `${what} ${n}`).join(', ')}`);
if (r.found === null) console.log('no difference');
else {
  console.log(`a difference, shrunk to ${r.found.file}:`);
  console.log(r.found.text);
}
process.exit(r.found === null ? 0 : 1);
