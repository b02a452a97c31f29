/**
 * The headline experiment: what MMU_NOTIFIER_USE_CHANGE_PTE changes, per kernel profile. A fleet of
 * guests booted from one image is merged by KSM; then every guest reads all its memory and writes some
 * of it. Under v5.0 (and v6.10) KSM's invalidate_range_start zaps each merged page's spte and the guest
 * takes one EPT fault per merged page afterwards; under v3.2 and with the RFC, change_pte() re-points
 * the spte and the guest does not fault.
 */
import { DEFAULT_FLEET, runFleet, scaledFleet } from './fleet.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

export const changePte: Experiment = {
  name: 'change-pte',
  description: 'guest faults after a KSM merge, per kernel: what the USE_CHANGE_PTE flag saves',
  defaultKernels: ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'],
  run(opts: ExperimentOptions): ExperimentResult {
    const params = scaledFleet(opts.scale);
    const total = opts.kernels.length * (params.guests + 2);
    let done = 0;
    const outcomes = opts.kernels.map((k) =>
      runFleet(k, opts.seed, params, () => opts.progress?.(++done, total), opts.profileOverrides),
    );
    const columns = [
      { header: 'kernel' },
      { header: 'pages\nsharing', align: 'right' as const },
      { header: 'guest faults\nafter merge', align: 'right' as const },
      { header: 'sptes zapped\nby merge', align: 'right' as const },
      { header: 'change_pte\nupd/miss', align: 'right' as const },
      { header: 'remote\nflushes', align: 'right' as const },
      { header: 'viola-\ntions', align: 'right' as const },
    ];
    const rows = outcomes.map((o) => [
      o.kernel,
      o.pagesSharing,
      o.read.guestFaults + o.write.guestFaults,
      o.merge.sptesZapped,
      `${o.merge.changePteUpdates}/${o.merge.changePteMisses}`,
      o.merge.remoteTlbFlushes + o.read.remoteTlbFlushes + o.write.remoteTlbFlushes,
      o.violations,
    ]);
    const records = outcomes.map((o) => ({
      kernel: o.kernel,
      pages_shared: o.pagesShared,
      pages_sharing: o.pagesSharing,
      full_scans: o.fullScans,
      guest_faults_after_merge: o.read.guestFaults + o.write.guestFaults,
      guest_faults_read_phase: o.read.guestFaults,
      guest_faults_write_phase: o.write.guestFaults,
      guest_retries_after_merge: o.read.retries + o.write.retries,
      sptes_zapped_by_merge: o.merge.sptesZapped,
      change_pte_updates_by_merge: o.merge.changePteUpdates,
      change_pte_misses_by_merge: o.merge.changePteMisses,
      remote_tlb_flushes: o.merge.remoteTlbFlushes + o.read.remoteTlbFlushes + o.write.remoteTlbFlushes,
      notifier_ranges: o.notifierStarts,
      use_change_pte_ranges: o.useChangePteRanges,
      violations: o.violations,
    }));
    const base = outcomes.find((o) => o.kernel === 'v5.0');
    const notes: string[] = [];
    if (base !== undefined) {
      for (const o of outcomes) {
        if (o.kernel === 'v5.0') continue;
        const saved =
          base.read.guestFaults + base.write.guestFaults - (o.read.guestFaults + o.write.guestFaults);
        if (saved > 0)
          notes.push(
            `${o.kernel} saves ${saved} guest faults against v5.0 (${o.pagesSharing} pages sharing).`,
          );
      }
    }
    notes.push(
      `Workload: ${params.guests} guests x ${params.pagesPerGuest} pages (${Math.round(DEFAULT_FLEET.sharedFraction * 100)}% a common image), KSM until stable, then each guest reads all its pages and writes every ${params.writeEvery}th. Counters are the model's kvm.* counters summed over the guests.`,
    );
    const violations = outcomes.reduce((a, o) => a + o.violations, 0);
    if (violations > 0)
      notes.push(`INVARIANT VIOLATIONS: ${violations} — see 'mmsim run' on a scenario to replay.`);
    return {
      name: 'change-pte',
      title: 'change-pte: guest faults after a KSM merge, per kernel',
      summary:
        'A fleet of KVM guests booted from one image is merged by KSM, then every guest touches its memory again. With MMU_NOTIFIER_USE_CHANGE_PTE (rfc-2019) or before the 2012 wrap (v3.2), change_pte() keeps the sptes; v5.0 and v6.10 zap them and the guests fault again.',
      columns,
      rows,
      records,
      notes,
      chart: {
        title: 'Guest EPT faults after the KSM merge',
        categories: outcomes.map((o) => o.kernel),
        series: [
          {
            name: 'guest faults after merge',
            values: outcomes.map((o) => o.read.guestFaults + o.write.guestFaults),
          },
          { name: 'sptes zapped by merge', values: outcomes.map((o) => o.merge.sptesZapped) },
          { name: 'change_pte updates', values: outcomes.map((o) => o.merge.changePteUpdates) },
        ],
        yLabel: 'count',
      },
      violations,
    };
  },
};
