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
