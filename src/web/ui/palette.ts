/**
 * Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies), and every state also
 * has a letter, so nothing is told by colour alone.
 */
import type { PageStateName } from '../model/snapshot.js';

export const PAGE_COLOURS: Record<PageStateName, string> = {
  none: '#eeeeee',
  zero: '#F0E442',
  anon: '#56B4E9',
  cow: '#E69F00',
  ksm: '#009E73',
  pinned: '#D55E00',
  shared: '#CC79A7',
};

export const PAGE_LETTERS: Record<PageStateName, string> = {
  none: '',
  zero: 'z',
  anon: 'a',
  cow: 'c',
  ksm: 'K',
  pinned: 'P',
  shared: 's',
};

/** Secondary entries: none, read-only, writable, and the stale ones (mapping another frame). */
export const SECONDARY_COLOURS = ['#eeeeee', '#0072B2', '#000000', '#D55E00', '#D55E00'] as const;
export const SECONDARY_LETTERS = ['', 'R', 'W', '!', '!'] as const;
export const SECONDARY_LABELS = [
  'no entry',
  'read-only',
  'writable',
  'stale (read-only, another frame)',
  'stale (writable, another frame)',
] as const;

/** Outline of a cell that changed since the previous point, and of one that differs between kernels. */
export const CHANGED_OUTLINE = '#000000';
export const DIFFERS_OUTLINE = '#CC79A7';

/** Black or white, whichever reads better on `background` (#rrggbb), by relative luminance. */
export function textOn(background: string): string {
  const c = [1, 3, 5].map((i) => {
    const v = Number.parseInt(background.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  return l > 0.179 ? '#000000' : '#ffffff';
}
