/**
 * race: is each kernel's protocol safe when a guest's EPT fault races a KSM merge of the page it faults
 * on? For each kernel the scheduler explores seeded random interleavings of ksmd (write_protect_page,
 * replace_page) and the vCPU's fault (seq read, gfn_to_pfn, mmu_lock, retry check, install) at every
 * preemption point, and the checker sweeps the invariants. The last row is the RFC's KVM patch on a
 * 2021-era KVM whose change_pte() no longer bumps mmu_notifier_seq: the random walk finds the stale spte.
 */

import { exploreScenario } from '../check/explore.js';
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { ScenarioDocument } from '../scenario/document.js';
import { parseScenario } from '../scenario/parse.js';
import { runScenario } from '../scenario/run.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './types.js';

/** The race as a scenario document (the same file format users write). */
export const RACE_SCENARIO: ScenarioDocument = {
  mmsim: 1,
  name: 'race-fault-vs-merge',
  steps: [
    { spawn: 'qemu-a' },
    { spawn: 'qemu-b' },
    { mmap: { proc: 'qemu-a', size: '1 page', prot: 'rw', as: 'ram' } },
    { mmap: { proc: 'qemu-b', size: '1 page', prot: 'rw', as: 'ram' } },
    { madvise: { proc: 'qemu-a', addr: 'ram', size: '1p', advice: 'mergeable' } },
    { madvise: { proc: 'qemu-b', addr: 'ram', size: '1p', advice: 'mergeable' } },
    { vm: { name: 'vm1', proc: 'qemu-a', memslots: [{ gfn: 0, addr: 'ram', size: '1 page' }] } },
    { vm: { name: 'vm2', proc: 'qemu-b', memslots: [{ gfn: 0, addr: 'ram', size: '1 page' }] } },
    { write: { proc: 'qemu-a', addr: 'ram', pattern: { seed: 4 } } },
    { guest: { vm: 'vm2', op: 'write', gfn: 0, pattern: { seed: 4 } } },
    { ksm: { full_scans: 1 } },
    { parallel: { threads: [[{ ksm: { full_scans: 1 } }], [{ guest: { vm: 'vm1', op: 'read', gfn: 0 } }]] } },
    { guest: { vm: 'vm1', op: 'read', gfn: 0 } },
    { ksm: { full_scans: 2 } },
  ],
  expect: [{ same_frame: ['qemu-a:ram', 'qemu-b:ram'] }],
};

interface Variant {
  label: string;
  kernel: KernelName;
  overrides?: ProfileOverrides;
}

export const race: Experiment = {
  name: 'race',
  description: 'model-check a guest fault racing a KSM merge: violating interleavings per kernel',
  defaultKernels: ['v3.2', 'v5.0', 'rfc-2019', 'rfc-2019-aa', 'v6.10'],
  run(opts: ExperimentOptions): ExperimentResult {
    const parsed = parseScenario(JSON.stringify(RACE_SCENARIO, null, 2), 'race-fault-vs-merge');
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
    const interleavings = Math.max(10, Math.round(100 * opts.scale));
    // the exhaustive pass: every schedule with at most this many preemptions (2 finds the 2021-KVM race)
    const bound = opts.scale >= 1 ? 2 : 1;
    const variants: Variant[] = opts.kernels.map((k) => ({
      label: k,
      kernel: k,
      overrides: opts.profileOverrides,
    }));
    if (opts.profileOverrides === undefined && opts.kernels.includes('rfc-2019')) {
      variants.push({
        label: 'rfc-2019/kvm2021',
        kernel: 'rfc-2019',
        overrides: { kvmChangePteBumpsSeq: false },
      });
    }
    const total = variants.length * interleavings;
    let done = 0;
    const records = variants.map((v) => {
      const hashes = new Set<string>();
      let violating = 0;
      let firstSeed = 0;
      let invariant = '';
      let retries = 0;
      for (let i = 0; i < interleavings; i++) {
        const seed = opts.seed + i;
        const r = runScenario(parsed.scenario, {
          kernel: v.kernel,
          interleave: seed,
          profileOverrides: v.overrides,
        });
        hashes.add(r.traceHash);
        retries += r.counters['kvm.vm1.retries'] ?? 0;
        if (r.violations.length > 0) {
          violating++;
          if (firstSeed === 0) {
            firstSeed = seed;
            invariant = r.violations[0].invariant;
          }
        }
        opts.progress?.(++done, total);
      }
      const exhaustive = exploreScenario(parsed.scenario, {
        kernel: v.kernel,
        profileOverrides: v.overrides,
        maxPreemptions: bound,
        maxRuns: 20_000,
      });
      return {
        kernel: v.label,
        [`schedules_le_${bound}_preemptions`]: exhaustive.schedules,
        [`failing_le_${bound}_preemptions`]: exhaustive.failing,
        exhaustive_complete: exhaustive.complete ? 'yes' : 'no',
        interleavings,
        distinct: hashes.size,
        violating,
        first_violating_interleave: firstSeed === 0 ? '-' : firstSeed,
        invariant: invariant || '-',
        fault_retries: retries,
      };
    });
    const unsafe = records.filter(
      (r) =>
        (r.violating > 0 || Number(r[`failing_le_${bound}_preemptions`]) > 0) &&
        r.kernel !== 'rfc-2019/kvm2021',
    );
    return {
      name: 'race',
      title: 'race: a guest EPT fault racing a KSM merge, model-checked per kernel',
      summary: `For each kernel: every schedule with at most ${bound} preemption(s) of ksmd merging a page and vm1's vCPU faulting on it (exhaustive), then ${interleavings} seeded random interleavings; every invariant is checked at every access and after every step.`,
      columns: [
        { header: 'kernel' },
        { header: `exhaustive\n<=${bound} preempt`, align: 'right' },
        { header: '\nfailing', align: 'right' },
        { header: 'random\nwalks', align: 'right' },
        { header: '\nviolating', align: 'right' },
        { header: 'first\nseed', align: 'right' },
        { header: '\ninvariant' },
      ],
      rows: records.map((r) => [
        r.kernel,
        r[`schedules_le_${bound}_preemptions`],
        r[`failing_le_${bound}_preemptions`],
        r.interleavings,
        r.violating,
        r.first_violating_interleave,
        r.invariant,
      ]),
      records,
      notes: [
        "Every modelled kernel survives the race: on v5.0 and v6.10 invalidate_range_start raises mmu_notifier_count and the fault retries; on rfc-2019 the flagged range is invisible to KVM, and it is change_pte()'s mmu_notifier_seq++ (v5.0 KVM) that makes the fault retry.",
        "The last row is the RFC's KVM patch on a KVM whose change_pte() no longer bumps the sequence (removed in 2021): a fault that read the old pfn installs it after replace_page. Replay it with: mmsim run examples/20-race-fault-vs-merge.yaml --set kvmChangePteBumpsSeq=false --interleave N (or --explore 2 for every schedule with two preemptions).",
      ],
      chart: {
        title: 'Violating interleavings per kernel',
        categories: records.map((r) => r.kernel),
        series: [
          { name: 'violating interleavings', values: records.map((r) => r.violating) },
          { name: 'distinct traces', values: records.map((r) => r.distinct) },
        ],
      },
      violations: unsafe.length,
    };
  },
};
