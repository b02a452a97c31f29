/**
 * The two screenshots README.md shows (docs/img/): compare mode on example 08 right after the KSM merge,
 * and a counterexample replayed to its offending transition: `npx tsx test/web/readme-images.ts`. Small
 * viewport, so the files stay small (no image tool is needed).
 */
import { mkdirSync } from 'node:fs';
import { counterexampleLink } from '../../src/web/server.js';
import { gotoStep, HAVE_CHROMIUM, openExample, startHarness } from './browser.js';
import { raceCounterexample } from './fixtures.js';

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
    const cx = raceCounterexample();
    await page.goto(h.url + counterexampleLink(JSON.stringify(cx)));
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
