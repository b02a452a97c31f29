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
