/**
 * `npm run web` / `mmsim web [FILE]`: build the page if needed (vite, a devDependency), serve dist/web
 * on localhost and print the URL. With FILE, the URL's hash carries the file (ui/share.ts's format).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const WEB_DIST = join(ROOT, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Newest modification time under a directory (the page's sources and the model's). */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSafe(dir)) {
    const p = join(dir, entry);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Build dist/web when it is missing or older than src/ or examples/. */
export async function ensureBuilt(log: (s: string) => void = () => {}): Promise<void> {
  const index = join(WEB_DIST, 'index.html');
  if (existsSync(index)) {
    const built = statSync(index).mtimeMs;
    const src = existsSync(join(ROOT, 'src'))
      ? Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'examples')))
      : 0;
    if (built >= src) return;
  }
  log('building the page (vite) ...');
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    throw new Error(
      'the page is not built and vite is not installed: run `npm install` in the mmsim checkout',
    );
  }
  await vite.build({
    configFile: join(ROOT, 'vite.config.ts'),
    root: join(ROOT, 'src', 'web'),
    logLevel: 'warn',
  });
}

/** Serve a directory on 127.0.0.1 (port 0: any free port). */
export function serveStatic(dir: string, port = 0): Promise<{ server: Server; url: string }> {
  const base = resolve(dir);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = typeof a === 'object' && a !== null ? a.port : port;
      ok({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

/** The hash that opens `text` (named `file`) in the page. */
export function shareHash(file: string, text: string, kernel = ''): string {
  const data = deflateRawSync(Buffer.from(text, 'utf8')).toString('base64url');
  const p = new URLSearchParams({ f: file, k: kernel });
  p.set('s', data);
  return `#${p.toString()}`;
}

/** Build if needed, serve, print the URL; resolves with the server (it runs until the process ends). */
export async function startWeb(
  opts: { file?: string; port?: number },
  print: (s: string) => void,
): Promise<Server> {
  let hash = '';
  if (opts.file !== undefined) hash = shareHash(opts.file, readFileSync(opts.file, 'utf8'));
  await ensureBuilt(print);
  const { server, url } = await serveStatic(WEB_DIST, opts.port ?? 0);
  print(`mmsim web: ${url}${hash}`);
  return server;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  startWeb({ file, port: Number(process.env.PORT ?? 5178) }, (s) => console.log(s)).catch((e: unknown) => {
    console.error(`mmsim web: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  });
}
