/**
 * Every command a user is shown works: each `mmsim` command in README.md (its sh blocks and inline
 * code) and in the Examples of every --help text runs without a usage error, internal error or stack
 * trace; each `npm run X` names a script. Experiments run at --scale 0.05 here (full size is the
 * benchmark's business); output files go to a temporary directory; `oracle` (root and the running
 * kernel) is only validated here, test/oracle runs it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, STACK_LINE } from './run-cli.js';

const readme = readFileSync('README.md', 'utf8');
const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;

/** Splits a shell command line into words (quotes kept together, a trailing `# comment` dropped). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(#.*$)|(\S+)/g)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4]);
  }
  return out;
}

/** The commands README.md shows: every line of its sh blocks, and inline code that is a command. */
function readmeCommands(): string[] {
  const lines: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g))
    for (const line of block[1].split('\n')) if (line.trim() !== '') lines.push(line.trim());
  for (const m of readme.matchAll(/`((?:npx |sudo )*(?:mmsim|npm) [^`]*)`/g)) lines.push(m[1]);
  return lines.flatMap((l) => l.split(' && ').map((c) => c.trim()));
}

/** The commands the main help lists, from its "Commands:" section. */
function commandNames(): string[] {
  const help = runCli('--help').out;
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.slice(0, section.indexOf('\n\n')).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]);
}

/** The example lines of a help text: the lines under "Example(s):" that start with `mmsim`. */
function helpExamples(help: string): string[] {
  const out: string[] = [];
  for (const m of help.matchAll(/^Examples?:\n((?: {2}.*\n?)*)/gm))
    for (const line of m[1].split('\n')) if (line.trim().startsWith('mmsim ')) out.push(line.trim());
  return out;
}

/** Each distinct command (its words, without sudo/npx and comments) -> where it is first shown. */
const shown = new Map<string, string>();
const show = (line: string, where: string): void => {
  const w = words(line);
  while (w[0] === 'sudo' || w[0] === 'npx') w.shift();
  const key = w.join(' ');
  if (!shown.has(key)) shown.set(key, where);
};
for (const c of readmeCommands()) show(c, 'README.md');
for (const c of helpExamples(runCli('--help').out)) show(c, 'mmsim --help');
for (const name of commandNames())
  for (const c of helpExamples(runCli(name, '--help').out)) show(c, `mmsim ${name} --help`);

const out = mkdtempSync(join(tmpdir(), 'mmsim-documented-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The mmsim arguments of a command line, made safe to run here; or why it is not run. */
function prepare(argv: string[]): string[] | { skip: string } {
  const args = [...argv];
  if (args[0] === 'oracle') return { skip: 'needs root and the running kernel (test/oracle runs it)' };
  if (args[0] === 'web') return { skip: 'serves until stopped (test/web/cli-web.test.ts runs it)' };
  for (let i = 0; i < args.length - 1; i++)
    if ((args[i] === '--trace' || args[i] === '--svg') && args[i + 1] !== '-')
      args[i + 1] = join(out, basename(args[i + 1]));
  if (args[0] === 'experiment' && !args.includes('--scale')) args.push('--scale', '0.05');
  return args;
}

describe('every command README.md and the --help texts show', () => {
  it('finds the commands (README sh blocks and inline code, every help text)', () => {
    expect(commandNames()).toEqual(
      expect.arrayContaining(['run', 'validate', 'experiment', 'list', 'oracle']),
    );
    expect([...shown.values()]).toEqual(expect.arrayContaining(['README.md', 'mmsim run --help']));
    expect(shown.size).toBeGreaterThan(20);
  });

  for (const [line, where] of shown) {
    it(`${line}  (${where})`, (ctx) => {
      const w = line.split(' ');
      const placeholders = w.filter((x) => /^[A-Z]+$/.test(x) || /[[\]|<>]/.test(x));
      expect(placeholders, 'a command shown to users has no placeholders').toEqual([]);
      if (w[0] === 'npm') {
        const script = w[1] === 'run' ? w[2] : w[1];
        if (w[1] !== 'install') expect(Object.keys(scripts), line).toContain(script);
        return;
      }
      expect(w[0]).toBe('mmsim');
      const args = prepare(w.slice(1));
      if ('skip' in args) {
        const file = w.find((x) => /\.(ya?ml|json)$/.test(x));
        if (file !== undefined) expect(runCli('validate', file).code, `${file} validates`).toBe(0);
        console.log(`not run: ${line} (${args.skip})`);
        ctx.skip(args.skip);
        return;
      }
      const r = runCli(...args);
      expect(r.err, line).not.toMatch(/error:|internal error|^mmsim: (?!trace:|warning:)/m);
      expect(r.err + r.out).not.toMatch(STACK_LINE);
      // 1 is an answer (a scenario or schedule that breaks an invariant, shown on purpose)
      expect([0, 1], `${line}: exit ${r.code}\n${r.err}`).toContain(r.code);
    });
  }
});
