/**
 * How fast the page steps through the headline scenario (the 16k-page fleet): opens it in headless
 * chromium, presses → through every step and ← back, and prints what the page measured for each move
 * (from the key to the frame after the view is drawn: the status line's "drawn in N ms"). A measurement,
 * not a test: `npx tsx test/web/measure-steps.ts [KERNEL]`.
 */
import { HAVE_CHROMIUM, openExample, startHarness } from './browser.js';

const HEADLINE = 'gallery/headline-fleet.yaml';

async function main(): Promise<void> {
  if (!HAVE_CHROMIUM) {
    console.log('no chromium: nothing measured');
    return;
  }
  const kernel = process.argv[2] ?? '';
  const h = await startHarness();
  try {
    const t0 = Date.now();
    const page = await openExample(h, HEADLINE, kernel);
    await page.locator('.status[data-busy="no"]').waitFor({ timeout: 120_000 });
    console.log(`opened (ran the scenario in the worker) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const steps = Number(await page.locator('input[aria-label="step"]').getAttribute('max')) + 1;
    await page.locator('header h1').click();
    const move = async (key: string, step: number): Promise<number> => {
      await page.keyboard.press(key);
      const status = page.locator(`.status[data-drawn="${step}.-1"]`);
      await status.waitFor({ timeout: 30_000 });
      return Number(await status.getAttribute('data-ms'));
    };
    const forward: number[] = [];
    for (let s = 0; s < steps; s++) forward.push(await move('ArrowRight', s));
    const back: number[] = [];
    for (let s = steps - 2; s >= 0; s--) back.push(await move('ArrowLeft', s));
    report('forward', forward);
    report('back', back);
    console.log(`${steps} steps`);
  } finally {
    await h.close();
  }
}

function report(what: string, ms: number[]): void {
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))];
  console.log(
    `${what}: median ${q(0.5)} ms, 90th percentile ${q(0.9)} ms, max ${sorted[sorted.length - 1]} ms (${ms.join(' ')})`,
  );
}

await main();
