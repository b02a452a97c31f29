/** A small reader for the Perfetto traces mmsim writes (tests only): packets as plain objects. */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

export interface Packet {
  timestamp?: number;
  sequence?: number;
  track?: { uuid: number; parent?: number; name?: string; pid?: number; tid?: number; processName?: string };
  event?: {
    type: number;
    track: number;
    name?: string;
    categories: string[];
    args: Record<string, string | number>;
  };
}

/** Every message field as [field, value]: varints as numbers, length-delimited as bytes. */
function fields(buf: Uint8Array): [number, number | Uint8Array][] {
  const r = new BinaryReader(buf);
  const out: [number, number | Uint8Array][] = [];
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    // varints read as signed 64-bit: the values here are small or negative (cpu -1)
    if (type === WireType.Varint) out.push([no, Number(BigInt.asIntN(64, BigInt(r.uint64())))]);
    else if (type === WireType.LengthDelimited) out.push([no, r.bytes()]);
    else throw new Error(`unexpected wire type ${type} for field ${no}`);
  }
  return out;
}

const text = (b: number | Uint8Array): string => new TextDecoder().decode(b as Uint8Array);

export function decodePerfetto(bytes: Uint8Array): Packet[] {
  return fields(bytes).map(([no, body]) => {
    if (no !== 1) throw new Error(`Trace field ${no}`);
    const p: Packet = {};
    for (const [f, v] of fields(body as Uint8Array)) {
      if (f === 8) p.timestamp = v as number;
      else if (f === 10) p.sequence = v as number;
      else if (f === 60) {
        const t: NonNullable<Packet['track']> = { uuid: 0 };
        for (const [g, w] of fields(v as Uint8Array)) {
          if (g === 1) t.uuid = w as number;
          else if (g === 5) t.parent = w as number;
          else if (g === 2) t.name = text(w);
          else if (g === 3)
            for (const [h, x] of fields(w as Uint8Array)) {
              if (h === 1) t.pid = x as number;
              if (h === 6) t.processName = text(x);
            }
          else if (g === 4)
            for (const [h, x] of fields(w as Uint8Array)) {
              if (h === 1) t.pid = x as number;
              if (h === 2) t.tid = x as number;
            }
        }
        p.track = t;
      } else if (f === 11) {
        const e: NonNullable<Packet['event']> = { type: 0, track: 0, categories: [], args: {} };
        for (const [g, w] of fields(v as Uint8Array)) {
          if (g === 9) e.type = w as number;
          else if (g === 11) e.track = w as number;
          else if (g === 23) e.name = text(w);
          else if (g === 22) e.categories.push(text(w));
          else if (g === 4) {
            let name = '';
            let value: string | number = '';
            for (const [h, x] of fields(w as Uint8Array)) {
              if (h === 10) name = text(x);
              else if (h === 3) value = x as number;
              else if (h === 4) value = x as number;
              else if (h === 6) value = text(x);
            }
            e.args[name] = value;
          }
        }
        p.event = e;
      } else throw new Error(`TracePacket field ${f}`);
    }
    return p;
  });
}
