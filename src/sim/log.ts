import { Digest } from './hash.js';

/** The kinds of thing the event log records. */
export type EventKind =
  | 'step' // a scenario step begins
  | 'fault' // a primary page fault (and how it was resolved)
  | 'pte' // a primary pte changed
  | 'tlb' // a CPU TLB flush
  | 'notify' // an mmu-notifier call (start, end, change_pte, invalidate_range, young, release)
  | 'secondary' // a secondary MMU changed its own translations or faulted
  | 'ksm' // ksmd did something worth seeing
  | 'violation'; // an invariant broke

export interface LogEvent {
  seq: number;
  agent: string;
  cpu: number;
  kind: EventKind;
  /** A short verb: 'wp_page_copy', 'invalidate_range_start', 'zap', ... */
  what: string;
  mm?: number;
  start?: number;
  end?: number;
  /** Notifier event name and flags, where relevant. */
  event?: string;
  flags?: string;
  oldPte?: string;
  newPte?: string;
  /** Begin/end of a bracket drawn as a slice in the trace viewer. */
  phase?: 'B' | 'E';
  detail?: string;
}

/**
 * The deterministic log of everything that happened. Recording can be off (benchmarks) — then only
 * the sequence number advances. The digest covers every recorded field, so equal logs hash equal.
 */
export class EventLog {
  readonly events: LogEvent[] = [];
  private seq = 0;
  private readonly digest = new Digest();

  constructor(
    public recording: boolean,
    /** Keep at most this many events in memory (the digest still covers all of them). */
    private readonly keep = 1_000_000,
  ) {}

  record(e: Omit<LogEvent, 'seq'>): void {
    const seq = this.seq++;
    if (!this.recording) return;
    const ev = { seq, ...e } as LogEvent;
    this.hashEvent(ev);
    if (this.events.length < this.keep) this.events.push(ev);
  }

  get length(): number {
    return this.seq;
  }

  hash(): string {
    return this.digest.hex();
  }

  private hashEvent(e: LogEvent): void {
    const d = this.digest;
    d.number(e.seq);
    d.string(e.agent);
    d.number(e.cpu + 1);
    d.string(e.kind);
    d.string(e.what);
    d.number((e.mm ?? -1) + 1);
    d.number(e.start ?? 0);
    d.number(e.end ?? 0);
    d.string(e.event ?? '');
    d.string(e.flags ?? '');
    d.string(e.oldPte ?? '');
    d.string(e.newPte ?? '');
    d.string(e.phase ?? '');
    d.string(e.detail ?? '');
  }
}

/** Chrome trace-event JSON (Perfetto and chrome://tracing open it): one track per agent, 1 event = 1 µs. */
export function toChromeTrace(events: readonly LogEvent[]): object {
  const tids = new Map<string, number>();
  const out: object[] = [];
  const tidOf = (agent: string): number => {
    let t = tids.get(agent);
    if (t === undefined) {
      t = tids.size + 1;
      tids.set(agent, t);
      out.push({ name: 'thread_name', ph: 'M', pid: 1, tid: t, args: { name: agent } });
    }
    return t;
  };
  out.push({ name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'mmsim' } });
  for (const e of events) {
    const args: Record<string, unknown> = { seq: e.seq, cpu: e.cpu };
    if (e.mm !== undefined) args.mm = e.mm;
    if (e.start !== undefined) args.start = `0x${e.start.toString(16)}`;
    if (e.end !== undefined) args.end = `0x${e.end.toString(16)}`;
    if (e.event) args.event = e.event;
    if (e.flags) args.flags = e.flags;
    if (e.oldPte) args.oldPte = e.oldPte;
    if (e.newPte) args.newPte = e.newPte;
    if (e.detail) args.detail = e.detail;
    const base = { name: e.what, cat: e.kind, pid: 1, tid: tidOf(e.agent), ts: e.seq, args };
    if (e.phase) out.push({ ...base, ph: e.phase });
    else out.push({ ...base, ph: 'X', dur: 1 });
  }
  return { traceEvents: out, displayTimeUnit: 'ns' };
}
