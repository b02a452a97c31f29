/**
 * The URL carries the scenario so a view can be shared: `#f=FILE&k=KERNEL[&c=KERNEL2]&s=DATA`, DATA the
 * text deflated (raw DEFLATE, CompressionStream) in base64url. `mmsim web FILE` writes the same form.
 */
export interface Shared {
  file: string;
  text: string;
  kernel: string;
  compare: string;
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

export async function encodeHash(s: Shared): Promise<string> {
  const data = toBase64Url(
    await pipe(new TextEncoder().encode(s.text), new CompressionStream('deflate-raw')),
  );
  const p = new URLSearchParams({ f: s.file, k: s.kernel });
  if (s.compare) p.set('c', s.compare);
  p.set('s', data);
  return `#${p.toString()}`;
}

export async function decodeHash(hash: string): Promise<Partial<Shared>> {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const out: Partial<Shared> = {};
  if (p.has('f')) out.file = p.get('f')!;
  if (p.has('k')) out.kernel = p.get('k')!;
  if (p.has('c')) out.compare = p.get('c')!;
  const data = p.get('s');
  if (data) {
    try {
      out.text = new TextDecoder().decode(
        await pipe(fromBase64Url(data), new DecompressionStream('deflate-raw')),
      );
    } catch {
      // a damaged link: keep the rest, open the default scenario
    }
  }
  return out;
}
