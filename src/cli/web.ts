/**
 * `mmsim web [FILE]`: the browser visualizer. Checks FILE first (a scenario, or a checker result to
 * replay), so bad input is reported here as it is by every command; then builds the page if needed,
 * serves it on 127.0.0.1 and prints the URL, which carries FILE. The server runs until Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { readCheckerFile } from '../web/model/checker-file.js';
import { counterexampleLink, DEFAULT_PORT, scenarioLink, startWeb } from '../web/server.js';
import { type Io, kernelOption, parse, readScenario } from './options.js';
import { UsageError } from './usage-error.js';

export const WEB_HELP = `Usage: mmsim web [FILE] [--kernel K] [--compare K] [--port N]

Serves the browser visualizer on 127.0.0.1 and prints its URL (building the page first if it is
missing or older than the sources). The model runs in the browser; the server only hands out files.
FILE opens in the page: a scenario (YAML or JSON), or a model-checker result (the JSON of
mmsim check --json or --counterexample OUT), whose counterexample is replayed transition by transition.

Options:
  --kernel K     show the scenario under kernel K (default: the file's)
  --compare K    and side by side under kernel K, differing cells marked
  --port N       the port (default ${DEFAULT_PORT}, or any free one if that is taken)

Examples:
  mmsim web
  mmsim web examples/08-guest-after-merge-v5.0.yaml --compare rfc-2019
`;

export function cmdWeb(args: string[], io: Io): number {
  const { values, positionals } = parse(args, {
    kernel: { type: 'string' },
    compare: { type: 'string' },
    port: { type: 'string' },
  });
  if (values.help) {
    io.out(WEB_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('web: expected at most one FILE');
  const kernel = kernelOption(values.kernel as string | undefined) ?? '';
  const compare = kernelOption(values.compare as string | undefined) ?? '';
  const portText = values.port as string | undefined;
  if (portText !== undefined && !(/^\d+$/.test(portText) && Number(portText) <= 65535))
    throw new UsageError(`--port: expected a port number (0-65535), got '${portText}'`);
  const file = positionals[0];
  let hash = '';
  if (file !== undefined) {
    const text = readText(file);
    if (/^\s*\{/.test(text) && /"format"\s*:\s*"mmsim-(counterexample|check)"/.test(text)) {
      if (kernel || compare)
        throw new UsageError(
          'web: a counterexample replays on its own kernel; --kernel and --compare do not apply',
        );
      const r = readCheckerFile(text);
      if (!r.ok) throw new UsageError(`${file}: ${r.error}`);
      hash = counterexampleLink(text);
    } else {
      readScenario(file); // file:line:col errors, exit 2
      hash = scenarioLink(file, text, kernel, compare);
    }
  } else if (kernel || compare) throw new UsageError('web: --kernel and --compare need a FILE');
  startWeb({ hash, port: portText === undefined ? undefined : Number(portText) }, io.out).catch(
    (e: unknown) => {
      io.err(`mmsim web: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
  return 0;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`);
  }
}
