import { describe, expect, it } from 'vitest';
import { KERNEL_NAMES } from '../../src/scenario/ast.js';
import { parseScenario } from '../../src/scenario/parse.js';
import {
  examples,
  lastStep,
  onlyExpectation,
  PREAMBLE,
  parseOk,
  scenarioWith,
  withoutPositions,
} from './helpers.js';

/** The last step of a scenario made of the preamble and the given step lines, without positions. */
const step = (...lines: string[]) => withoutPositions(lastStep(scenarioWith([...PREAMBLE, ...lines])));

/** The single top-level expectation after the preamble, without positions. */
const expectation = (line: string) => withoutPositions(onlyExpectation(scenarioWith(PREAMBLE, [line])));

/** An address as the parser gives it; `base: null` for a plain number. */
const addr = (text: string, offset: number, base: string | null = 'buf', proc = 'p') => ({
  proc,
  ...(base === null ? {} : { base }),
  offset,
  text,
});

describe('top level', () => {
  it('fills in every default', () => {
    const scenario = parseOk('mmsim: 1\n', 'dir/my-scenario.yaml');
    expect(scenario).toEqual({
      mmsim: 1,
      name: 'my-scenario',
      description: '',
      kernel: 'v5.0',
      seed: 1,
      machine: { ramBytes: 256 * 1024 * 1024, cpus: 2 },
      ksm: {
        pagesToScan: 100,
        useZeroPages: false,
        maxPageSharing: 256,
        mergeAcrossNodes: true,
        sleepMillisecs: 20,
      },
      checks: { invariants: 'every_step', changePteRule: 'v2' },
      steps: [],
      expect: [],
    });
  });

  it('reads every top-level key', () => {
    const scenario = parseOk(
      [
        'mmsim: 1',
        'name: ksm-merge',
        'description: free text',
        'kernel: rfc-2019-aa',
        'seed: 4294967295',
        'machine: { ram: 1024 pages, cpus: 4 }',
        'ksm: { pages_to_scan: 10, use_zero_pages: true, max_page_sharing: 2, merge_across_nodes: false, sleep_millisecs: 0 }',
        'checks: { invariants: at_end, change_pte_rule: strict }',
      ].join('\n'),
    );
    expect(scenario).toMatchObject({
      name: 'ksm-merge',
      description: 'free text',
      kernel: 'rfc-2019-aa',
      seed: 4294967295,
      machine: { ramBytes: 1024 * 4096, cpus: 4 },
      ksm: {
        pagesToScan: 10,
        useZeroPages: true,
        maxPageSharing: 2,
        mergeAcrossNodes: false,
        sleepMillisecs: 0,
      },
      checks: { invariants: 'at_end', changePteRule: 'strict' },
    });
  });

  it.each(KERNEL_NAMES)('accepts kernel %s', (kernel) => {
    expect(parseOk(`mmsim: 1\nkernel: ${kernel}\n`).kernel).toBe(kernel);
  });

  it.each([
    ['256MiB', 256 * 1024 * 1024],
    ['1GiB', 1024 ** 3],
    ['65536 pages', 65536 * 4096],
    ['16777216', 16777216],
  ])('reads ram %s', (ram, bytes) => {
    expect(parseOk(`mmsim: 1\nmachine: { ram: ${ram} }\n`).machine).toEqual({ ramBytes: bytes, cpus: 2 });
  });

  it('accepts a $schema key, for editors', () => {
    expect(parseOk('{"$schema": "../schema/scenario.schema.json", "mmsim": 1}', 'x.json').name).toBe('x');
  });
});

describe('steps', () => {
  it('spawn, long and short', () => {
    expect(withoutPositions(parseOk(scenarioWith(['- spawn: { proc: a }', '- spawn: b'])).steps)).toEqual([
      { op: 'spawn', proc: 'a' },
      { op: 'spawn', proc: 'b' },
    ]);
  });

  it('mmap', () => {
    expect(step('- mmap: { proc: p, size: 2MiB, prot: rx, as: code, at: 0x400000, shared: true }')).toEqual({
      op: 'mmap',
      proc: 'p',
      size: 2 * 1024 * 1024,
      prot: 'rx',
      as: 'code',
      at: addr('0x400000', 0x400000, null),
      shared: true,
    });
    expect(step('- mmap: { proc: p, size: 1, prot: none, as: guard, at: buf+4p }')).toMatchObject({
      size: 1,
      prot: 'none',
      shared: false,
      at: addr('buf+4p', 4 * 4096),
    });
  });

  it('munmap, mprotect, madvise', () => {
    expect(step('- munmap: { proc: p, addr: buf+1p, size: 2p }')).toEqual({
      op: 'munmap',
      proc: 'p',
      addr: addr('buf+1p', 4096),
      size: 8192,
    });
    expect(step('- mprotect: { proc: p, addr: buf, size: 4p, prot: r }')).toEqual({
      op: 'mprotect',
      proc: 'p',
      addr: addr('buf', 0),
      size: 4 * 4096,
      prot: 'r',
    });
    for (const advice of ['mergeable', 'unmergeable', 'dontneed', 'nohugepage']) {
      expect(step(`- madvise: { proc: p, addr: buf, size: 16KiB, advice: ${advice} }`)).toEqual({
        op: 'madvise',
        proc: 'p',
        addr: addr('buf', 0),
        size: 16384,
        advice,
      });
    }
  });

  it('write with data, bytes, fill and pattern', () => {
    expect(step('- write: { proc: p, addr: buf+0x10, data: "héllo" }')).toEqual({
      op: 'write',
      proc: 'p',
      addr: addr('buf+0x10', 16),
      size: 6, // UTF-8 bytes, not characters
      data: 'héllo',
    });
    expect(step('- write: { proc: p, addr: buf, bytes: [0, 0x7f, 255] }')).toMatchObject({
      size: 3,
      bytes: [0, 127, 255],
    });
    expect(step('- write: { proc: p, addr: buf, fill: 0xaa }')).toMatchObject({ size: 4096, fill: 0xaa });
    expect(step('- write: { proc: p, addr: buf, fill: 1, size: 100 }')).toMatchObject({ size: 100, fill: 1 });
    expect(step('- write: { proc: p, addr: buf, pattern: { seed: 9, pages: 3 } }')).toMatchObject({
      size: 3 * 4096,
      pattern: { seed: 9, pages: 3 },
    });
    expect(step('- write: { proc: p, addr: buf, pattern: { seed: 9 } }')).toMatchObject({
      size: 4096,
      pattern: { seed: 9, pages: 1 },
    });
    expect(step('- write: { proc: p, addr: buf, pattern: 5 }')).toMatchObject({
      pattern: { seed: 5, pages: 1 },
    });
  });

  it('read, with and without its expected bytes', () => {
    expect(step('- read: { proc: p, addr: buf }')).toEqual({
      op: 'read',
      proc: 'p',
      addr: addr('buf', 0),
      size: 4096,
    });
    expect(step('- read: { proc: p, addr: buf, expect: "ab" }')).toMatchObject({ size: 2, equals: [97, 98] });
    expect(step('- read: { proc: p, addr: buf, size: 2, expect: [1, 2] }')).toMatchObject({
      size: 2,
      equals: [1, 2],
    });
    expect(step('- read: { proc: p, addr: buf, size: 8 }')).toMatchObject({ size: 8 });
  });

  it('fork and exit', () => {
    expect(step('- fork: { proc: p, child: c }')).toEqual({ op: 'fork', proc: 'p', child: 'c' });
    expect(step('- exit: { proc: p }')).toEqual({ op: 'exit', proc: 'p' });
    expect(step('- exit: p')).toEqual({ op: 'exit', proc: 'p' });
  });

  it('ksm', () => {
    expect(step('- ksm: { scan: 100 pages }')).toEqual({ op: 'ksm', scanPages: 100 });
    expect(step('- ksm: { scan: 100 }')).toEqual({ op: 'ksm', scanPages: 100 });
    expect(step('- ksm: { scan: 2MiB }')).toEqual({ op: 'ksm', scanPages: 512 });
    expect(step('- ksm: { full_scans: 2 }')).toEqual({ op: 'ksm', fullScans: 2 });
  });

  it('vm and guest', () => {
    const vm =
      '- vm: { name: vm1, proc: p, memslots: [{ gfn: 0, addr: buf, size: 4p }, { gfn: 16, addr: buf2, size: 16KiB }] }';
    expect(step(vm)).toEqual({
      op: 'vm',
      name: 'vm1',
      proc: 'p',
      memslots: [
        { gfn: 0, addr: addr('buf', 0), size: 16384 },
        { gfn: 16, addr: addr('buf2', 0, 'buf2'), size: 16384 },
      ],
      vcpus: 1,
    });
    expect(step(vm.replace(' }] }', ' }], vcpus: 4 }'))).toMatchObject({ vcpus: 4 });
    expect(step(vm, '- guest: { vm: vm1, op: read, gfn: 2 }')).toEqual({
      op: 'guest',
      vm: 'vm1',
      access: 'read',
      gfn: 2,
      gpa: 8192,
      pages: 1,
    });
    expect(step(vm, '- guest: { vm: vm1, op: write, gpa: 0x1010, pages: 2, data: hi }')).toEqual({
      op: 'guest',
      vm: 'vm1',
      access: 'write',
      gfn: 1,
      gpa: 0x1010,
      pages: 2,
      size: 2,
      data: 'hi',
    });
    expect(step(vm, '- guest: { vm: vm1, op: write, gfn: 0, pages: 4, pattern: { seed: 3 } }')).toMatchObject(
      {
        size: 4096,
        pattern: { seed: 3, pages: 4 },
      },
    );
    expect(step(vm, '- guest: { vm: vm1, op: write, gfn: 0, fill: 1, size: 8 }')).toMatchObject({
      fill: 1,
      size: 8,
    });
    expect(step(vm, '- guest: { vm: vm1, op: write, gfn: 0 }')).toEqual({
      op: 'guest',
      vm: 'vm1',
      access: 'write',
      gfn: 0,
      gpa: 0,
      pages: 1,
    });
  });

  it('device and dev, iommu and dma', () => {
    expect(step('- device: { name: gpu, proc: p }')).toEqual({ op: 'device', name: 'gpu', proc: 'p' });
    expect(
      step('- device: { name: gpu, proc: p }', '- dev: { device: gpu, op: write, addr: buf, pages: 2 }'),
    ).toEqual({
      op: 'dev',
      device: 'gpu',
      access: 'write',
      addr: addr('buf', 0),
      pages: 2,
    });
    expect(step('- iommu: { name: nic, proc: p }')).toEqual({ op: 'iommu', name: 'nic', proc: 'p' });
    expect(
      step('- iommu: { name: nic, proc: p }', '- dma: { iommu: nic, op: read, addr: p:buf+1p }'),
    ).toEqual({
      op: 'dma',
      iommu: 'nic',
      access: 'read',
      addr: addr('p:buf+1p', 4096),
      pages: 1,
    });
  });

  it('gup and unpin', () => {
    expect(step('- gup: { proc: p, addr: buf, pages: 2, as: dio }')).toEqual({
      op: 'gup',
      proc: 'p',
      addr: addr('buf', 0),
      pages: 2,
      write: false,
      pin: true,
      as: 'dio',
    });
    expect(step('- gup: { proc: p, addr: buf, pages: 1p, write: true, pin: false, as: r }')).toMatchObject({
      write: true,
      pin: false,
    });
    expect(step('- gup: { proc: p, addr: buf, pages: 1, as: dio }', '- unpin: dio')).toEqual({
      op: 'unpin',
      pin: 'dio',
    });
    expect(step('- gup: { proc: p, addr: buf, pages: 1, as: dio }', '- unpin: { pin: dio }')).toEqual({
      op: 'unpin',
      pin: 'dio',
    });
  });

  it('repeat and parallel, nested', () => {
    const parsed = step(
      '- repeat:',
      '    times: 3',
      '    steps:',
      '      - write: { proc: p, addr: buf, fill: 1 }',
      '      - parallel:',
      '          threads:',
      '            - [ { read: { proc: p, addr: buf } } ]',
      '            - - munmap: { proc: p, addr: buf2, size: 1p }',
      '              - exit: p',
    );
    expect(parsed).toEqual({
      op: 'repeat',
      times: 3,
      steps: [
        { op: 'write', proc: 'p', addr: addr('buf', 0), size: 4096, fill: 1 },
        {
          op: 'parallel',
          threads: [
            [{ op: 'read', proc: 'p', addr: addr('buf', 0), size: 4096 }],
            [
              { op: 'munmap', proc: 'p', addr: addr('buf2', 0, 'buf2'), size: 4096 },
              { op: 'exit', proc: 'p' },
            ],
          ],
        },
      ],
    });
  });

  it("carries a step's own expectations, defaulting addresses to the step's process", () => {
    const parsed = lastStep(
      scenarioWith([
        ...PREAMBLE,
        '- write: { proc: p, addr: buf, data: x }',
        '  expect:',
        '    - writable: buf',
      ]),
    );
    expect(withoutPositions(parsed.expect)).toEqual([
      { kind: 'writable', addr: addr('buf', 0), text: 'writable: buf' },
    ]);
  });

  it('records file:line:col of every step and expectation', () => {
    const text = [
      'mmsim: 1',
      'steps:',
      '  - spawn: p',
      '  -   exit: p',
      '      expect:',
      '        - invariants: hold',
    ];
    const [spawn, exit] = parseOk(text.join('\n'), 'f.yaml').steps;
    expect(spawn.pos).toEqual({ file: 'f.yaml', line: 3, col: 5 });
    expect(exit.pos).toEqual({ file: 'f.yaml', line: 4, col: 7 });
    expect(exit.expect?.[0].pos).toEqual({ file: 'f.yaml', line: 6, col: 11 });
  });

  it('records positions in JSON too', () => {
    const text =
      '{\n  "mmsim": 1,\n  "steps": [\n    {"spawn": "p"},\n      {"exit": {"proc": "p"}}\n  ]\n}\n';
    const [spawn, exit] = parseOk(text, 'f.json').steps;
    expect(spawn.pos).toMatchObject({ line: 4, col: 6 });
    expect(exit.pos).toMatchObject({ line: 5, col: 8 });
  });

  it('follows YAML anchors and aliases', () => {
    const text = [
      'mmsim: 1',
      'steps:',
      '  - spawn: p',
      '  - mmap: &m { proc: p, size: 1p, prot: rw, as: a }',
      '  - write: &w { proc: p, addr: a, fill: 1 }',
      '  - repeat: { times: 2, steps: [ { write: *w } ] }',
    ].join('\n');
    const steps = parseOk(text).steps;
    expect(steps[3]).toMatchObject({ op: 'repeat', steps: [{ op: 'write', fill: 1 }] });
  });
});

describe('expectations', () => {
  it('same_frame and distinct_frames', () => {
    expect(expectation('- same_frame: [p:buf, p:buf2+1p, buf]')).toEqual({
      kind: 'same_frame',
      addrs: [addr('p:buf', 0), addr('p:buf2+1p', 4096, 'buf2'), addr('buf', 0)],
      text: 'same_frame: [p:buf, p:buf2+1p, buf]',
    });
    expect(expectation('- distinct_frames: [p:buf, p:buf2]')).toMatchObject({ kind: 'distinct_frames' });
  });

  it.each(['zero_page', 'ksm_page', 'not_mapped', 'writable', 'read_only'])('%s', (kind) => {
    expect(expectation(`- ${kind}: p:buf+2p`)).toEqual({
      kind,
      addr: addr('p:buf+2p', 8192),
      text: `${kind}: p:buf+2p`,
    });
  });

  it('reads', () => {
    expect(expectation('- reads: { at: p:buf, equals: "hi" }')).toEqual({
      kind: 'reads',
      at: addr('p:buf', 0),
      equals: [104, 105],
      text: 'reads: {at: p:buf, equals: "hi"}',
    });
    expect(expectation('- reads: { at: p:buf, equals: [0, 1] }')).toMatchObject({
      equals: [0, 1],
      text: 'reads: {at: p:buf, equals: [0, 1]}',
    });
  });

  it('counters', () => {
    const text = scenarioWith(
      [...PREAMBLE, '- vm: { name: vm1, proc: p, memslots: [{ gfn: 0, addr: buf, size: 1p }] }'],
      [
        '- counters:',
        '    ksm.pages_sharing: 3',
        '    kvm.vm1.faults: ">= 1"',
        '    tlb.flush_remote: "!= 0"',
      ],
    );
    const parsed = onlyExpectation(text);
    expect(withoutPositions(parsed)).toEqual({
      kind: 'counters',
      checks: [
        { name: 'ksm.pages_sharing', op: '==', value: 3 },
        { name: 'kvm.vm1.faults', op: '>=', value: 1 },
        { name: 'tlb.flush_remote', op: '!=', value: 0 },
      ],
      text: 'counters: {ksm.pages_sharing == 3, kvm.vm1.faults >= 1, tlb.flush_remote != 0}',
    });
    expect(parsed.kind === 'counters' && parsed.checks[1].pos).toMatchObject({ line: 10, col: 7 });
  });

  it('signal and invariants', () => {
    expect(expectation('- signal: { proc: p, is: SIGSEGV }')).toEqual({
      kind: 'signal',
      proc: 'p',
      signal: 'SIGSEGV',
      text: 'signal: {proc: p, is: SIGSEGV}',
    });
    expect(expectation('- invariants: hold')).toEqual({ kind: 'invariants', text: 'invariants: hold' });
  });
});

describe('the examples', () => {
  it.each(examples())('%s is a valid scenario', (file, text) => {
    const result = parseScenario(text, file);
    expect(result.ok && result.scenario.steps.length).toBeGreaterThan(0);
  });

  it('YAML and JSON spellings of a scenario give the same AST', () => {
    const yaml =
      'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 2p, prot: rw, as: b }\nexpect:\n  - zero_page: b+1p\n';
    const json = JSON.stringify({
      mmsim: 1,
      steps: [{ spawn: 'p' }, { mmap: { proc: 'p', size: '2p', prot: 'rw', as: 'b' } }],
      expect: [{ zero_page: 'b+1p' }],
    });
    expect(withoutPositions(parseOk(json, 's.json'))).toEqual(withoutPositions(parseOk(yaml, 's.yaml')));
  });
});
