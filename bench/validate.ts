/**
 * bench/validate: parsing a large scenario (issue 14: a 10 MB, 200k-step file must validate in under
 * 2 s and 300 MB). `largeScenario()` generates the file; `npm run bench -- validate` times
 * parseScenario on it (what `mmsim validate` does) and reports the peak memory of this process.
 * `tsx bench/validate.ts --write FILE` writes the file for trying the command itself.
 */
import { writeFileSync } from 'node:fs';
import { parseScenario } from '../src/scenario/parse.js';

/** A scenario of `steps` steps (writes, reads and madvise over 4 processes' mappings), about 50 bytes each. */
export function largeScenario(steps = 200_000): string {
  const lines = ['mmsim: 1', 'name: large', 'checks: { invariants: at_end }', 'steps:'];
  const procs = ['p0', 'p1', 'p2', 'p3'];
  for (const p of procs)
    lines.push(`  - spawn: ${p}`, `  - mmap: { proc: ${p}, size: 1024p, prot: rw, as: buf }`);
  for (let i = lines.length - 4; i < steps; i++) {
    const p = procs[i % procs.length];
    const page = (i * 7) % 1024;
    switch (i % 4) {
      case 0:
        lines.push(`  - write: { proc: ${p}, addr: buf+${page}p, fill: ${i % 256} }`);
        break;
      case 1:
        lines.push(`  - read: { proc: ${p}, addr: buf+${page}p, size: 64 }`);
        break;
      case 2:
        lines.push(
          `  - write: { proc: ${p}, addr: "buf+0x${(page * 4096 + 16).toString(16)}", data: hello }`,
        );
        break;
      default:
        lines.push(`  - madvise: { proc: ${p}, addr: buf+${page}p, size: 1p, advice: mergeable }`);
    }
  }
  lines.push('expect:', '  - invariants: hold');
  return `${lines.join('\n')}\n`;
}

export async function run(): Promise<void> {
  const text = largeScenario();
  const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const parsed = parseScenario(text, 'large.yaml');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (!parsed.ok) throw new Error(`the generated scenario does not parse: ${parsed.errors[0]?.message}`);
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(
    `== bench/validate: ${(text.length / 1e6).toFixed(1)} MB, ${parsed.scenario.steps.length} steps ==`,
  );
  // CPU time too: on a shared machine the wall clock also counts the time spent waiting for a core
  console.log(
    `  parse + checks: ${seconds.toFixed(2)} s (target < 2 s); CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
  );
  console.log(`  peak memory (max RSS): ${mb(peak)} MiB (target < 300 MB; ${mb(before)} MiB before parsing)`);
}

const w = process.argv.indexOf('--write');
if (w >= 0) writeFileSync(process.argv[w + 1], largeScenario());
