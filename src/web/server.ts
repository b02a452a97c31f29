/**
 * What `mmsim web` (src/cli/web.ts) needs on Node's side: build the page when it is missing or older
 * than the sources (vite, a devDependency), serve the static site on 127.0.0.1, and the link that opens
 * a given scenario or counterexample (the hash format of ui/share.ts). The model itself runs in the
 * browser's worker: this server only hands out files.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
/** The static site `npm run build:web` writes (vite.config.ts's outDir; tsc's dist/web is the CLI's). */
export const SITE_DIR = join(ROOT, 'dist', 'site');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Newest modification time under a directory. */
function newest(dir: string): number {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  let t = 0;
  for (const entry of entries) {
    const p = join(dir, entry);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Whether the site is missing or older than the sources it is built from (src/, examples/). */
export function siteIsStale(dir = SITE_DIR): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return true;
  if (!existsSync(join(ROOT, 'src', 'web'))) return false; // an installed package: no sources to build from
  const sources = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'examples')));
  return statSync(index).mtimeMs < sources;
}

/** Build the site when stale. */
export async function ensureBuilt(log: (s: string) => void = () => {}): Promise<void> {
  if (!siteIsStale()) return;
  if (!existsSync(join(ROOT, 'src', 'web')))
    throw new Error(`the page is not built (${SITE_DIR}) and its sources are not here`);
  log('mmsim web: building the page (vite) ...\n');
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    throw new Error(
      'the page is not built and vite is not installed: run `npm install` in the mmsim checkout',
    );
  }
  // errors only: under load the bundler warns that plugins were slow, which a user has nothing to do about
  await vite.build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error' });
}

/** Serve a directory on 127.0.0.1 (port 0: any free port). */
export function serveStatic(dir: string, port = 0): Promise<{ server: Server; url: string }> {
  const base = resolve(dir);
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
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

const deflate = (text: string): string => deflateRawSync(Buffer.from(text, 'utf8')).toString('base64url');

/** The hash that opens a scenario's text (ui/share.ts's scenarioHash). */
export function scenarioLink(file: string, text: string, kernel = '', compare = ''): string {
  const p = new URLSearchParams({ f: file, k: kernel });
  if (compare) p.set('c', compare);
  p.set('s', deflate(text));
  return `#${p.toString()}`;
}

/** The hash that replays a counterexample (ui/share.ts's counterexampleHash). */
export function counterexampleLink(json: string): string {
  return `#${new URLSearchParams({ x: deflate(json) }).toString()}`;
}

/**
 * Build if needed and serve; prints the URL (with `hash`). A busy default port falls back to any free
 * one; a port asked for must be free.
 */
export async function startWeb(
  opts: { hash: string; port?: number },
  print: (s: string) => void,
): Promise<Server> {
  await ensureBuilt(print);
  let served: { server: Server; url: string };
  try {
    served = await serveStatic(SITE_DIR, opts.port ?? DEFAULT_PORT);
  } catch (e) {
    if (opts.port !== undefined || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    served = await serveStatic(SITE_DIR, 0);
  }
  print(`mmsim web: serving ${SITE_DIR} (Ctrl-C stops)\n${served.url}${opts.hash}\n`);
  return served.server;
}

export const DEFAULT_PORT = 5178;
