/**
 * Turning scenario text into a YAML document whose every node has a known `line:col`, and collecting
 * errors against those positions. JSON is valid YAML 1.2, so one parser (with one LineCounter) serves
 * both; only the wording of syntax errors depends on which the file looks like.
 */
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { SourcePos } from './ast.js';
import { findJsonSyntaxError } from './json-syntax.js';

export interface ScenarioError extends SourcePos {
  message: string;
}

/** `file:line:col: error: message`, the form editors and terminals turn into links. */
export function formatError(error: ScenarioError): string {
  return `${error.file}:${error.line}:${error.col}: error: ${error.message}`;
}

export type SourceFormat = 'yaml' | 'json';

/**
 * How a file is meant: by its extension, else by its first character. A `.json` file must be strict
 * JSON; text that merely starts with `{` or `[` may still be YAML flow style (`{mmsim: 1}`).
 */
export function detectFormat(text: string, file: string): SourceFormat {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  return /^\uFEFF?\s*[{[]/.test(text) ? 'json' : 'yaml';
}

/** The errors found in one file, each at a 1-based line and column. */
export class Diagnostics {
  private readonly errors: ScenarioError[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    /** A byte-order mark is a character to the parser but no column to an editor. */
    private readonly startsWithBom = false,
  ) {}

  /** The position of a character offset into the text. */
  at(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(Math.max(0, offset));
    const shift = line === 1 && this.startsWithBom ? 1 : 0;
    return { file: this.file, line: Math.max(1, line), col: Math.max(1, col - shift) };
  }

  report(pos: SourcePos, message: string): void {
    this.errors.push({ ...pos, message });
  }

  get count(): number {
    return this.errors.length;
  }

  /** All errors in file order, each reported once. */
  sorted(): ScenarioError[] {
    const seen = new Set<string>();
    return this.errors
      .filter((e) => {
        const key = `${e.line}:${e.col}:${e.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => a.line - b.line || a.col - b.col);
  }
}

export interface LoadedSource {
  doc: Document.Parsed;
  diagnostics: Diagnostics;
  format: SourceFormat;
  /** True when the text is not well-formed YAML/JSON (the errors are already reported). */
  syntaxErrors: boolean;
}

export function loadSource(text: string, file: string): LoadedSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    // Integers come back as bigint so that precision loss above 2^53 is detected, not silent.
    intAsBigInt: true,
    // Duplicate keys are reported by the reader, which can name the key and its first occurrence.
    uniqueKeys: false,
    prettyErrors: false,
  });
  const diagnostics = new Diagnostics(file, lines, text.startsWith('\uFEFF'));
  let format = detectFormat(text, file);
  const jsonError = format === 'json' ? findJsonSyntaxError(text) : undefined;
  if (jsonError && (/\.json$/i.test(file) || doc.errors.length > 0)) {
    diagnostics.report(diagnostics.at(jsonError.offset), `invalid JSON: ${jsonError.message}`);
    return { doc, diagnostics, format, syntaxErrors: true };
  }
  if (jsonError) format = 'yaml'; // not JSON after all, but well-formed YAML flow style
  for (const error of doc.errors) {
    const message = error.message.replace(/\s+/g, ' ').trim();
    diagnostics.report(
      diagnostics.at(error.pos[0]),
      `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${message}`,
    );
  }
  return { doc, diagnostics, format, syntaxErrors: doc.errors.length > 0 };
}
