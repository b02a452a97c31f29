/** Run the mmsim command in-process and capture what it prints (shared by the CLI tests). */
import { type Io, main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
  /** Standard output as bytes (a binary trace written to `-`). */
  outBytes: Buffer;
}

export function runCli(...argv: string[]): CliResult {
  let err = '';
  const chunks: Buffer[] = [];
  const io: Io = {
    out: (t) => chunks.push(Buffer.from(t, 'utf8')),
    outBytes: (b) => chunks.push(Buffer.from(b)),
    err: (t) => (err += t),
    stdoutIsTty: false,
  };
  const code = main(argv, io);
  const outBytes = Buffer.concat(chunks);
  return { code, out: outBytes.toString('utf8'), err, outBytes };
}

/** No stack trace in a message. */
export const STACK_LINE = /\n\s+at .+:\d+:\d+\)?/;
