/**
 * The Chrome trace-event JSON form of an event stream, written as it comes (the same objects as
 * mm/event-text.ts toChromeTrace builds in memory): Perfetto's legacy import path, fine for small traces.
 */
import { chromeTraceEvent, chromeTrackName } from '../mm/event-text.js';
import type { LogEvent } from '../sim/log.js';
import type { TraceEncoder } from './trace-writer.js';

export class JsonTraceEncoder implements TraceEncoder {
  private readonly tids = new Map<string, number>();

  constructor(private readonly out: (chunk: string) => void) {
    out(`{"traceEvents":[\n${JSON.stringify(chromeTrackName(0, 'mmsim'))}`);
  }

  event(e: LogEvent): void {
    let tid = this.tids.get(e.agent);
    let text = '';
    if (tid === undefined) {
      tid = this.tids.size + 1;
      this.tids.set(e.agent, tid);
      text = `,\n${JSON.stringify(chromeTrackName(tid, e.agent))}`;
    }
    this.out(`${text},\n${JSON.stringify(chromeTraceEvent(e, tid))}`);
  }

  end(): void {
    this.out('\n],"displayTimeUnit":"ns"}\n');
  }
}
