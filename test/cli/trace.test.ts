/** --trace: streamed to disk as the run goes, never cut short; JSON for small traces, Perfetto protobuf for large. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AUTO_JSON_MAX_EVENTS,
  describeTrace,
  formatBytes,
  traceFormatOf,
  writeTrace,
} from '../../src/cli/trace-writer.js';
import { toChromeTrace } from '../../src/mm/event-text.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { ScenarioRun } from '../../src/scenario/run.js';
import { EventLog, type LogEvent } from '../../src/sim/log.js';
import { runCli } from './run-cli.js';
import { decodePerfetto } from './trace-decode.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const EXAMPLE = 'examples/11-guest-writes-merged-page.yaml';

function exampleEvents(): readonly LogEvent[] {
  const parsed = parseScenario(readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  if (!parsed.ok) throw new Error('example does not parse');
  const run = new ScenarioRun(parsed.scenario, { file: EXAMPLE });
  run.run();
  return run.events;
}

describe('trace files', () => {
  it('the format follows the name: .json, .pftrace/.perfetto-trace/.pb, else by size', () => {
    expect(traceFormatOf('t.json')).toBe('json');
    expect(traceFormatOf('T.JSON')).toBe('json');
    expect(traceFormatOf('t.pftrace')).toBe('perfetto');
    expect(traceFormatOf('t.perfetto-trace')).toBe('perfetto');
    expect(traceFormatOf('t.pb')).toBe('perfetto');
    expect(traceFormatOf('t.trace')).toBeUndefined();
    expect(traceFormatOf('-')).toBeUndefined();
  });

  it('the streamed JSON is exactly what toChromeTrace builds in memory', () => {
    const events = exampleEvents();
    const out = join(dir, 'a.json');
    const s = writeTrace(out, events, { option: '--trace' });
    expect(s).toMatchObject({ format: 'json', events: events.length });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(toChromeTrace(events));
    expect(s.bytes).toBe(readFileSync(out).length);
  });

  it('the Perfetto protobuf has a track per agent and a 1 µs slice per event, with its arguments', () => {
    const events = exampleEvents();
    const out = join(dir, 'a.pftrace');
    const s = writeTrace(out, events, { option: '--trace' });
    expect(s.format).toBe('perfetto');
    const packets = decodePerfetto(readFileSync(out));
    expect(packets.every((p) => p.sequence === 1)).toBe(true);
    const tracks = packets.filter((p) => p.track).map((p) => p.track!);
    expect(tracks[0]).toMatchObject({ uuid: 1, pid: 1, processName: 'mmsim' });
    const agents = [...new Set(events.map((e) => e.agent))];
    expect(tracks.slice(1).map((t) => t.name)).toEqual(agents);
    for (const t of tracks.slice(1)) expect(t.parent).toBe(1);
    const uuidOf = new Map(tracks.slice(1).map((t) => [t.name, t.uuid]));
    const slices = packets.filter((p) => p.event);
    const begins = slices.filter((p) => p.event!.type === 1);
    // every event begins a slice except a bracket's end
    expect(begins.map((p) => p.event!.name)).toEqual(
      events.filter((e) => e.phase !== 'E').map((e) => e.what),
    );
    const ends = slices.filter((p) => p.event!.type === 2);
    expect(ends).toHaveLength(events.filter((e) => e.phase !== 'B').length);
    const first = events.find((e) => e.phase === undefined && e.start !== undefined)!;
    const b = begins.find((p) => p.event!.args.seq === first.seq)!;
    expect(b.timestamp).toBe(first.seq * 1000);
    expect(b.event!.track).toBe(uuidOf.get(first.agent));
    expect(b.event!.categories).toEqual([first.kind]);
    expect(b.event!.args).toMatchObject({ cpu: first.cpu, start: `0x${first.start!.toString(16)}` });
    // timestamps never go backwards, so viewers need not sort
    const ts = slices.map((p) => p.timestamp ?? 0);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
    // the native form is smaller than the JSON one
    expect(s.bytes).toBeLessThan(readFileSync(join(dir, 'a.json')).length);
  });

  it('a name without a format gets JSON while small and protobuf once past the limit', () => {
    const small = writeTrace(join(dir, 'small.trace'), exampleEvents(), { option: '--trace' });
    expect(small.format).toBe('json');
    const many: LogEvent[] = [];
    for (let i = 0; i <= AUTO_JSON_MAX_EVENTS; i++)
      many.push({ seq: i, agent: 'a', cpu: 0, kind: 'pte', what: 'x' });
    const big = writeTrace(join(dir, 'big.trace'), many, { option: '--trace' });
    expect(big.format).toBe('perfetto');
    expect(describeTrace(big)).toMatch(
      /^trace: 100,001 events, [\d.]+ MB, Perfetto protobuf \(over 100,000 events\) -> /,
    );
    expect(decodePerfetto(readFileSync(join(dir, 'big.trace'))).filter((p) => p.event)).toHaveLength(
      2 * many.length,
    );
  });

  it('a log that keeps few events in memory still streams every one (nothing is cut)', () => {
    const log = new EventLog(true, 10);
    const out = join(dir, 'all.json');
    const seen: LogEvent[] = [];
    log.attach((e) => seen.push(e));
    for (let i = 0; i < 5000; i++) log.record({ agent: `a${i % 3}`, cpu: 0, kind: 'pte', what: 'set' });
    expect(log.events).toHaveLength(10);
    expect(log.complete).toBe(false);
    writeTrace(out, seen, { option: '--trace' });
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.traceEvents.filter((e: { ph: string }) => e.ph === 'X')).toHaveLength(5000);
  });

  it('mmsim run --trace says what it wrote: events, size, format', () => {
    const out = join(dir, 'run.pftrace');
    const r = runCli('run', EXAMPLE, '--trace', out);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^mmsim: trace: [\d,]+ events, [\d.]+ kB, Perfetto protobuf -> .*run\.pftrace\n$/);
    expect(decodePerfetto(readFileSync(out)).length).toBeGreaterThan(10);
  });

  it('formatBytes', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1234)).toBe('1.23 kB');
    expect(formatBytes(203_000_000)).toBe('203 MB');
    expect(formatBytes(1.5e9)).toBe('1.50 GB');
  });
});
