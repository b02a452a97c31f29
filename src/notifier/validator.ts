/**
 * The seed's rule, enforced (docs/INVARIANTS.md item 5). A range carrying MMU_NOTIFIER_USE_CHANGE_PTE must
 * cover one page and change at most that one pte, last stored by set_pte_at_notify, with a transition
 * the rule allows:
 * - 'v2' (the RFC's v2, 19 Feb 2019): RW→RO same pfn; RO→RW same or new pfn; RO→RO new pfn. RO→RO with
 *   the same pfn (write_protect_page cleaning a dirty read-only pte after fork) is accepted too: it
 *   changes nothing a secondary MMU maps.
 * - 'strict' (the RFC v1 text, 31 Jan 2019): RW→RO same pfn; RO→RW new pfn. Under it the RFC's own
 *   replace_page (RO→RO new pfn) is a misuse — the contradiction the design notes point out.
 * A range whose pte changes back to what it was (write_protect_page's abort path) changes nothing.
 */

import { PAGE_SIZE } from '../hw/page.js';
import { formatPte, ptePfn, ptePresent, pteWrite } from '../hw/pte.js';
import type { Kernel, KernelObserver, PteWriter } from '../mm/kernel.js';
import type { Mm } from '../mm/mm.js';
import { EVENT_NAMES, type NotifierRange } from '../mm/notifier-port.js';
import type { Agent } from '../sim/exec.js';
import { mmuNotifierRangeUseChangePte } from './range.js';
import type { Violations } from './violations.js';

export type UseChangePteRule = 'v2' | 'strict';

interface Change {
  orig: number;
  last: number;
  via: PteWriter;
}

interface OpenRange {
  range: NotifierRange;
  agent: Agent;
  changes: Map<number, Change>;
}

/** Why a transition is outside the rule, or null if it is allowed. */
export function transitionVerdict(orig: number, next: number, rule: UseChangePteRule): string | null {
  if (!ptePresent(orig) || !ptePresent(next)) return 'the pte is not present before or after';
  const oldW = pteWrite(orig);
  const newW = pteWrite(next);
  const same = ptePfn(orig) === ptePfn(next);
  const kind = `${oldW ? 'RW' : 'RO'}->${newW ? 'RW' : 'RO'} with ${same ? 'the same' : 'a new'} pfn`;
  const allowed =
    rule === 'strict'
      ? (oldW && !newW && same) || (!oldW && newW && !same)
      : (oldW && !newW && same) || (!oldW && newW) || (!oldW && !newW);
  return allowed
    ? null
    : `${kind} is not allowed by the ${rule === 'strict' ? 'RFC v1 text' : 'RFC v2 rule'}`;
}

export class UseChangePteValidator implements KernelObserver {
  private readonly open: OpenRange[] = [];
  /** Flagged ranges checked, and how many broke the rule. */
  checked = 0;
  misuses = 0;

  constructor(
    private readonly k: Kernel,
    private readonly violations: Violations,
    public rule: UseChangePteRule = 'v2',
  ) {}

  onRangeStart(agent: Agent, range: NotifierRange): void {
    if (!mmuNotifierRangeUseChangePte(range)) return;
    this.open.push({ range, agent, changes: new Map() });
  }

  onPteChange(agent: Agent, mm: Mm, address: number, oldPte: number, newPte: number, via: PteWriter): void {
    if (this.open.length === 0) return;
    const vpn = address / PAGE_SIZE;
    for (const o of this.open) {
      // the rule is about what the range's owner does: another path's write (a racing zap) comes with
      // its own, unflagged range start/end
      if (o.agent !== agent) continue;
      if (o.range.mm !== mm || address < o.range.start || address >= o.range.end) continue;
      const c = o.changes.get(vpn);
      if (c === undefined) o.changes.set(vpn, { orig: oldPte, last: newPte, via });
      else {
        c.last = newPte;
        c.via = via;
      }
    }
  }

  onRangeEnd(_agent: Agent, range: NotifierRange): void {
    const i = this.open.findIndex((o) => o.range === range);
    if (i < 0) return;
    const [o] = this.open.splice(i, 1);
    this.checked++;
    const problems: string[] = [];
    const pages = (range.end - range.start) / PAGE_SIZE;
    if (pages !== 1) problems.push(`the range covers ${pages} pages, not one`);
    const net = [...o.changes.entries()].filter(([, c]) => c.last !== c.orig);
    if (net.length > 1) problems.push(`${net.length} ptes changed, not one`);
    for (const [vpn, c] of net) {
      const where = `0x${(vpn * PAGE_SIZE).toString(16)}`;
      if (c.via !== 'set_pte_at_notify')
        problems.push(`the pte at ${where} was last written by ${c.via}, not set_pte_at_notify`);
      const verdict = transitionVerdict(c.orig, c.last, this.rule);
      if (verdict !== null)
        problems.push(`at ${where}: ${verdict} (${formatPte(c.orig)} -> ${formatPte(c.last)})`);
    }
    if (problems.length === 0) return;
    this.misuses++;
    this.k.notifierCounters.useChangePteMisuse.inc();
    this.violations.report({
      invariant: 'use-change-pte',
      message: `${range.by} (${EVENT_NAMES[range.event]}) carries USE_CHANGE_PTE but ${problems.join('; ')}`,
      agents: [o.agent.name],
      addresses:
        net.length > 0
          ? net.map(([vpn]) => `mm${range.mm.id}:0x${(vpn * PAGE_SIZE).toString(16)}`)
          : [`mm${range.mm.id}:0x${range.start.toString(16)}`],
    });
  }
}
