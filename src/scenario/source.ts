/**
 * Turning scenario text into a syntax tree whose every node has a known `line:col`, and collecting
 * errors against those positions. Plain YAML (and JSON) is read by yaml-subset.ts; anything else, and
 * every file with a syntax error, by the yaml library, whose document becomes the same tree. JSON is
 * valid YAML 1.2, so one path serves both; only the wording of syntax errors depends on which the file
 * looks like.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { SourcePos } from './ast.js';
import { findJsonSyntaxError } from './json-syntax.js';
import type { MapPair, SyntaxNode } from './syntax-tree.js';
import { parseYamlSubset } from './yaml-subset.js';

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

/** Where each line of a text starts: offset to 1-based line and column. */
export class LineIndex {
  private readonly starts: number[] = [0];
  /** The line found last: readers ask about nearby offsets in turn. */
  private last = 0;

  constructor(text: string) {
    for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) this.starts.push(at + 1);
  }

  linePos(offset: number): { line: number; col: number } {
    const starts = this.starts;
    const last = this.last;
    if (starts[last] <= offset && (last + 1 === starts.length || offset < starts[last + 1]))
      return { line: last + 1, col: offset - starts[last] + 1 };
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    this.last = low;
    return { line: low + 1, col: offset - starts[low] + 1 };
  }
}

/** The errors found in one file, each at a 1-based line and column. */
export class Diagnostics {
  private readonly errors: ScenarioError[] = [];

  constructor(
    readonly file: string,
    private readonly lines: LineIndex,
    /** A byte-order mark is a character to the parser but no column to an editor. */
    private readonly startsWithBom = false,
  ) {}

  /** The position of a character offset into the text. */
  at(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(Math.max(0, offset));
    const shift = line === 1 && this.startsWithBom ? 1 : 0;
    return { file: this.file, line, col: Math.max(1, col - shift) };
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
  /** The document's root; undefined when the document is empty. */
  root: SyntaxNode | undefined;
  diagnostics: Diagnostics;
  format: SourceFormat;
  /** True when the text is not well-formed YAML/JSON (the errors are already reported). */
  syntaxErrors: boolean;
}

export function loadSource(text: string, file: string): LoadedSource {
  const diagnostics = new Diagnostics(file, new LineIndex(text), text.startsWith('\uFEFF'));
  let format = detectFormat(text, file);
  const jsonError = format === 'json' ? findJsonSyntaxError(text) : undefined;
  if (jsonError === undefined) {
    const root = parseYamlSubset(text);
    if (root !== undefined) return { root, diagnostics, format, syntaxErrors: false };
  }
  const doc = parseDocument(text, {
    // Integers come back as bigint so that precision loss above 2^53 is detected, not silent.
    intAsBigInt: true,
    // Duplicate keys are reported by the reader, which can name the key and its first occurrence.
    uniqueKeys: false,
    prettyErrors: false,
  });
  if (jsonError && (/\.json$/i.test(file) || doc.errors.length > 0)) {
    diagnostics.report(diagnostics.at(jsonError.offset), `invalid JSON: ${jsonError.message}`);
    return { root: undefined, diagnostics, format, syntaxErrors: true };
  }
  if (jsonError) format = 'yaml'; // not JSON after all, but well-formed YAML flow style
  for (const error of doc.errors) {
    const message = error.message.replace(/\s+/g, ' ').trim();
    diagnostics.report(
      diagnostics.at(error.pos[0]),
      `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${message}`,
    );
  }
  return { root: syntaxTree(doc), diagnostics, format, syntaxErrors: doc.errors.length > 0 };
}

/**
 * The yaml library's document as a syntax tree. Nodes are visited in document order, so an alias finds
 * the latest anchor of its name before it, as the library's own resolution does.
 */
export function syntaxTree(doc: Document.Parsed): SyntaxNode | undefined {
  const anchors = new Map<string, SyntaxNode>();
  const convert = (node: unknown): SyntaxNode | undefined => {
    if (isAlias(node)) {
      const start = node.range?.[0] ?? 0;
      return { kind: 'alias', name: node.source, target: anchors.get(node.source), start };
    }
    if (!isScalar(node) && !isMap(node) && !isSeq(node)) return undefined;
    const start = node.range?.[0] ?? 0;
    let converted: SyntaxNode;
    if (isScalar(node)) {
      const value = node.value;
      const scalar =
        value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value)
          ? (value as string | number | bigint | boolean | null)
          : String(value);
      converted = { kind: 'scalar', value: scalar, start, end: node.range?.[1] ?? start };
      if (node.anchor) anchors.set(node.anchor, converted);
      return converted;
    }
    if (isMap(node)) {
      const items: MapPair[] = [];
      converted = { kind: 'map', items, start };
      if (node.anchor) anchors.set(node.anchor, converted);
      for (const pair of node.items) items.push({ key: convert(pair.key), value: convert(pair.value) });
      return converted;
    }
    const items: (SyntaxNode | undefined)[] = [];
    converted = { kind: 'seq', items, start };
    if (node.anchor) anchors.set(node.anchor, converted);
    for (const item of node.items) items.push(convert(item));
    return converted;
  };
  return convert(doc.contents);
}
