/** How results describe frames and bytes (expectations' and read checks' `actual`). */
import { ZERO_PFN } from '../hw/frames.js';

export function describeFrame(pfn: number, ksm = false): string {
  if (pfn < 0) return 'not mapped';
  if (pfn === ZERO_PFN) return 'zero page';
  return `pfn 0x${pfn.toString(16)}${ksm ? ' (KSM)' : ''}`;
}

export function describeBytes(bytes: readonly number[]): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (printable) return JSON.stringify(String.fromCharCode(...bytes));
  return `[${bytes.slice(0, 16).join(', ')}${bytes.length > 16 ? ', ...' : ''}]`;
}

/**
 * Bytes as a result's `actual` value: the text itself when every byte is printable ASCII, else the
 * byte values (a plain string or a plain array in JSON, never JSON inside a string).
 */
export function bytesValue(bytes: readonly number[]): string | number[] {
  return bytes.every((b) => b >= 0x20 && b < 0x7f) ? String.fromCharCode(...bytes) : [...bytes];
}
