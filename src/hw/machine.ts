import { Counters } from '../sim/counters.js';
import { EventLog } from '../sim/log.js';
import { ContentStore } from './content.js';
import { TLB_COUNTERS } from './counters.js';
import { FrameTable } from './frames.js';
import { Tlb } from './tlb.js';

export interface MachineConfig {
  /** Physical frames (RAM / 4 KiB), frame 0 included. */
  frames: number;
  cpus: number;
  /** Record every event in the log (off for benchmarks: only counters then). */
  recording: boolean;
}

/** The hardware: RAM (frames + contents), CPUs with their TLBs, and the counters and log everything shares. */
export class Machine {
  readonly frames: FrameTable;
  readonly contents = new ContentStore();
  readonly tlbs: Tlb[];
  readonly counters = new Counters();
  readonly log: EventLog;
  private readonly flushLocal: number;
  private readonly flushRemote: number;

  constructor(readonly config: MachineConfig) {
    this.frames = new FrameTable(config.frames);
    this.tlbs = Array.from({ length: config.cpus }, () => new Tlb());
    this.log = new EventLog(config.recording);
    this.flushLocal = this.counters.slot(TLB_COUNTERS.name('flush_local'));
    this.flushRemote = this.counters.slot(TLB_COUNTERS.name('flush_remote'));
  }

  /**
   * flush_tlb_page / flush_tlb_range from `cpu` for an mm active on `cpumask`: the local CPU flushes
   * itself, every other CPU in the mask takes a shootdown IPI (counted once per flush as remote).
   */
  flushTlb(cpu: number, mmId: number, cpumask: ReadonlySet<number>, startVpn: number, endVpn: number): void {
    let remote = false;
    for (const c of cpumask) {
      const tlb = this.tlbs[c];
      if (endVpn - startVpn <= 32) for (let v = startVpn; v < endVpn; v++) tlb.flushPage(mmId, v);
      else tlb.flushMm(mmId);
      if (c !== cpu) remote = true;
    }
    this.counters.values[this.flushLocal]++;
    if (remote) this.counters.values[this.flushRemote]++;
  }
}
