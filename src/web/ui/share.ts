/**
 * The URL carries what is shown so a view can be shared:
 * `#f=FILE&k=KERNEL[&c=KERNEL2]&s=DATA[&set=F=V ...][&sch=SCHEDULE][&p=STEP.EVENT]`, DATA the
 * scenario text deflated (raw DEFLATE,
 * CompressionStream) in base64url; a counterexample instead as `#x=DATA` (its JSON, deflated) or
 * `#cx=URL` (a checker file to fetch, `&i=N` picking one of a report's counterexamples). `mmsim web
 * FILE` writes the same form (src/web/server.ts).
 */
export interface Shared {
  file: string;
  text: string;
  kernel: string;
  compare: string;
  /** What-if profile fields, `FIELD=VALUE` separated by spaces (the CLI's --set). */
  settings: string;
  /** A schedule for the `parallel` threads (the CLI's --schedule). */
  schedule: string;
  /** 'step.event' (both 0-based, -1 for start / a step's end). */
  point: string;
  /** A counterexample's JSON. */
  counterexample: string;
  /** Where to fetch a checker file from, and which of its counterexamples. */
  checkerUrl: string;
  index: number;
}

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

export async function deflate(text: string): Promise<string> {
  return toBase64Url(await pipe(new TextEncoder().encode(text), new CompressionStream('deflate-raw')));
}

async function inflate(data: string): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await pipe(fromBase64Url(data), new DecompressionStream('deflate-raw')));
  } catch {
    return undefined; // a damaged link: keep the rest
  }
}

/** The hash for a scenario view; `data` is deflate(text), computed once per text by the caller. */
export function scenarioHash(
  s: Pick<Shared, 'file' | 'kernel' | 'compare' | 'settings' | 'schedule' | 'point'>,
  data: string,
): string {
  const p = new URLSearchParams({ f: s.file, k: s.kernel });
  if (s.compare) p.set('c', s.compare);
  p.set('s', data);
  if (s.settings) p.set('set', s.settings);
  if (s.schedule) p.set('sch', s.schedule);
  if (s.point) p.set('p', s.point);
  return `#${p.toString()}`;
}

export function counterexampleHash(data: string, point: string): string {
  const p = new URLSearchParams({ x: data });
  if (point) p.set('p', point);
  return `#${p.toString()}`;
}

export async function decodeHash(hash: string): Promise<Partial<Shared>> {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const out: Partial<Shared> = {};
  const str = (
    key: string,
    field: 'file' | 'kernel' | 'compare' | 'settings' | 'schedule' | 'point' | 'checkerUrl',
  ) => {
    const v = p.get(key);
    if (v !== null) out[field] = v;
  };
  str('f', 'file');
  str('k', 'kernel');
  str('c', 'compare');
  str('set', 'settings');
  str('sch', 'schedule');
  str('p', 'point');
  str('cx', 'checkerUrl');
  if (p.has('i')) out.index = Number(p.get('i')) || 0;
  const s = p.get('s');
  if (s) out.text = await inflate(s);
  const x = p.get('x');
  if (x) out.counterexample = await inflate(x);
  return out;
}
