/**
 * The notifier calls of a step as brackets: invalidate_range_start ... (change_pte, the secondaries'
 * reactions, the pte writes) ... invalidate_range_end, per agent, with whether change_pte found a live
 * secondary translation to re-point (hit) or nothing (miss). A change_pte outside any range (v3.2) is a
 * bracket of its own.
 */
import { pteText } from '../../mm/event-text.js';
import { detailText, type LogEvent } from '../../sim/log.js';

export interface BracketItem {
  /** Index of the event within the step. */
  event: number;
  text: string;
  /** For change_pte: did a subscriber update a live translation? */
  hit?: boolean;
}

export interface Bracket {
  agent: string;
  /** The kernel function that opened the range: 'write_protect_page', 'replace_page', ... */
  by: string;
  start?: number;
  end?: number;
  flags: string;
  /** Event indices of the start and end calls (end -1 while still open at the step's end). */
  open: number;
  close: number;
  items: BracketItem[];
}

export function bracketsOf(events: readonly LogEvent[]): Bracket[] {
  const out: Bracket[] = [];
  const open = new Map<string, Bracket[]>();
  const top = (agent: string): Bracket | undefined => {
    const s = open.get(agent);
    return s === undefined ? undefined : s[s.length - 1];
  };
  let lastChangePte: BracketItem | undefined;
  events.forEach((e, i) => {
    if (e.kind === 'notify' && e.what.startsWith('invalidate_range_start')) {
      const b: Bracket = {
        agent: e.agent,
        by: detailText(e) ?? e.what.split(' ')[1] ?? '?',
        start: e.start,
        end: e.end,
        flags: e.flags ?? '',
        open: i,
        close: -1,
        items: [],
      };
      out.push(b);
      const s = open.get(e.agent) ?? [];
      s.push(b);
      open.set(e.agent, s);
      return;
    }
    if (e.kind === 'notify' && e.what.startsWith('invalidate_range_end')) {
      const s = open.get(e.agent);
      const b = s?.pop();
      if (b !== undefined) b.close = i;
      return;
    }
    const b = top(e.agent);
    if (e.kind === 'notify' && e.what === 'change_pte') {
      const item: BracketItem = { event: i, text: `change_pte → ${pteText(e.newPte)}`, hit: false };
      lastChangePte = item;
      if (b !== undefined) b.items.push(item);
      else
        out.push({
          agent: e.agent,
          by: 'change_pte',
          start: e.start,
          flags: '',
          open: i,
          close: i,
          items: [item],
        });
      return;
    }
    if (e.kind === 'secondary' && e.what.startsWith('change_pte:') && lastChangePte !== undefined) {
      if (e.what === 'change_pte: remap spte') lastChangePte.hit = true;
    }
    if (b !== undefined && (e.kind === 'secondary' || e.kind === 'pte' || e.kind === 'tlb')) {
      const detail = detailText(e);
      b.items.push({ event: i, text: `${e.what}${detail ? ` (${detail})` : ''}` });
    }
  });
  return out;
}
