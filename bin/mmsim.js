#!/usr/bin/env node
// The mmsim command: the CLI compiled into dist/ (by `npm install` in a clone, `npm run build`, or the
// published package). `npm run mmsim -- ARGS` runs the TypeScript sources instead.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'entry.js');
if (existsSync(built)) await import(built);
else {
  process.stderr.write(
    `mmsim: ${built} is missing; build it with 'npm run build' (or run the sources: 'npm run mmsim -- ARGS')\n`,
  );
  process.exitCode = 2;
}
