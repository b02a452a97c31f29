/**
 * A trace file written from an event stream as the run produces it (never cut short): Perfetto's
 * native protobuf for large traces, Chrome trace-event JSON for small ones. The format follows the
 * name: `.json` is JSON; `.pftrace`, `.perfetto-trace`, `.pb` are protobuf; any other name (and `-`)
 * is JSON while the trace stays under AUTO_JSON_MAX_EVENTS events and protobuf once it grows past.
 * Either opens in Perfetto's UI; its JSON importer is the legacy path and fails near 1 GB.
 */
import type { LogEvent } from '../sim/log.js';
import { type Output, type OutputOptions, openOutput } from './output-file.js';
import { AUTO_JSON_MAX_EVENTS } from './run-limits.js';
import { JsonTraceEncoder } from './trace-json.js';
import { PerfettoTraceEncoder } from './trace-perfetto.js';

export { AUTO_JSON_MAX_EVENTS };

export type TraceFormat = 'json' | 'perfetto';

/** Turns an event stream into a trace file's bytes. */
export interface TraceEncoder {
  event(e: LogEvent): void;
  end(): void;
}

export interface TraceSummary {
  path: string;
  format: TraceFormat;
  events: number;
  bytes: number;
  /** Why this format, when the name did not say. */
  chosen?: string;
}

export interface TraceWriter {
  event(e: LogEvent): void;
  /** Write the end of the trace and commit the file. */
  finish(): TraceSummary;
  /** Give up: no file (see Output.abort). */
  abort(): void;
}

/** JSON past this size draws a warning (Perfetto's UI loads such JSON badly). */
export const JSON_WARN_BYTES = 256 * 1024 * 1024;

const PROTOBUF_SUFFIXES = ['.pftrace', '.perfetto-trace', '.pb'];

/** The format a trace file's name asks for; undefined: whichever suits its size. */
export function traceFormatOf(path: string): TraceFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (PROTOBUF_SUFFIXES.some((s) => lower.endsWith(s))) return 'perfetto';
  return undefined;
}

/** Open a trace output (checked at once: see openOutput). */
export function openTrace(path: string, o: OutputOptions): TraceWriter {
  return new StreamingTrace(openOutput(path, o), traceFormatOf(path));
}

/** Write a whole event list as a trace file. */
export function writeTrace(path: string, events: Iterable<LogEvent>, o: OutputOptions): TraceSummary {
  const t = openTrace(path, o);
  try {
    for (const e of events) t.event(e);
    return t.finish();
  } catch (e) {
    t.abort();
    throw e;
  }
}

/** One line for stderr: what was written, how big, in which format. */
export function describeTrace(s: TraceSummary): string {
  const format = s.format === 'json' ? 'Chrome trace-event JSON' : 'Perfetto protobuf';
  const where = s.path === '-' ? 'standard output' : s.path;
  let line = `trace: ${s.events.toLocaleString('en-US')} events, ${formatBytes(s.bytes)}, ${format}${s.chosen ? ` (${s.chosen})` : ''} -> ${where}`;
  if (s.format === 'json' && s.bytes > JSON_WARN_BYTES)
    line += `\n  warning: Perfetto's UI loads JSON this large slowly or not at all; name the file .pftrace for its native format`;
  return line;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

class StreamingTrace implements TraceWriter {
  private encoder: TraceEncoder | undefined;
  private format: TraceFormat | undefined;
  /** Events held back while the size decides the format. */
  private held: LogEvent[] | undefined;
  private count = 0;
  private chosen: string | undefined;

  constructor(
    private readonly out: Output,
    format: TraceFormat | undefined,
  ) {
    if (format === undefined) this.held = [];
    else this.start(format);
  }

  event(e: LogEvent): void {
    this.count++;
    if (this.held !== undefined) {
      this.held.push(e);
      if (this.held.length <= AUTO_JSON_MAX_EVENTS) return;
      this.chosen = `over ${AUTO_JSON_MAX_EVENTS.toLocaleString('en-US')} events`;
      this.release('perfetto');
      return;
    }
    this.encoder!.event(e);
  }

  finish(): TraceSummary {
    if (this.held !== undefined) {
      this.chosen = `${AUTO_JSON_MAX_EVENTS.toLocaleString('en-US')} events or fewer`;
      this.release('json');
    }
    this.encoder!.end();
    this.out.commit();
    return {
      path: this.out.path,
      format: this.format!,
      events: this.count,
      bytes: this.out.bytes,
      chosen: this.chosen,
    };
  }

  abort(): void {
    this.out.abort();
  }

  private release(format: TraceFormat): void {
    const held = this.held!;
    this.held = undefined;
    this.start(format);
    for (const e of held) this.encoder!.event(e);
  }

  private start(format: TraceFormat): void {
    this.format = format;
    this.encoder =
      format === 'json'
        ? new JsonTraceEncoder((s) => this.out.write(s))
        : new PerfettoTraceEncoder((b) => this.out.write(b));
  }
}
