/**
 * Perfetto's native trace format (protobuf; perfetto/protos/perfetto/trace/trace.proto): a Trace is
 * `repeated TracePacket packet = 1`, so packets written one after another as field 1 form a valid
 * trace of any length, streamed. One process track, one thread track per agent (TrackDescriptor),
 * each event a TrackEvent slice 1 µs long (or the begin/end of a bracket) with the same arguments as
 * the JSON form as debug annotations. The wire encoding is @bufbuild/protobuf's BinaryWriter; the field
 * numbers are those of the .proto files named beside each constant.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { formatPte } from '../hw/pte.js';
import { detailText, type LogEvent } from '../sim/log.js';
import type { TraceEncoder } from './trace-writer.js';

// trace.proto: Trace
const TRACE_PACKET = 1;
// trace_packet.proto: TracePacket
const PACKET_TIMESTAMP = 8;
const PACKET_SEQUENCE_ID = 10; // trusted_packet_sequence_id
const PACKET_TRACK_EVENT = 11;
const PACKET_TRACK_DESCRIPTOR = 60;
// track_event/track_descriptor.proto: TrackDescriptor
const TRACK_UUID = 1;
const TRACK_NAME = 2;
const TRACK_PROCESS = 3;
const TRACK_THREAD = 4;
const TRACK_PARENT_UUID = 5;
// track_event/process_descriptor.proto, thread_descriptor.proto
const PROCESS_PID = 1;
const PROCESS_NAME = 6;
const THREAD_PID = 1;
const THREAD_TID = 2;
const THREAD_NAME = 5;
// track_event/track_event.proto: TrackEvent
const EVENT_DEBUG_ANNOTATIONS = 4;
const EVENT_TYPE = 9;
const EVENT_TRACK_UUID = 11;
const EVENT_CATEGORIES = 22;
const EVENT_NAME = 23;
const TYPE_SLICE_BEGIN = 1;
const TYPE_SLICE_END = 2;
// track_event/debug_annotation.proto: DebugAnnotation
const ANNOTATION_UINT = 3;
const ANNOTATION_INT = 4;
const ANNOTATION_STRING = 6;
const ANNOTATION_NAME = 10;

const PID = 1;
const SEQUENCE = 1;
const PROCESS_TRACK = 1;
/** Events per chunk handed to the output. */
const BATCH = 512;

export class PerfettoTraceEncoder implements TraceEncoder {
  private readonly w = new BinaryWriter();
  private readonly tracks = new Map<string, number>();
  private pending = 0;

  constructor(private readonly out: (chunk: Uint8Array) => void) {
    this.packet(0, (w) => {
      w.tag(PACKET_TRACK_DESCRIPTOR, WireType.LengthDelimited).fork();
      varint(w, TRACK_UUID, PROCESS_TRACK);
      w.tag(TRACK_PROCESS, WireType.LengthDelimited).fork();
      varint(w, PROCESS_PID, PID);
      w.tag(PROCESS_NAME, WireType.LengthDelimited).string('mmsim');
      w.join().join();
    });
  }

  event(e: LogEvent): void {
    const track = this.trackOf(e.agent);
    const ts = e.seq * 1000; // ns: 1 event = 1 µs, as in the JSON form
    if (e.phase === 'E') this.slice(ts, track, TYPE_SLICE_END);
    else {
      this.slice(ts, track, TYPE_SLICE_BEGIN, e);
      if (e.phase === undefined) this.slice(ts + 1000, track, TYPE_SLICE_END);
    }
    if (++this.pending >= BATCH) this.flush();
  }

  end(): void {
    this.flush();
  }

  private flush(): void {
    this.pending = 0;
    const bytes = this.w.finish();
    if (bytes.length > 0) this.out(bytes);
  }

  private trackOf(agent: string): number {
    let uuid = this.tracks.get(agent);
    if (uuid !== undefined) return uuid;
    const tid = this.tracks.size + 1;
    uuid = PROCESS_TRACK + tid;
    this.tracks.set(agent, uuid);
    const id = uuid;
    this.packet(0, (w) => {
      w.tag(PACKET_TRACK_DESCRIPTOR, WireType.LengthDelimited).fork();
      varint(w, TRACK_UUID, id);
      varint(w, TRACK_PARENT_UUID, PROCESS_TRACK);
      w.tag(TRACK_NAME, WireType.LengthDelimited).string(agent);
      w.tag(TRACK_THREAD, WireType.LengthDelimited).fork();
      varint(w, THREAD_PID, PID);
      varint(w, THREAD_TID, tid);
      w.tag(THREAD_NAME, WireType.LengthDelimited).string(agent);
      w.join().join();
    });
    return uuid;
  }

  private slice(ts: number, track: number, type: number, e?: LogEvent): void {
    this.packet(ts, (w) => {
      w.tag(PACKET_TRACK_EVENT, WireType.LengthDelimited).fork();
      varint(w, EVENT_TYPE, type);
      varint(w, EVENT_TRACK_UUID, track);
      if (e !== undefined) {
        w.tag(EVENT_NAME, WireType.LengthDelimited).string(e.what);
        w.tag(EVENT_CATEGORIES, WireType.LengthDelimited).string(e.kind);
        annotateUint(w, 'seq', e.seq);
        annotateInt(w, 'cpu', e.cpu);
        if (e.mm !== undefined) annotateUint(w, 'mm', e.mm);
        if (e.start !== undefined) annotateString(w, 'start', `0x${e.start.toString(16)}`);
        if (e.end !== undefined) annotateString(w, 'end', `0x${e.end.toString(16)}`);
        if (e.event) annotateString(w, 'event', e.event);
        if (e.flags) annotateString(w, 'flags', e.flags);
        if (e.oldPte !== undefined) annotateString(w, 'oldPte', formatPte(e.oldPte));
        if (e.newPte !== undefined) annotateString(w, 'newPte', formatPte(e.newPte));
        const detail = detailText(e);
        if (detail) annotateString(w, 'detail', detail);
      }
      w.join();
    });
  }

  private packet(ts: number, body: (w: BinaryWriter) => void): void {
    const w = this.w;
    w.tag(TRACE_PACKET, WireType.LengthDelimited).fork();
    if (ts > 0) varint(w, PACKET_TIMESTAMP, ts);
    varint(w, PACKET_SEQUENCE_ID, SEQUENCE);
    body(w);
    w.join();
  }
}

/** An unsigned varint field (uint32 and uint64 share the wire form; the 32-bit path is faster). */
function varint(w: BinaryWriter, field: number, n: number): void {
  w.tag(field, WireType.Varint);
  if (n <= 0xffff_ffff) w.uint32(n);
  else w.uint64(n);
}

function annotation(w: BinaryWriter, name: string, value: (w: BinaryWriter) => void): void {
  w.tag(EVENT_DEBUG_ANNOTATIONS, WireType.LengthDelimited).fork();
  w.tag(ANNOTATION_NAME, WireType.LengthDelimited).string(name);
  value(w);
  w.join();
}

const annotateUint = (w: BinaryWriter, name: string, n: number): void =>
  annotation(w, name, (x) => varint(x, ANNOTATION_UINT, n));
const annotateInt = (w: BinaryWriter, name: string, n: number): void =>
  annotation(w, name, (x) => x.tag(ANNOTATION_INT, WireType.Varint).int32(n));
const annotateString = (w: BinaryWriter, name: string, s: string): void =>
  annotation(w, name, (x) => x.tag(ANNOTATION_STRING, WireType.LengthDelimited).string(s));
