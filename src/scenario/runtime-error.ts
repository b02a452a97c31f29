/**
 * Problems of a scenario file that only show when running it (a mapping whose mmap failed), reported
 * like parse errors at file:line:col. What can be known without running (bytes past a mapping's end) the
 * parser reports itself, in the same words.
 */
import type { AddrExpr, SourcePos } from './ast.js';

export class ScenarioRuntimeError extends Error {
  constructor(
    readonly pos: SourcePos,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes outside their mapping: the parser's and the runner's message. */
export function outsideMapping(a: AddrExpr, len: number, size: number): string {
  return `${a.text} (+${a.offset} bytes${len > 1 ? `, ${len} long` : ''}) is outside mapping ${a.base} (${size} bytes); expected an offset below ${size}`;
}
