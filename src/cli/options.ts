/** What every command shares: its Io, option parsing, and the checks of common option values. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  isKernelName,
  KERNEL_NAMES,
  type KernelName,
  type ProfileOverrides,
  parseProfileSetting,
} from '../kernel/profiles.js';
import { formatError, parseScenario } from '../scenario/parse.js';
import type { OutputOptions } from './output-file.js';
import { UsageError } from './usage-error.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdoutIsTty: boolean;
  /** Bytes for standard output (an output file named `-`); default: out() of their UTF-8 text. */
  outBytes?(chunk: Uint8Array): void;
}

export const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  outBytes: (b) => process.stdout.write(b),
  err: (t) => process.stderr.write(t),
  stdoutIsTty: process.stdout.isTTY === true,
};

export function readScenario(file: string) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError(`${file}: cannot read the file (${code})`);
  }
  const parsed = parseScenario(text, file);
  if (!parsed.ok) throw new UsageError(parsed.errors.map(formatError).join('\n'));
  return parsed.scenario;
}

export function kernelOption(v: string | undefined): KernelName | undefined {
  if (v === undefined) return undefined;
  if (!isKernelName(v))
    throw new UsageError(`--kernel: unknown kernel '${v}'; expected one of ${KERNEL_NAMES.join(', ')}`);
  return v;
}

/** `--kernel a,b,c`: each a profile, none twice. */
export function kernelListOption(v: string): KernelName[] {
  const list = v.split(',').map((k) => kernelOption(k.trim())!);
  const twice = list.find((k, i) => list.indexOf(k) !== i);
  if (twice !== undefined) throw new UsageError(`--kernel: ${twice} is listed twice`);
  return list;
}

export function seedOption(v: string | undefined, option = '--seed'): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 0xffff_ffff)
    throw new UsageError(`${option}: expected a non-negative integer below 2^32, got '${v}'`);
  return Number(v);
}

/** `--set FIELD=VALUE` (repeatable): what-if changes to the kernel profile. */
export function overridesOption(settings: string[] | undefined): ProfileOverrides | undefined {
  if (settings === undefined || settings.length === 0) return undefined;
  const o: ProfileOverrides = {};
  for (const s of settings) {
    const err = parseProfileSetting(s, o);
    if (err !== null) throw new UsageError(`--set: ${err}`);
  }
  return o;
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

export function parse(
  args: string[],
  options: OptionSpec,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const spec: OptionSpec = { ...options, help: { type: 'boolean' } };
  // `--seed -5`: a value that looks like an option is still this option's value (checked by its
  // command), not "ambiguous"; `-h` is --help
  const given: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      given.push(...args.slice(i));
      break;
    }
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    if (name !== undefined && spec[name]?.type === 'string' && !a.includes('=') && i + 1 < args.length) {
      given.push(`${a}=${args[++i]}`);
    } else given.push(a === '-h' ? '--help' : a);
  }
  try {
    const r = parseArgs({ args: given, options: spec, allowPositionals: true, strict: true, tokens: true });
    const seen = new Set<string>();
    for (const t of r.tokens ?? []) {
      if (t.kind !== 'option' || spec[t.name]?.multiple) continue;
      if (seen.has(t.name)) throw new UsageError(`--${t.name} given twice; give it once`);
      seen.add(t.name);
    }
    return {
      values: r.values as Record<string, string | boolean | string[] | undefined>,
      positionals: r.positionals,
    };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.replace(/\s*\n\s*/g, ' '));
  }
}

/** Output options for a command: the inputs it must not overwrite, and where `-` goes. */
export function outputOptions(option: string, inputs: readonly string[], io: Io): OutputOptions {
  return {
    option,
    inputs,
    stdout: io.outBytes ?? ((b: Uint8Array) => io.out(Buffer.from(b).toString('utf8'))),
  };
}
