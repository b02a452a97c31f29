/**
 * Browser tests' harness: build the page once (vite, into a temporary directory), serve it on
 * 127.0.0.1, drive Debian's chromium headless through playwright-core. Without chromium the tests skip
 * and say why.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { serveStatic } from '../../src/web/server.js';

export const CHROMIUM = process.env.MMSIM_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM)
  console.warn(
    `browser tests skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set MMSIM_CHROMIUM)`,
  );

export const ARTIFACTS = 'test-artifacts';

export interface Harness {
  url: string;
  context: BrowserContext;
  close(): Promise<void>;
}

export async function startHarness(viewport = { width: 1400, height: 1000 }): Promise<Harness> {
  const out = mkdtempSync(join(tmpdir(), 'mmsim-web-'));
  const vite = await import('vite');
  await vite.build({
    configFile: 'vite.config.ts',
    build: { outDir: out, emptyOutDir: true },
    logLevel: 'error',
  });
  const { server, url } = await serveStatic(out);
  const profile = mkdtempSync(join(tmpdir(), 'mmsim-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    url,
    context,
    async close() {
      await context.close();
      await closeServer(server);
      rmSync(out, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function closeServer(s: Server): Promise<void> {
  return new Promise((ok) => s.close(() => ok()));
}

/** Open the page on an example (and kernels), wait until its first view is drawn. */
export async function openExample(h: Harness, file: string, kernel = '', compare = ''): Promise<Page> {
  const page = await h.context.newPage();
  const p = new URLSearchParams({ f: file, k: kernel });
  if (compare) p.set('c', compare);
  await page.goto(`${h.url}#${p.toString()}`);
  await page.locator('.side').first().waitFor();
  await page.locator(`.status[data-busy="no"][data-opened="${file}"]`).waitFor({ timeout: 60_000 });
  return page;
}

/** Move the timeline to a step's end (0-based) with the keyboard, as a user would; wait until it is drawn. */
export async function gotoStep(page: Page, step: number): Promise<void> {
  const draws = Number((await page.locator('.status').getAttribute('data-draws')) ?? 0);
  await page.locator('header h1').click();
  await page.keyboard.press('Home');
  for (let i = 0; i <= step; i++) await page.keyboard.press('ArrowRight');
  // a view drawn after these keys, of this point (the same point may have been drawn before)
  await page.waitForFunction(
    `(() => { const s = document.querySelector('.status'); return Number(s.dataset.draws) > ${draws} && s.dataset.drawn === '${step}.-1' && s.dataset.busy === 'no'; })()`,
  );
}

/** A screenshot in test-artifacts/ (full page: every section drawn, off-screen ones included). */
export async function snap(page: Page, name: string, fullPage = true): Promise<void> {
  if (fullPage) await page.addStyleTag({ content: 'details { content-visibility: visible !important; }' });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage });
}
