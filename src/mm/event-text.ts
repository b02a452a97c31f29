/**
 * The shown form of a logged event. Events carry raw numbers (pte values, pfns, a detail format's
 * arguments); they become words only here, when something shows them: a trace file, --steps, a
 * violation report, the web view.
 */
import { formatPte } from '../hw/pte.js';
import { detailText, type LogEvent } from '../sim/log.js';

/** A pte field as shown (`pfn 0x1a3 P RW U`, `none`), or `absent` when the event has none. */
export function pteText(pte: number | undefined, absent = ''): string {
  return pte === undefined ? absent : formatPte(pte);
}

/** One event as a Chrome trace-event (1 event = 1 µs, `tid` its agent's track); see toChromeTrace. */
export function chromeTraceEvent(e: LogEvent, tid: number): object {
  const args: Record<string, unknown> = { seq: e.seq, cpu: e.cpu };
  if (e.mm !== undefined) args.mm = e.mm;
  if (e.start !== undefined) args.start = `0x${e.start.toString(16)}`;
  if (e.end !== undefined) args.end = `0x${e.end.toString(16)}`;
  if (e.event) args.event = e.event;
  if (e.flags) args.flags = e.flags;
  if (e.oldPte !== undefined) args.oldPte = formatPte(e.oldPte);
  if (e.newPte !== undefined) args.newPte = formatPte(e.newPte);
  const detail = detailText(e);
  if (detail) args.detail = detail;
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
