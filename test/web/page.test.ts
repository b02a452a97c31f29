/**
 * The built page in headless chromium: what a user sees. Each test opens a link (as a shared URL would),
 * moves with the keyboard or the mouse, and reads the cells, the inspector and the lists; screenshots of
 * the main views go to test-artifacts/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterexampleLink } from '../../src/web/server.js';
import { gotoStep, HAVE_CHROMIUM, type Harness, openExample, snap, startHarness } from './browser.js';
import { RACE_FILE, RACE_SCHEDULE, raceCounterexample } from './fixtures.js';

const EX08 = 'examples/08-guest-after-merge-v5.0.yaml';
const KSM_STEP = 5;
const GUEST_READ_STEP = 6;

const cell = (page: Page, kernel: string, row: string, i: number) =>
  page.locator(`.side[data-kernel="${kernel}"] .grid-row[data-name="${row}"] .cell[data-page="${i}"]`);

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
    const spte = cell(page, 'v5.0', 'kvm:vm1', 0);
    const pte = cell(page, 'v5.0', 'pte', 0);
    await gotoStep(page, 4); // the guest's writes
    expect(await spte.getAttribute('data-state')).toBe('rw');
    await gotoStep(page, KSM_STEP);
    expect(await pte.getAttribute('data-state')).toBe('ksm');
    expect(await spte.getAttribute('data-state')).toBe('none');
    expect(await spte.getAttribute('data-changed')).toBe('yes');
    // the brackets: write_protect_page's range zaps, then change_pte finds nothing
    const miss = page.locator(
      '.side[data-kernel="v5.0"] .bracket[data-by="write_protect_page"] .item[data-hit]',
    );
    expect(await miss.first().getAttribute('data-hit')).toBe('miss');
    await snap(page, 'v5.0-after-ksm');
    await gotoStep(page, GUEST_READ_STEP);
    expect(await spte.getAttribute('data-state')).toBe('ro');
    await pte.click();
    const inspector = page.locator('.inspector').first();
    await expect.poll(() => inspector.textContent()).toContain('KSM page');
    expect(await inspector.locator('.spte').textContent()).toContain('kvm:vm1: ro');
    expect(await inspector.locator('.frame-info').textContent()).toMatch(/refcount \d+, mapcount 8/);
    await page.close();
  });

  it('inside a step, Shift+→ and the event list walk its events: the spte goes at the zap, not before', async () => {
    const page = await openExample(h, EX08);
    await gotoStep(page, KSM_STEP);
    const sentences = await page.locator('.events li').allTextContents();
    const before = sentences.findIndex((t) => t.includes('zaps the sptes at 0x7ffff7ff8000'));
    expect(before).toBeGreaterThan(0);
    // the event before the zap: page 1's spte is still writable
    await page
      .locator('.events li')
      .nth(before - 1)
      .locator('button')
      .click();
    await page.locator(`.where[data-step="${KSM_STEP}"][data-event="${before - 1}"]`).waitFor();
    await page.locator(`.status[data-drawn="${KSM_STEP}.${before - 1}"]`).waitFor();
    expect(await cell(page, 'v5.0', 'kvm:vm1', 1).getAttribute('data-state')).toBe('rw');
    await page.locator('header h1').click();
    await page.keyboard.press('Shift+ArrowRight');
    await page.locator(`.status[data-drawn="${KSM_STEP}.${before}"]`).waitFor();
    expect(await cell(page, 'v5.0', 'kvm:vm1', 1).getAttribute('data-state')).toBe('none');
    expect(await cell(page, 'v5.0', 'kvm:vm1', 1).getAttribute('data-changed')).toBe('yes');
    expect(await cell(page, 'v5.0', 'kvm:vm1', 0).getAttribute('data-state')).toBe('rw');
    expect(await page.locator('.events li.current').textContent()).toContain(
      'kvm_mmu_notifier_invalidate_range_start()',
    );
    expect(await page.locator('.bracket.current').count()).toBe(1);
    await page.close();
  });

  it('compare v5.0 with rfc-2019 on example 08: the same spte is re-pointed, not zapped, and marked as a difference', async () => {
    const page = await openExample(h, EX08, 'v5.0', 'rfc-2019');
    await gotoStep(page, KSM_STEP);
    const zapped = cell(page, 'v5.0', 'kvm:vm1', 0);
    const repointed = cell(page, 'rfc-2019', 'kvm:vm1', 0);
    expect(await zapped.getAttribute('data-state')).toBe('none');
    expect(await repointed.getAttribute('data-state')).toBe('ro');
    expect(await repointed.getAttribute('data-differs')).toBe('yes');
    expect(await zapped.getAttribute('data-differs')).toBe('yes');
    // re-pointed to the KSM page itself: the spte's pfn is the pte's
    await cell(page, 'rfc-2019', 'pte', 0).click();
    const inspector = page.locator('.side[data-kernel="rfc-2019"] .inspector');
    const pfn = (await inspector.locator('.pte code').textContent())?.replace('pfn ', '');
    expect(await inspector.locator('.spte').textContent()).toBe(`kvm:vm1: ro → pfn ${pfn}`);
    const hit = page.locator(
      '.side[data-kernel="rfc-2019"] .bracket[data-by="write_protect_page"] .item[data-hit]',
    );
    expect(await hit.first().getAttribute('data-hit')).toBe('hit');
    // both pte rows show the KSM page; all 8 sptes differ
    expect(Number(await page.locator('.differs-summary').getAttribute('data-cells'))).toBe(8);
    await snap(page, 'compare-v5.0-rfc-2019');
    // after the guest's read both map the KSM page again: no spte differs
    await gotoStep(page, GUEST_READ_STEP);
    expect(await repointed.getAttribute('data-differs')).toBeNull();
    await page.close();
  });

  it('compare v3.2 with v5.0: the 2012 wrap puts change_pte inside invalidate_range_start/end', async () => {
    const page = await openExample(h, 'examples/07-guest-after-merge-v3.2.yaml', 'v3.2', 'v5.0');
    await gotoStep(page, KSM_STEP);
    const alone = page.locator('.side[data-kernel="v3.2"] .bracket[data-by="change_pte"]');
    const wrapped = page.locator('.side[data-kernel="v5.0"] .bracket[data-by="write_protect_page"]');
    expect(await alone.count()).toBeGreaterThan(0);
    expect(await alone.first().locator('.item').textContent()).toContain('hit');
    expect(
      await page.locator('.side[data-kernel="v3.2"] .bracket[data-by="write_protect_page"]').count(),
    ).toBe(0);
    expect(await wrapped.first().textContent()).toContain('invalidate_range_end');
    expect(await cell(page, 'v3.2', 'kvm:vm1', 0).getAttribute('data-state')).toBe('ro');
    expect(await cell(page, 'v3.2', 'kvm:vm1', 0).getAttribute('data-differs')).toBe('yes');
    await page.close();
  });

  it('an editor error shows the line and column the CLI gives', async () => {
    const page = await openExample(h, EX08);
    const bad = 'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: q, size: 1 page, prot: rw, as: a }\n';
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(bad);
    const listed = page.locator('.errors li').first();
    await listed.waitFor();
    const cli = validateWithCli(EX08, bad);
    expect(cli.status).toBe(2);
    const cliLine = cli.stderr.trim().split('\n')[0];
    expect(cliLine).toMatch(/:4:\d+: error: /);
    expect(`mmsim: ${await listed.textContent()}`).toBe(cliLine);
    // inline: the error's range is on line 4, and hovering it shows the same words
    const line4 = page.locator('.cm-line').nth(3);
    const range = line4.locator('.cm-lintRange-error');
    await range.first().waitFor();
    await range.first().hover();
    const shown = (await listed.textContent()) ?? '';
    await expect.poll(() => page.locator('.cm-tooltip-lint').textContent()).toContain(shown);
    await snap(page, 'editor-error', false);
    await page.close();
  });

  it('stepping back restores the previous state exactly', async () => {
    const page = await openExample(h, EX08, 'v5.0', 'rfc-2019');
    await gotoStep(page, 4);
    await cell(page, 'v5.0', 'pte', 2).click();
    const shown = () => page.locator('.sides').evaluate(serialize);
    const before = await shown();
    await page.locator('header h1').click();
    await page.keyboard.press('ArrowRight');
    await page.locator(`.status[data-drawn="${KSM_STEP}.-1"]`).waitFor();
    expect(firstDifference(await shown(), before)).not.toBe('');
    await page.locator('button[name="back"]').click();
    await page.locator('.status[data-drawn="4.-1"]').waitFor();
    expect(firstDifference(await shown(), before)).toBe('');
    // the scrubber too
    await page.locator('input[aria-label="step"]').fill('6');
    await page.locator('.status[data-drawn="6.-1"]').waitFor();
    await page.locator('input[aria-label="step"]').fill('4');
    await page.locator('.status[data-drawn="4.-1"]').waitFor();
    expect(firstDifference(await shown(), before)).toBe('');
    await page.close();
  });

  it('a shared link opens the same view: scenario, kernels and point', async () => {
    const page = await openExample(h, EX08, 'v5.0', 'rfc-2019');
    await gotoStep(page, KSM_STEP);
    await expect.poll(() => page.url()).toContain(`p=${KSM_STEP}.-1`);
    const shown = await page.locator('.sides').evaluate(serialize);
    const other = await h.context.newPage();
    await other.goto(page.url());
    await other.locator(`.status[data-drawn="${KSM_STEP}.-1"]`).waitFor();
    expect(firstDifference(await other.locator('.sides').evaluate(serialize), shown)).toBe('');
    await other.close();
    await page.close();
  });

  it('the what-if and schedule fields replay an interleaving, one lane per thread', async () => {
    const page = await openExample(h, RACE_FILE);
    await page.locator('input[name="set"]').fill('kvmChangePteBumpsSeq=nope');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.option-error').textContent()).toContain('kvmChangePteBumpsSeq');
    await page.locator('input[name="set"]').fill('kvmChangePteBumpsSeq=false');
    await page.keyboard.press('Enter');
    await page.locator('input[name="schedule"]').fill(RACE_SCHEDULE);
    await page.keyboard.press('Enter');
    await page.locator('.schedule-only .lane').nth(1).waitFor();
    expect(await page.locator('.schedule-only .tr.mine').count()).toBe(
      raceCounterexample().transitions.length,
    );
    await page.locator('header h1').click();
    await page.keyboard.press('End');
    await page.locator('.status[data-busy="no"]').waitFor();
    await expect.poll(() => page.locator('.side h2').textContent()).toContain('1 violation(s)');
    expect(page.url()).toContain('sch=');
    await page.close();
  });

  it('a counterexample replays to its marked transition, one lane per thread, and the states follow the schedule', async () => {
    const cx = raceCounterexample();
    const page = await h.context.newPage();
    await page.goto(h.url + counterexampleLink(JSON.stringify(cx)));
    const now = page.locator('.transition-now');
    await page.locator(`.transition-now[data-current="${cx.offending}"]`).waitFor();
    expect(await page.locator('.lane').count()).toBe(cx.threads.length);
    const offending = page.locator('.tr.offending');
    expect(await offending.count()).toBe(1);
    expect(await offending.getAttribute('data-transition')).toBe(String(cx.offending));
    expect(await offending.getAttribute('class')).toContain('current');
    expect(await now.textContent()).toContain('the offending one');
    // the stale spte the problem names is on screen
    const spte = page.locator('.grid-row[data-name="kvm:vm1"] .cell[data-page="0"]');
    expect(await spte.getAttribute('data-state')).toBe('stale-ro');
    expect(await page.locator('[data-violations]').textContent()).toContain(cx.problem.message);
    await snap(page, 'counterexample');
    // one transition back: the fault has not installed its spte yet, nothing is broken
    await page.locator('header h1').click();
    await page.keyboard.press('[');
    await page.locator(`.transition-now[data-current="${cx.offending - 1}"]`).waitFor();
    await page.locator('.status[data-busy="no"]').waitFor();
    await expect.poll(() => spte.getAttribute('data-state')).toBe('none');
    expect(await page.locator('[data-violations]').count()).toBe(0);
    // a transition of the other lane, by mouse
    await page.locator('.lane[data-thread="0"] .tr.mine').first().click();
    await page.locator('.transition-now[data-current="0"]').waitFor();
    await page.close();
  });

  it("replays mmsim check's own report to the marked transition", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-check-'));
    const path = join(dir, 'report.json');
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    const args = ['src/cli/entry.ts', 'check', RACE_FILE, '--set', 'kvmChangePteBumpsSeq=false', '--json'];
    const run = spawnSync(tsx, args, { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(1); // a counterexample found
    writeFileSync(path, run.stdout);
    const cx = JSON.parse(run.stdout).results[0].counterexamples[0];
    const page = await openExample(h, EX08);
    await page.locator('.open-file input').setInputFiles(path);
    await page.locator(`.transition-now[data-current="${cx.offending}"]`).waitFor();
    expect(await page.locator('.lane').count()).toBe(cx.threads.length);
    expect(await page.locator('.tr.offending').getAttribute('data-transition')).toBe(String(cx.offending));
    expect(await page.locator('.counterexample .bad', { hasText: 'the model has changed' }).count()).toBe(0);
    await expect.poll(() => page.locator('[data-violations]').textContent()).toContain(cx.problem.message);
    await snap(page, 'counterexample-from-check');
    await page.close();
  });

  it('opens a checker report from the file picker, by a drop and by a link to it', async () => {
    const cx = raceCounterexample();
    const report = JSON.stringify({
      format: 'mmsim-check',
      version: 1,
      file: cx.file,
      results: [
        {
          kernel: cx.kernel,
          complete: true,
          executions: 44,
          finalStates: 38,
          seconds: 1,
          counterexamples: [cx],
        },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-cx-'));
    const path = join(dir, 'check.json');
    writeFileSync(path, report);
    const replayed = (page: Page) =>
      page.locator(`.transition-now[data-current="${cx.offending}"]`).waitFor();
    const page = await openExample(h, EX08);
    await page.locator('.open-file input').setInputFiles(path);
    await replayed(page);
    expect(await page.locator('.cx-badge').textContent()).toContain('kvmChangePteBumpsSeq=false');
    await page.locator('.cx-badge button').click(); // back to the scenario: no schedule, no lanes
    await expect.poll(() => page.locator('.lanes').count()).toBe(0);
    const dropped = await page.evaluateHandle(
      `(() => { const d = new DataTransfer(); d.items.add(new File([${JSON.stringify(report)}], 'check.json')); return d; })()`,
    );
    await page.dispatchEvent('main', 'drop', { dataTransfer: dropped });
    await replayed(page);
    await page.close();
    const linked = await h.context.newPage();
    const url = `data:application/json;base64,${Buffer.from(report).toString('base64')}`;
    await linked.goto(`${h.url}#${new URLSearchParams({ cx: url }).toString()}`);
    await replayed(linked);
    await linked.close();
  });

  it('the gallery opens other scenarios: a device mirror and an IOMMU show their own rows', async () => {
    const page = await openExample(h, EX08);
    await page.locator('header h1').click();
    await page.keyboard.press('g');
    await page.locator('.card[data-file="examples/12-hmm-mirror-fork.yaml"]').click();
    await page.locator('.status[data-busy="no"][data-opened="examples/12-hmm-mirror-fork.yaml"]').waitFor();
    await page.locator('header h1').click();
    await page.keyboard.press('End');
    await page.locator('.grid-row[data-name="dev:gpu"]').first().waitFor();
    await page.keyboard.press('g');
    await snap(page, 'gallery', false);
    await page.locator('.card[data-file="examples/13-sva-wp-page-reuse.yaml"]').click();
    await page.locator('.status[data-busy="no"][data-opened="examples/13-sva-wp-page-reuse.yaml"]').waitFor();
    await page.locator('header h1').click();
    await page.keyboard.press('End');
    await page.locator('.grid-row[data-name="iommu:sva"]').first().waitFor();
    await page.close();
  });

  it('runs a named experiment in the browser and shows its table and chart', async () => {
    const page = await openExample(h, EX08);
    await page.locator('header h1').click();
    await page.keyboard.press('g');
    await page
      .locator('.card', { hasText: 'experiment change-pte' })
      .locator('button', { hasText: '¼' })
      .click();
    await page.locator('.experiment h2').waitFor({ timeout: 60_000 });
    const table = (await page.locator('.experiment pre.table').textContent()) ?? '';
    for (const k of ['v3.2', 'v5.0', 'rfc-2019', 'v6.10']) expect(table).toContain(k);
    expect(await page.locator('.experiment .chart svg').count()).toBe(1);
    await page.locator('.experiment button.close').click();
    await page.locator('.side').first().waitFor();
    await page.close();
  });

  it('the headline fleet (16k pages) draws its grids on canvas', async () => {
    const page = await openExample(h, 'gallery/headline-fleet.yaml');
    await page.locator('.status[data-busy="no"]').waitFor({ timeout: 60_000 });
    await page.locator('header h1').click();
    await page.keyboard.press('End');
    await page.locator('.status[data-busy="no"]').waitFor();
    await page.locator('.grid-row[data-name="kvm:vm3"] canvas').waitFor();
    expect(await page.locator('.side canvas').count()).toBe(8);
    expect(await page.locator('.side .cell').count()).toBe(0);
    await snap(page, 'headline-fleet');
    await page.close();
  });
});

/** `mmsim validate` on `text` saved as `file` (the same name, so the same message). */
function validateWithCli(file: string, text: string): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-validate-'));
  mkdirSync(join(dir, dirname(file)), { recursive: true });
  writeFileSync(join(dir, file), text);
  const entry = join(process.cwd(), 'src/cli/entry.ts');
  const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
  const r = spawnSync(tsx, [entry, 'validate', file], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** '' when equal, else a short excerpt around the first difference (a page's HTML is long). */
function firstDifference(a: string, b: string): string {
  if (a === b) return '';
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 80), i + 80))} vs ${JSON.stringify(b.slice(Math.max(0, i - 80), i + 80))}`;
}

/** The DOM as this file needs it (the tests compile without the DOM library). */
interface DomNode {
  nodeType: number;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
  tagName?: string;
  attributes?: ArrayLike<{ name: string; value: string }>;
}

/** An element's tree as text with sorted attributes (attribute order follows when each was set). */
function serialize(root: DomNode): string {
  const walk = (n: DomNode): string => {
    if (n.nodeType === 3) return n.textContent ?? '';
    if (n.nodeType !== 1) return '';
    const attrs = Array.from(n.attributes ?? [], (a) => `${a.name}=${JSON.stringify(a.value)}`).sort();
    return `<${n.tagName} ${attrs.join(' ')}>${Array.from(n.childNodes, walk).join('')}</${n.tagName}>`;
  };
  return walk(root);
}
