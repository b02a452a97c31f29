/**
 * `mmsim oracle FILE [--kernel K] [--json]`: the scenario's primary-MMU part on the running Linux
 * kernel and in mmsim, compared (src/oracle). Exit 0 when every difference is explained, 1 when one is
 * not, 2 for a bad file or option, 3 when the real kernel cannot be used here (one line says why).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isKernelName, KERNEL_NAMES } from '../kernel/profiles.js';
import {
  EXIT_UNAVAILABLE,
  formatOracle,
  OracleRealKernelFailure,
  OracleScenarioError,
  OracleUnavailable,
  runOracle,
} from '../oracle/index.js';
import { formatError, parseScenario } from '../scenario/parse.js';
import type { Io } from './options.js';
import { UsageError } from './usage-error.js';

export const ORACLE_HELP = `Usage: mmsim oracle FILE [--kernel K] [--json]

Runs the primary-MMU part of a scenario (spawn, mmap, munmap, mprotect, madvise, write, read, fork,
exit, write pins as io_uring fixed buffers, read-only pins as O_DIRECT writes, ksm full scans) on the
running Linux kernel through a small C helper (compiled with cc, cached) and in mmsim, and compares at every step with its own expect and at
the end: which pages share a frame, zero page, KSM page, not present (pagemap + kpageflags), the KSM
counters and every step's outcome. Needs root; takes a machine-wide lock; restores every KSM knob.

Options:
  --kernel K   the profile to compare with (${KERNEL_NAMES.join(', ')}; default: the nearest
               to the running kernel)
  --json       print the result as JSON

Exit code 0 when mmsim and Linux agree or every difference is an expected version difference
(docs/FIDELITY.md), 1 for an unexplained difference, 2 for a bad file or option, 3 when the real
kernel cannot be used here.
`;

export function cmdOracle(args: string[], io: Io): number {
  let values: { kernel?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        kernel: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  if (values.help) {
    io.out(ORACLE_HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('oracle: expected one scenario FILE (see mmsim oracle --help)');
  const kernel = values.kernel;
  if (kernel !== undefined && !isKernelName(kernel))
    throw new UsageError(`--kernel: unknown kernel '${kernel}'; expected one of ${KERNEL_NAMES.join(', ')}`);
  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`);
  }
  const parsed = parseScenario(text, file);
  if (!parsed.ok) throw new UsageError(parsed.errors.map(formatError).join('\n'));
  try {
    const r = runOracle(parsed.scenario, { kernel });
    io.out(values.json ? `${JSON.stringify(r, null, 2)}\n` : formatOracle(r));
    return r.unexplainedCount === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof OracleUnavailable) {
      io.err(`mmsim oracle: ${e.message}\n`);
      return EXIT_UNAVAILABLE;
    }
    if (e instanceof OracleScenarioError)
      throw new UsageError(`${e.pos.file}:${e.pos.line}:${e.pos.col}: error: ${e.message}`);
    if (e instanceof OracleRealKernelFailure) {
      io.err(`mmsim oracle: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
