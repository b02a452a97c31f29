import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Backend } from '../../src/web/model/backend.js';
import { openSession, type Session } from '../../src/web/model/session.js';
import { PageState, SecondaryState } from '../../src/web/model/snapshot.js';
import { RACE_FILE, raceCounterexample } from './fixtures.js';

const EX08 = 'examples/08-guest-after-merge-v5.0.yaml';

function open(file: string, kernel?: 'v5.0' | 'rfc-2019'): Session {
  const r = openSession(readFileSync(file, 'utf8'), file, kernel === undefined ? {} : { kernel });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.session;
}

describe('web session', () => {
  it('records a snapshot after every step of example 08', () => {
    const s = open(EX08);
    expect(s.steps.map((x) => x.op)).toEqual(['spawn', 'mmap', 'madvise', 'vm', 'guest', 'ksm', 'guest']);
    expect(s.result?.ok).toBe(true);
    const ram = s.at(6).processes[0].vmas[0];
    expect(ram.name).toBe('ram');
    expect(ram.pages).toBe(8);
  });

  it('v5.0: the merged page is KSM and its spte is gone after the ksm step, back after the guest access', () => {
    const s = open(EX08);
    const afterKsm = s.at(5).processes[0].vmas[0];
    expect(afterKsm.state[0]).toBe(PageState.ksm);
    expect(afterKsm.secondaries[0].name).toBe('kvm:vm1');
    expect(afterKsm.secondaries[0].state[0]).toBe(SecondaryState.none);
    const afterRead = s.at(6).processes[0].vmas[0];
    expect(afterRead.secondaries[0].state[0]).toBe(SecondaryState.ro);
    expect(afterRead.secondaries[0].pfn[0]).toBe(afterRead.pfn[0]);
  });

  it('rfc-2019: change_pte re-points the spte to the KSM page', () => {
    const s = open(EX08, 'rfc-2019');
    const v = s.at(5).processes[0].vmas[0];
    expect(v.secondaries[0].state[0]).toBe(SecondaryState.ro);
    expect(v.secondaries[0].pfn[0]).toBe(v.pfn[0]);
  });

  it('records per-event states and one sentence per event naming a kernel function', () => {
    const s = open(EX08);
    const ksm = s.steps[5];
    expect(ksm.afterEvent.length).toBe(ksm.events.length);
    expect(ksm.afterEvent.every((x) => x !== null)).toBe(true);
    const sentences = s.sentences(5, 0, ksm.events.length);
    expect(sentences.length).toBe(ksm.events.length);
    expect(sentences.some((t) => t.includes('kvm_mmu_notifier_invalidate_range_start()'))).toBe(true);
    const brackets = s.brackets(5);
    expect(brackets.length).toBeGreaterThan(0);
    expect(brackets[0].by).toBe('write_protect_page');
    expect(brackets[0].items.some((i) => i.hit === false)).toBe(true);
  });

  it('stepping back returns the very state recorded before', () => {
    const s = open(EX08);
    const before = JSON.stringify(s.at(4), replacer);
    s.at(5);
    s.at(6);
    expect(JSON.stringify(s.at(4), replacer)).toBe(before);
  });

  it('the state after an event is the state before the next: a zap announced is a zap shown', () => {
    const s = open(EX08);
    const sentences = s.sentences(5, 0, s.steps[5].events.length);
    const zap = sentences.findIndex((t) => t.includes('zaps the sptes at 0x7ffff7ff8000'));
    const spte = (event: number) => s.at(5, event).processes[0].vmas[0].secondaries[0].state[1];
    expect(spte(zap - 1)).toBe(SecondaryState.rw);
    expect(spte(zap)).toBe(SecondaryState.none);
  });

  it('replays a counterexample: its transitions in the checker order, the stale spte at the offending one', () => {
    const cx = raceCounterexample();
    const r = openSession(cx.scenario, cx.file, {
      kernel: cx.kernel,
      profileOverrides: { kvmChangePteBumpsSeq: false },
      schedule: cx.schedule,
    });
    if (!r.ok) throw new Error('does not parse');
    const s = r.session;
    expect(s.transitions.map((t) => t.thread)).toEqual(cx.transitions.map((t) => t.thread));
    expect(s.transitions.map((t) => t.events)).toEqual(cx.transitions.map((t) => t.events.length));
    const at = (i: number) => s.at(s.transitions[i].step, s.transitions[i].event);
    const offending = at(cx.offending);
    const vm1 = offending.processes[0].vmas[0].secondaries[0];
    expect(vm1.name).toBe('kvm:vm1');
    expect(vm1.state[0]).toBe(SecondaryState.staleRo);
    expect(offending.violations).toEqual([`coherence: ${cx.problem.message}`]);
    expect(at(cx.offending - 1).violations).toEqual([]);
  });

  it('names the kernel function in every sentence of every example (the scenario steps and violations aside)', () => {
    const files = [
      ...readdirSync('examples')
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `examples/${f}`),
      ...readdirSync('examples/bugs').map((f) => `examples/bugs/${f}`),
      RACE_FILE,
    ];
    const unnamed: string[] = [];
    for (const f of files) {
      const s = open(f);
      s.steps.forEach((step, i) => {
        const kinds = step.events.map((e) => e.kind);
        s.sentences(i, 0, step.events.length).forEach((t, j) => {
          if (kinds[j] !== 'step' && kinds[j] !== 'violation' && !/[A-Za-z_]\w*\(\)/.test(t))
            unnamed.push(`${f}: ${t}`);
        });
      });
    }
    expect(unnamed).toEqual([]);
  });

  it('refuses what the page cannot keep, a schedule that does not fit and an unknown what-if field', () => {
    const b = new Backend();
    const text = (times: number) =>
      `mmsim: 1\nsteps:\n  - spawn: a\n  - mmap: { proc: a, size: 1p, prot: rw, as: buf }\n  - repeat: { times: ${times}, steps: [{ read: { proc: a, addr: buf, size: 1 } }] }\n`;
    const big = b.open({ kind: 'open', text: text(100_000), file: 'big.yaml', kernels: [] });
    expect(big.errors).toEqual([
      expect.objectContaining({
        file: 'big.yaml',
        line: 5,
        col: 5,
        message: expect.stringContaining('100,002 steps'),
      }),
    ]);
    const small = b.open({
      kind: 'open',
      text: text(10),
      file: 'small.yaml',
      kernels: [''],
      schedule: '0*3',
    });
    expect(small.optionError).toContain('no parallel step');
    const set = b.open({
      kind: 'open',
      text: text(10),
      file: 'small.yaml',
      kernels: [],
      settings: ['nope=1'],
    });
    expect(set.optionError).toContain("--set: unknown profile field 'nope'");
    expect(b.open({ kind: 'open', text: text(10), file: 'small.yaml', kernels: [''] }).steps[0].length).toBe(
      12,
    );
  });

  it('gives the parser line:col errors', () => {
    const r = openSession(
      'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: q, size: 1 page, prot: rw, as: a }\n',
      'x.yaml',
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ line: 4 });
  });
});

function replacer(_k: string, v: unknown): unknown {
  return ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v;
}
