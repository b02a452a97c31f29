import { Digest, StripeDigest } from './hash.js';

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
  /** The primary pte before and after, raw (hw/pte.ts formatPte shows them; mm/event-text.ts). */
  oldPte?: number;
  newPte?: number;
  /** Begin/end of a bracket drawn as a slice in the trace viewer. */
  phase?: 'B' | 'E';
  /** Words shown beside the event; with `format`, the format's text argument instead (see detailText). */
  detail?: string;
  /** The detail made from `x`, `y`, `z` and `detail` only when the event is shown. */
  format?: DetailFormat;
  x?: number;
  y?: number;
  z?: number;
}

/**
 * How the detail of a frequent event reads, made from its numbers only when it is shown (a text trace,
 * --trace, a report, the web view): a long run logs tens of millions of events and shows none, so it
 * formats none; the digest hashes the format's name and the numbers.
 */
export interface DetailFormat {
  readonly name: string;
  /** A number of the name's (a hash, unique among formats): what the digest hashes. */
  readonly key: number;
  text(x: number, y: number, z: number, s: string): string;
}

const formatKeys = new Map<number, string>();

/** A detail format; its name is unique, and so is the key the digest tells it apart by. */
export function detailFormat(name: string, text: DetailFormat['text']): DetailFormat {
  const d = new Digest();
  d.string(name);
  const key = Number.parseInt(d.hex().slice(8), 16) | 1; // never 0, the key of no format
  const taken = formatKeys.get(key);
  if (taken !== undefined)
    throw new Error(
      `detailFormat: '${name}' ${taken === name ? 'is defined twice' : `has the key of '${taken}'`}`,
    );
  formatKeys.set(key, name);
  return { name, key, text };
}

/** The words shown beside an event (its detail, made by its format if it has one). */
export function detailText(e: LogEvent): string | undefined {
  if (e.format === undefined) return e.detail;
  return e.format.text(e.x ?? 0, e.y ?? 0, e.z ?? 0, e.detail ?? '');
}

/**
 * A new event with every field (those not given undefined), always in this order: events made here share
 * one hidden class, so recording one neither adds a property (`seq`) nor reads fields through V8's
 * megamorphic cache. The model's paths log through it; set the other fields on the result.
 */
export function newEvent(
  agent: string,
  cpu: number,
  kind: EventKind,
  what: string,
  mm?: number,
  start?: number,
  end?: number,
): LogEvent {
  return {
    seq: 0,
    agent,
    cpu,
    kind,
    what,
    mm,
    start,
    end,
    event: undefined,
    flags: undefined,
    oldPte: undefined,
    newPte: undefined,
    phase: undefined,
    detail: undefined,
    format: undefined,
    x: undefined,
    y: undefined,
    z: undefined,
  };
}

/** The digest's number of each kind of event (fixed: no lookup per event). */
function kindNumber(kind: EventKind): number {
  switch (kind) {
    case 'step':
      return 1;
    case 'fault':
      return 2;
    case 'pte':
      return 3;
    case 'tlb':
      return 4;
    case 'notify':
      return 5;
    case 'secondary':
      return 6;
    case 'ksm':
      return 7;
    case 'violation':
      return 8;
  }
}

/**
 * A `what` string's atom, the `what`s logged after it the last two times (and their atoms), and the
 * other strings of the last event with this `what` with the words they made: most events repeat the
 * kind, agent, range event, flags and caller of the last event with the same `what`, so they need no
 * table.
 */
interface WhatAtom {
  readonly id: number;
  next: string | undefined;
  nextAtom: WhatAtom | undefined;
  /** The `what` that followed it the time before (a path that goes on two ways by turns). */
  other: string | undefined;
  otherAtom: WhatAtom | undefined;
  kind: EventKind | undefined;
  agent: string | undefined;
  event: string | undefined;
  flags: string | undefined;
  detail: string | undefined;
  w0: number;
  w2: number;
  w3: number;
}

function newWhatAtom(id: number): WhatAtom {
  return {
    id,
    next: undefined,
    nextAtom: undefined,
    other: undefined,
    otherAtom: undefined,
    kind: undefined,
    agent: undefined,
    event: undefined,
    flags: undefined,
    detail: undefined,
    w0: 0,
    w2: 0,
    w3: 0,
  };
}

interface LastAtom {
  s: string | undefined;
  id: number;
}

/** Distinct strings the digest numbers (beyond it, a string is hashed by its characters each time). */
const MAX_ATOMS = (1 << 16) - 2; // numbers 2 .. 65535: two to a word

/**
 * The deterministic log of everything that happened. Recording can be off (benchmarks) — then only
 * the sequence number advances. The digest covers every recorded field, so equal logs hash equal.
 * Memory keeps the first `keep` events; a sink (attach) sees every one as it happens, so a trace can
 * be streamed to disk whatever its length.
 */
export class EventLog {
  readonly events: LogEvent[] = [];
  private seq = 0;
  private readonly digest = new StripeDigest();
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

  /** One event's fields: atoms two to a word, kind, phase, format, cpu, mm, numbers as doubles, padding. */
  private readonly block = new ArrayBuffer(96);
  private readonly blockWords = new Int32Array(this.block);
  private readonly blockDoubles = new Float64Array(this.block);

  /**
   * Every field but `seq` (the event's place in the stream). Strings are atoms: the first time a string
   * is seen its characters go in (tagged 1) and it gets a number, later only the number; equal logs
   * number their strings alike, so they hash equal, and the stream stays a faithful encoding of the
   * events. The kind and phase go in by a fixed number each, a detail format by its key. The fields
   * then go in as one block of 16 words (24 with a detail format, the last two 0) whose first word is
   * at least 2^16 (the kind is never 0), so it cannot be taken for an atom's tag. The hottest path of a
   * long run: no string hashed twice, no number formatted, nothing allocated, and most events' strings
   * found without a table (see WhatAtom).
   */
  private hashEvent(e: LogEvent): void {
    const w = this.blockWords;
    const f = this.blockDoubles;
    const what = this.whatAtom(e.what);
    const kind = e.kind;
    const agent = e.agent;
    const event = e.event;
    const flags = e.flags;
    const detail = e.detail;
    if (
      kind === what.kind &&
      agent === what.agent &&
      event === what.event &&
      flags === what.flags &&
      detail === what.detail
    ) {
      w[0] = what.w0;
      w[2] = what.w2;
      w[3] = what.w3;
    } else {
      const w0 = this.atomOf(this.lastAgent, agent) | (kindNumber(kind) << 16);
      const w2 = this.atomOf(this.lastEvent, event) | (this.atomOf(this.lastFlags, flags) << 16);
      const w3 = this.atomOf(this.lastDetail, detail);
      w[0] = w0;
      w[2] = w2;
      w[3] = w3;
      // a string numbered 1 was put by its characters and must be again next time: no shortcut then
      if (what.id > 1 && (w0 & 0xffff) !== 1 && (w2 & 0xffff) !== 1 && w2 >>> 16 !== 1 && w3 !== 1) {
        what.kind = kind;
        what.agent = agent;
        what.event = event;
        what.flags = flags;
        what.detail = detail;
        what.w0 = w0;
        what.w2 = w2;
        what.w3 = w3;
      }
    }
    w[1] = what.id | ((e.phase === undefined ? 0 : e.phase === 'B' ? 1 : 2) << 16);
    const format = e.format;
    w[4] = format === undefined ? 0 : format.key;
    w[5] = e.cpu + 1;
    w[6] = (e.mm ?? -1) + 1;
    f[4] = e.start ?? -1;
    f[5] = e.end ?? -1;
    f[6] = e.oldPte ?? -1;
    f[7] = e.newPte ?? -1;
    if (format === undefined) {
      this.digest.stripes(w, 16);
      return;
    }
    f[8] = e.x ?? -1;
    f[9] = e.y ?? -1;
    f[10] = e.z ?? -1;
    this.digest.stripes(w, 24);
  }

  /** Each `what` numbered so far, by its string (numbered in the atom table like any string). */
  private readonly whats = new Map<string, WhatAtom>();
  private lastWhat: WhatAtom = newWhatAtom(0);

  /**
   * The `what` of an event: the one that followed the last event's `what` last time, most often (the
   * model's paths log in the same order again and again), else through the table.
   */
  private whatAtom(s: string): WhatAtom {
    const prev = this.lastWhat;
    let what: WhatAtom | undefined;
    if (s === prev.next) what = prev.nextAtom;
    else if (s === prev.other) what = prev.otherAtom;
    if (what === undefined) {
      what = this.whats.get(s);
      if (what === undefined) {
        const id = this.atom(s);
        what = newWhatAtom(id);
        if (id > 1) this.whats.set(s, what);
      }
      if (what.id > 1) {
        prev.other = prev.next;
        prev.otherAtom = prev.nextAtom;
        prev.next = s;
        prev.nextAtom = what;
      }
    }
    this.lastWhat = what;
    return what;
  }

  private readonly atoms = new Map<string, number>();
  /**
   * The last string of a field and its atom: a field that repeats itself from one event to the next
   * (the agent; a range's event, flags and caller in its start and end) skips the table.
   */
  private readonly lastAgent: LastAtom = { s: undefined, id: 0 };
  private readonly lastEvent: LastAtom = { s: undefined, id: 0 };
  private readonly lastFlags: LastAtom = { s: undefined, id: 0 };
  private readonly lastDetail: LastAtom = { s: undefined, id: 0 };

  private atomOf(last: LastAtom, s: string | undefined): number {
    if (s === last.s) return last.id;
    const id = this.atom(s);
    if (id > 1) {
      last.s = s;
      last.id = id;
    }
    return id;
  }

  /**
   * A string field's number: 0 if absent, its atom number (2, 3, ...) if seen before; else its characters
   * go into the digest now and it gets the next number (1 when the table is full: "the string just put").
   */
  private atom(s: string | undefined): number {
    if (s === undefined) return 0;
    const id = this.atoms.get(s);
    if (id !== undefined) return id;
    this.digest.string(1, s);
    if (this.atoms.size >= MAX_ATOMS) return 1;
    this.atoms.set(s, this.atoms.size + 2);
    return this.atoms.size + 1;
  }
}
