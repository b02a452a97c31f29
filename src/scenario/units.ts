/**
 * The small languages inside scenario strings: sizes (`16KiB`, `8 pages`), page counts (`8p`), names,
 * and address expressions (`parent:buf+3p`). Pure string functions; the YAML layer reports the errors.
 */
import { PAGE_SIZE } from './ast.js';

/** A parsed value, or what was expected and (optionally) what exactly is wrong with the text. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string; problem?: string };

export const SIZE_EXPECTED = 'a size (4096, 0x1000, 16KiB, 2MiB, 1GiB, 8 pages or 8p)';
export const PAGE_COUNT_EXPECTED =
  'a page count (8, 8p, 8 pages, or a size that is whole pages such as 2MiB)';
export const ADDRESS_EXPECTED =
  'an address (buf, buf+3p, buf+0x10, buf+2 pages, 0x7f0000000000, or process-qualified: parent:buf+2p)';

/**
 * Names of processes, VMs, devices, IOMMU bindings and pins. A dash is allowed (`guest-a`);
 * counters such as `kvm.NAME.faults` are split on dots, so a name has none.
 */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Mapping names appear in `buf-1p`, so unlike other names they cannot contain a dash. */
export const MAPPING_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const NAME_EXPECTED = 'a name (letters, digits, _ and -, starting with a letter or _)';
export const MAPPING_NAME_EXPECTED = 'a mapping name (letters, digits and _, starting with a letter or _)';

/**
 * Unit names are looked up in Maps, never on plain objects: a unit written as `constructor` or
 * `toString` must be an unknown unit, not Object.prototype's function.
 */
const UNIT_BYTES: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['B', 1],
  ['KiB', 1024],
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
  ['TiB', 1024 ** 4],
  ['p', PAGE_SIZE],
  ['page', PAGE_SIZE],
  ['pages', PAGE_SIZE],
]);

/** Decimal and SI spellings people type by habit, mapped to the binary unit they almost surely meant. */
const UNIT_HINTS: ReadonlyMap<string, string> = new Map([
  ['K', 'KiB'],
  ['KB', 'KiB'],
  ['k', 'KiB'],
  ['kB', 'KiB'],
  ['M', 'MiB'],
  ['MB', 'MiB'],
  ['G', 'GiB'],
  ['GB', 'GiB'],
  ['T', 'TiB'],
  ['TB', 'TiB'],
]);

const NUMBER_WITH_UNIT = /^(0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?)\s*([A-Za-z]*)$/;

function unitProblem(unit: string): string {
  const meant =
    UNIT_HINTS.get(unit) ?? [...UNIT_BYTES.keys()].find((u) => u.toLowerCase() === unit.toLowerCase());
  if (meant) return `unknown unit '${unit}': did you mean '${meant}'? Units are binary and case-sensitive`;
  return `unknown unit '${unit}': use B, KiB, MiB, GiB, TiB, or p / pages`;
}

/** `number * unit`, exactly (decimal fractions are allowed when the result is a whole number of bytes). */
function scaledBytes(numberText: string, unitBytes: number): Parsed<number> {
  const fail = (problem: string): Parsed<number> => ({ ok: false, expected: SIZE_EXPECTED, problem });
  // the common case, exact in doubles: a short decimal integer times a unit (both below 2^53)
  if (numberText.length <= 9 && /^\d+$/.test(numberText)) {
    const product = Number(numberText) * unitBytes;
    if (Number.isSafeInteger(product)) return { ok: true, value: product };
  }
  let bytes: bigint;
  if (/^0[xX]/.test(numberText)) {
    bytes = BigInt(numberText) * BigInt(unitBytes);
  } else {
    const [whole, fraction = ''] = numberText.split('.');
    const scale = 10n ** BigInt(fraction.length);
    const scaled = BigInt(whole + fraction) * BigInt(unitBytes);
    if (scaled % scale !== 0n) return fail('that is not a whole number of bytes');
    bytes = scaled / scale;
  }
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return fail('too large (the limit is 2^53 - 1 bytes)');
  return { ok: true, value: Number(bytes) };
}

/** A size in bytes: `4096`, `0x1000`, `16KiB`, `16 KiB`, `1.5MiB`, `8 pages`, `8p`, `100B`. */
export function parseSize(text: string): Parsed<number> {
  const trimmed = text.trim();
  const match = NUMBER_WITH_UNIT.exec(trimmed);
  if (!match) {
    const problem = trimmed.startsWith('-') ? 'a size cannot be negative' : undefined;
    return { ok: false, expected: SIZE_EXPECTED, problem };
  }
  const [, numberText, unit] = match;
  const unitBytes = UNIT_BYTES.get(unit);
  if (unitBytes === undefined) return { ok: false, expected: SIZE_EXPECTED, problem: unitProblem(unit) };
  return scaledBytes(numberText, unitBytes);
}

/** A count of pages: `8`, `8p`, `8 pages`, `1 page`, or a size that is a whole number of pages (`2MiB`). */
export function parsePageCount(text: string): Parsed<number> {
  const trimmed = text.trim();
  const bare = /^(0[xX][0-9a-fA-F]+|\d+)$/.exec(trimmed);
  const bytes = parseSize(bare ? `${trimmed}p` : trimmed);
  if (!bytes.ok) return { ok: false, expected: PAGE_COUNT_EXPECTED, problem: bytes.problem };
  if (bytes.value % PAGE_SIZE !== 0) {
    return {
      ok: false,
      expected: PAGE_COUNT_EXPECTED,
      problem: `${bytes.value} bytes is not a whole number of pages`,
    };
  }
  return { ok: true, value: bytes.value / PAGE_SIZE };
}

/** An address expression, without its position (the YAML layer adds that). */
export interface ParsedAddress {
  proc?: string;
  base?: string;
  offset: number;
  text: string;
}

const QUALIFIED = /^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$/s;
const INTEGER = /^(0[xX][0-9a-fA-F]+|\d+)$/;

/**
 * `[proc:](name|number)(('+'|'-') size)*`, e.g. `buf`, `buf+3p`, `buf + 0x10`, `buf+2 pages`,
 * `buf+1p+16`, `buf-1p`, `0x7f0000000000`, `parent:buf+2p`. Without a mapping name the result is an
 * absolute address, which must be >= 0.
 */
export function parseAddress(text: string): Parsed<ParsedAddress> {
  const fail = (problem?: string): Parsed<ParsedAddress> => ({
    ok: false,
    expected: ADDRESS_EXPECTED,
    problem,
  });
  const trimmed = text.trim();
  if (trimmed === '') return fail('it is empty');

  let proc: string | undefined;
  let rest = trimmed;
  const qualified = QUALIFIED.exec(trimmed);
  if (qualified) {
    [, proc, rest] = qualified;
    if (rest.trim() === '') return fail(`nothing follows '${proc}:'`);
  } else if (trimmed.includes(':')) {
    return fail(`'${trimmed.slice(0, trimmed.indexOf(':'))}' is not a process name`);
  }

  // Split into terms at + and -, keeping the sign of each term.
  const parts = rest.split(/([+-])/);
  const head = parts[0].trim();
  let base: string | undefined;
  let offset = 0;
  if (MAPPING_NAME_PATTERN.test(head)) {
    base = head;
  } else if (INTEGER.test(head)) {
    offset = Number(BigInt(head));
    if (!Number.isSafeInteger(offset)) return fail('the address is larger than 2^53 - 1');
  } else if (head === '') {
    return fail('it must start with a mapping name or a number');
  } else {
    return fail(`'${head}' is neither a mapping name nor a number`);
  }

  for (let i = 1; i < parts.length; i += 2) {
    const sign = parts[i] === '-' ? -1 : 1;
    const term = (parts[i + 1] ?? '').trim();
    if (term === '') return fail(`an offset is missing after '${parts[i]}'`);
    const size = parseSize(term);
    if (!size.ok) return fail(`'${term}' is not an offset (bytes such as 16 or 0x10, or 3p, 2 pages, 4KiB)`);
    offset += sign * size.value;
  }
  if (!Number.isSafeInteger(offset)) return fail('the address is larger than 2^53 - 1');
  if (base === undefined && offset < 0) return fail('the address is negative');
  return { ok: true, value: { proc, base, offset, text: trimmed } };
}

/** Edit distance counting a swap of neighbours as one edit (typos swap letters), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate to a misspelt word, if one is close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.min(3, Math.ceil(word.length / 3)));
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    // Replacing every letter is not a typo ('r' is not a misspelt 'p').
    if (distance <= bestDistance && distance < Math.max(word.length, candidate.length)) {
      best = candidate;
      bestDistance = distance - 1;
      if (distance === 0) break;
    }
  }
  return best;
}

/** ` (did you mean 'x'?)` or nothing. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const suggestion = closest(word, candidates);
  return suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;
}
