/**
 * The two screenshots README.md shows (docs/img/): compare mode on example 08 right after the KSM merge,
 * and mmsim check's counterexample for example 20 replayed to its offending transition: `npx tsx test/web/readme-images.ts`. Small
 * viewport, so the files stay small (no image tool is needed).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { counterexampleLink } from '../../src/web/server.js';
import { gotoStep, HAVE_CHROMIUM, openExample, startHarness } from './browser.js';
import { RACE_FILE } from './fixtures.js';

const OUT = 'docs/img';

async function main(): Promise<void> {
  if (!HAVE_CHROMIUM) throw new Error('no chromium');
  mkdirSync(OUT, { recursive: true });
  const h = await startHarness({ width: 1180, height: 700 });
  try {
    const page = await openExample(h, 'examples/08-guest-after-merge-v5.0.yaml', 'v5.0', 'rfc-2019');
    await gotoStep(page, 5);
    await page
      .locator('.side[data-kernel="rfc-2019"] .grid-row[data-name="pte"] .cell[data-page="0"]')
      .click();
    await page.locator('header h1').click();
    await page.screenshot({ path: `${OUT}/compare.png` });
    // mmsim check's own report
    const check = ['src/cli/entry.ts', 'check', RACE_FILE, '--set', 'kvmChangePteBumpsSeq=false', '--json'];
    const report = spawnSync('node_modules/.bin/tsx', check, { encoding: 'utf8' }).stdout;
    const cx = JSON.parse(report).results[0].counterexamples[0];
    await page.goto(h.url + counterexampleLink(report));
    await page.reload();
    await page.locator(`.transition-now[data-current="${cx.offending}"]`).waitFor();
    await page.locator('.grid-row[data-name="kvm:vm1"] .cell[data-page="0"]').click();
    await page.locator('header h1').click();
    await page.screenshot({ path: `${OUT}/counterexample.png` });
  } finally {
    await h.close();
  }
}

await main();
