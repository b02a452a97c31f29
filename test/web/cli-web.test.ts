/**
 * `mmsim web`: bad input is refused like every command's (exit 2, file:line:col); a good FILE is served:
 * the page is built if needed, the URL printed carries the file, and the server hands out the site.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

function runMain(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = main(args, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false });
  return { code, out, err };
}

describe('mmsim web', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
    child = undefined;
  });

  it('explains itself', () => {
    const r = runMain(['web', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: mmsim web [FILE]');
    expect(runMain(['--help']).out).toContain('web [FILE]');
  });

  it('refuses a bad scenario with its file:line:col, a bad kernel and a bad port, serving nothing', () => {
    const bad = runMain(['web', 'test/web/no-such-file.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('test/web/no-such-file.yaml: cannot read the file (ENOENT)');
    const kernel = runMain(['web', 'examples/01-zero-page.yaml', '--kernel', 'v9']);
    expect(kernel.code).toBe(2);
    expect(kernel.err).toContain("--kernel: unknown kernel 'v9'");
    expect(runMain(['web', '--port', 'http']).err).toContain('--port: expected a port number');
    const broken = runMain(['web', 'package.json']);
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/^mmsim: package\.json:\d+:\d+: error: /);
  });

  it('builds if needed, serves the page on 127.0.0.1 and prints a URL that carries the scenario', async () => {
    const file = 'examples/08-guest-after-merge-v5.0.yaml';
    child = spawn(
      'node_modules/.bin/tsx',
      ['src/cli/entry.ts', 'web', file, '--compare', 'rfc-2019', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const url = await new Promise<string>((ok, fail) => {
      let seen = '';
      child!.stdout!.on('data', (d) => {
        seen += String(d);
        const m = /http:\/\/127\.0\.0\.1:\d+\/#\S+/.exec(seen);
        if (m) ok(m[0]);
      });
      child!.stderr!.on('data', (d) => fail(new Error(String(d))));
      child!.on('exit', (code) => fail(new Error(`exited ${code}: ${seen}`)));
    });
    const hash = new URLSearchParams(new URL(url).hash.slice(1));
    expect(hash.get('f')).toBe(file);
    expect(hash.get('c')).toBe('rfc-2019');
    expect(inflateRawSync(Buffer.from(hash.get('s')!, 'base64url')).toString()).toBe(
      readFileSync(file, 'utf8'),
    );
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="app">');
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(new URL(script!, url))).status).toBe(200);
  }, 120_000);
});
