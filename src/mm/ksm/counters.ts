/** KSM's counters: the files of /sys/kernel/mm/ksm of the same names, declared once (see CounterGroup). */
import { declareCounters } from '../../sim/counters.js';

export const KSM_COUNTERS = declareCounters('ksm', {
  pages_shared: 'KSM pages in use (stable tree pages)',
  pages_sharing: 'how many more sites share them (the memory saved, in pages)',
  pages_unshared: 'unique pages checked repeatedly for merging (unstable tree items)',
  pages_volatile: 'pages changing too fast to be placed in a tree',
  ksm_zero_pages: 'zero pages KSM mapped in place of empty pages (use_zero_pages; v6.5+ profiles)',
  full_scans: 'how many times every mergeable area has been scanned',
  pages_scanned: 'pages ksmd has looked at',
  stable_node_chains: 'stable node chains (pages with more sharers than max_page_sharing)',
  stable_node_dups: 'stable node dups queued into the chains',
});
