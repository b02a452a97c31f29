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

export function seedOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 0xffff_ffff)
    throw new UsageError(`--seed: expected a non-negative integer below 2^32, got '${v}'`);
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
  try {
    const r = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return {
      values: r.values as Record<string, string | boolean | string[] | undefined>,
      positionals: r.positionals,
    };
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
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
