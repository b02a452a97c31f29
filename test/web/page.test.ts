import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, gotoStep, HAVE_CHROMIUM, type Harness, openExample, startHarness } from './browser.js';

const EX08 = 'examples/08-guest-after-merge-v5.0.yaml';

describe.skipIf(!HAVE_CHROMIUM)('the page in headless chromium', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('example 08 under v5.0: the merged page spte is gone after the ksm step and back after the guest read', async () => {
    const page = await openExample(h, EX08);
    const spte = page.locator(
      '.side[data-kernel="v5.0"] .grid-row[data-name="kvm:vm1"] .cell[data-page="0"]',
    );
    const pte = page.locator('.side[data-kernel="v5.0"] .grid-row[data-row="primary"] .cell[data-page="0"]');
    await gotoStep(page, 4); // the guest's writes
    expect(await spte.getAttribute('data-state')).toBe('rw');
    await gotoStep(page, 5); // ksm
    expect(await pte.getAttribute('data-state')).toBe('ksm');
    expect(await spte.getAttribute('data-state')).toBe('none');
    expect(await spte.getAttribute('data-changed')).toBe('yes');
    await page.screenshot({ path: `${ARTIFACTS}/v5.0-after-ksm.png`, fullPage: true });
    await gotoStep(page, 6); // the guest reads again
    expect(await spte.getAttribute('data-state')).toBe('ro');
    await pte.click();
    await expect.poll(() => page.locator('.inspector').first().textContent()).toContain('KSM page');
    expect(await page.locator('.inspector .spte').first().textContent()).toContain('kvm:vm1: ro');
    await page.close();
  });
});
