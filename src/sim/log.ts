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
 * Memory keeps the first `keep` events; a sink (attach) sees every one as it happens, so a trace can
 * be streamed to disk whatever its length.
 */
export class EventLog {
  readonly events: LogEvent[] = [];
  private seq = 0;
  private readonly digest = new Digest();
  private sink: ((e: LogEvent) => void) | undefined;

  constructor(
    public recording: boolean,
    /**
     * Keep at most this many events in memory (the digest still covers all of them; a sink sees all).
     * Small: a long run's retained events cost more in garbage collection than the run itself (16
     * guests x 64 MiB as a scenario: 8.4 s CPU and 850 MB with a million kept, 5.4 s and 155 MB with
     * ten thousand).
     */
    private readonly keep = 10_000,
  ) {}

  record(e: Omit<LogEvent, 'seq'>): void {
    const seq = this.seq++;
    if (!this.recording) return;
    // the caller's fresh object, completed in place: a spread copy took V8's slow clone path (a hidden
    // class per event), the largest cost of a long run
    const ev = e as LogEvent;
    ev.seq = seq;
    this.hashEvent(ev);
    if (this.events.length < this.keep) this.events.push(ev);
    this.sink?.(ev);
  }

  /** Send every event to `sink`: those kept so far at once, then each as it is recorded. */
  attach(sink: (e: LogEvent) => void): void {
    if (this.events.length < this.seq && this.recording)
      throw new Error('EventLog.attach: events were already dropped from memory');
    for (const e of this.events) sink(e);
    this.sink = sink;
  }

  get length(): number {
    return this.seq;
  }

  /** Whether memory holds every recorded event (false past `keep`). */
  get complete(): boolean {
    return this.events.length === this.seq || !this.recording;
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

/** One event as a Chrome trace-event (1 event = 1 µs, `tid` its agent's track); see toChromeTrace. */
export function chromeTraceEvent(e: LogEvent, tid: number): object {
  const args: Record<string, unknown> = { seq: e.seq, cpu: e.cpu };
  if (e.mm !== undefined) args.mm = e.mm;
  if (e.start !== undefined) args.start = `0x${e.start.toString(16)}`;
  if (e.end !== undefined) args.end = `0x${e.end.toString(16)}`;
  if (e.event) args.event = e.event;
  if (e.flags) args.flags = e.flags;
  if (e.oldPte) args.oldPte = e.oldPte;
  if (e.newPte) args.newPte = e.newPte;
  if (e.detail) args.detail = e.detail;
  const base = { name: e.what, cat: e.kind, pid: 1, tid, ts: e.seq, args };
  return e.phase ? { ...base, ph: e.phase } : { ...base, ph: 'X', dur: 1 };
}

/** The metadata event naming track `tid` (tid 0: the process). */
export function chromeTrackName(tid: number, name: string): object {
  return { name: tid === 0 ? 'process_name' : 'thread_name', ph: 'M', pid: 1, tid, args: { name } };
}

/** Chrome trace-event JSON (Perfetto and chrome://tracing open it): one track per agent, 1 event = 1 µs. */
export function toChromeTrace(events: readonly LogEvent[]): object {
  const tids = new Map<string, number>();
  const out: object[] = [chromeTrackName(0, 'mmsim')];
  for (const e of events) {
    let tid = tids.get(e.agent);
    if (tid === undefined) {
      tid = tids.size + 1;
      tids.set(e.agent, tid);
      out.push(chromeTrackName(tid, e.agent));
    }
    out.push(chromeTraceEvent(e, tid));
  }
  return { traceEvents: out, displayTimeUnit: 'ns' };
}
