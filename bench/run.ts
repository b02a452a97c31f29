/**
 * `npm run bench`: every benchmark in bench/ (faults, memory, then ksm and any others), each in its own
 * Node process so one cannot disturb another's heap or JIT state. A benchmark module exports
 * `run(): Promise<void>`, or does its work when imported. `npm run bench -- faults` runs only the named ones.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const FIRST = ['faults', 'memory', 'ksm'];

async function child(file: string): Promise<void> {
  const mod = (await import(pathToFileURL(file).href)) as { run?: () => Promise<void> };
  if (typeof mod.run === 'function') await mod.run();
}

function benchmarks(only: string[]): string[] {
  const names = readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .filter((n) => only.length === 0 || only.includes(n));
  const rank = (n: string): number => (FIRST.includes(n) ? FIRST.indexOf(n) : FIRST.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    await child(process.argv[i + 1]);
    return;
  }
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  let failed = 0;
  for (const name of benchmarks(only)) {
    const file = join(here, `${name}.ts`);
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), '--child', file],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0) {
      failed++;
      console.error(`bench/${name}: failed (exit ${r.status ?? r.signal})`);
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
