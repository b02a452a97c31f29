import { describe, expect, it } from 'vitest';
import { errorsOf, lastStep, PREAMBLE, parseOk, scenarioWith } from './helpers.js';

describe('name checks, in step order', () => {
  it('a process must be spawned or forked before use, and not used after exit', () => {
    expect(
      errorsOf(
        scenarioWith([
          '- exit: a',
          '- spawn: a',
          '- fork: { proc: a, child: b }',
          '- exit: b',
          '- mmap: { proc: b, size: 1p, prot: r, as: m }',
        ]),
      ),
    ).toEqual([
      "3:11: unknown process 'a': it is defined later, at 4:12",
      "7:19: process 'b' exited at 6:5; 'mmap' cannot use it",
    ]);
  });

  it('a mapping name must come from an earlier mmap of that process', () => {
    expect(
      errorsOf(
        scenarioWith([
          '- spawn: p',
          '- spawn: q',
          '- write: { proc: p, addr: buf, fill: 1 }',
          '- mmap: { proc: p, size: 1p, prot: rw, as: buf }',
          '- write: { proc: q, addr: buf, fill: 1 }',
          '- write: { proc: p, addr: bfu+1p, fill: 1 }',
        ]),
      ),
    ).toEqual([
      "5:29: process 'p' has no mapping named 'buf'; name one with 'mmap ... as: buf' first",
      "7:29: process 'q' has no mapping named 'buf'; name one with 'mmap ... as: buf' first",
      "8:29: process 'p' has no mapping named 'bfu' (did you mean 'buf'?); name one with 'mmap ... as: bfu' first (its mappings: buf)",
    ]);
  });

  it("fork copies the parent's mapping names to the child", () => {
    const text = scenarioWith([
      ...PREAMBLE,
      '- fork: { proc: p, child: c }',
      '- write: { proc: c, addr: buf2+1p, fill: 1 }',
    ]);
    expect(lastStep(text)).toMatchObject({ addr: { proc: 'c', base: 'buf2', offset: 4096 } });
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- fork: { proc: p, child: c }',
          '- mmap: { proc: c, size: 1p, prot: r, as: buf }',
        ]),
      ),
    ).toEqual(["7:45: process 'c' already has a mapping named 'buf' (from 4:46)"]);
  });

  it('vms, devices, IOMMU bindings and pins are defined before use, each of its kind', () => {
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- guest: { vm: vm1, op: read, gfn: 0 }',
          '- vm: { name: vm1, proc: p, memslots: [{ gfn: 0, addr: buf, size: 1p }] }',
          '- dev: { device: vm1, op: read, addr: buf }',
          '- dma: { iommu: nic, op: read, addr: buf }',
          '- unpin: dio',
        ]),
      ),
    ).toEqual([
      "6:18: unknown vm 'vm1': it is defined later, at 7:17",
      "8:20: 'vm1' is a vm, not a device",
      "9:19: unknown IOMMU binding 'nic'; define it with an 'iommu' step first",
      "10:12: unknown pin 'dio'; take it with a 'gup ... as:' step first",
    ]);
  });

  it('names are unique across kinds', () => {
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- device: { name: p, proc: p }',
          '- gup: { proc: p, addr: buf, pages: 1, as: x }',
          '- iommu: { name: x, proc: p }',
        ]),
      ),
    ).toEqual([
      "6:21: 'p' is already the name of a process (at 3:12); names must be unique",
      "8:20: 'x' is already the name of a pin (at 7:46); names must be unique",
    ]);
  });

  it('a pin is released once', () => {
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- gup: { proc: p, addr: buf, pages: 1, as: x }',
          '- unpin: x',
          '- unpin: x',
        ]),
      ),
    ).toEqual(["8:12: pin 'x' was already released at 7:5"]);
  });

  it('device and IOMMU addresses are in the process they mirror', () => {
    const text = scenarioWith([
      ...PREAMBLE,
      '- spawn: q',
      '- iommu: { name: nic, proc: p }',
      '- dma: { iommu: nic, op: write, addr: buf+1p }',
    ]);
    expect(lastStep(text)).toMatchObject({ addr: { proc: 'p', base: 'buf' } });
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- spawn: q',
          '- device: { name: gpu, proc: p }',
          '- dev: { device: gpu, op: write, addr: q:buf }',
        ]),
      ),
    ).toEqual(["8:42: 'q:buf' is in process 'q', but this step works on 'p'"]);
  });

  it('memslot addresses are in the VM process', () => {
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- vm: { name: v, proc: p, memslots: [{ gfn: 0, addr: nope, size: 1p }] }',
        ]),
      ),
    ).toEqual([
      "6:56: process 'p' has no mapping named 'nope'; name one with 'mmap ... as: nope' first (its mappings: buf, buf2)",
    ]);
  });

  it('expectations: qualified addresses, or the only process, or the step’s process', () => {
    const one = parseOk(scenarioWith(PREAMBLE, ['- zero_page: buf']));
    expect(one.expect[0]).toMatchObject({ addr: { proc: 'p', base: 'buf' } });
    expect(
      errorsOf(scenarioWith([...PREAMBLE, '- spawn: q'], ['- zero_page: buf', '- ksm_page: r:buf'])),
    ).toEqual([
      "8:16: 'buf': say which process it is in, e.g. 'p:buf' (there are 2 processes)",
      "9:15: unknown process 'r'; spawn it (or fork it as 'child') first; known: p, q",
    ]);
    expect(errorsOf(scenarioWith([], ['- zero_page: buf']))).toEqual([
      "3:16: 'buf': there is no process yet whose address this could be",
    ]);
    const stepLevel = lastStep(
      scenarioWith([
        ...PREAMBLE,
        '- fork: { proc: p, child: c }',
        '  expect:',
        '    - same_frame: [buf, c:buf]',
      ]),
    );
    expect(stepLevel.expect?.[0]).toMatchObject({ addrs: [{ proc: 'p' }, { proc: 'c' }] });
  });

  it('expectations may look at exited processes, and counters name existing agents', () => {
    expect(
      errorsOf(
        scenarioWith(
          [...PREAMBLE, '- exit: p'],
          [
            '- not_mapped: p:buf',
            '- signal: { proc: p, is: SIGSEGV }',
            '- counters: { kvm.vm1.faults: 0, dev.p.faults: 0 }',
          ],
        ),
      ),
    ).toEqual([
      "10:17: unknown vm 'vm1'; define it with a 'vm' step first",
      "10:36: 'p' is a process, not a device",
    ]);
  });

  it('repeat bodies are checked once, in order; parallel threads see only their own definitions', () => {
    expect(
      parseOk(
        scenarioWith([
          ...PREAMBLE,
          '- repeat: { times: 3, steps: [ { gup: { proc: p, addr: buf, pages: 1, as: dio } }, { unpin: dio } ] }',
          '- parallel: { threads: [ [ { fork: { proc: p, child: c } } ], [ { write: { proc: p, addr: buf, fill: 1 } } ] ] }',
          '- exit: c',
        ]),
      ).steps,
    ).toHaveLength(6);
    expect(
      errorsOf(scenarioWith([...PREAMBLE, '- parallel: { threads: [ [ { spawn: a } ], [ { exit: a } ] ] }'])),
    ).toEqual(["6:56: unknown process 'a': it is defined at 6:39, in another parallel thread"]);
  });

  it('stays quiet about names a broken step may have defined', () => {
    expect(
      errorsOf(
        scenarioWith([
          '- spawn: p',
          '- mmap: { proc: p, size: lots, prot: rw, as: buf }',
          '- write: { proc: p, addr: buf, fill: 1 }',
        ]),
      ),
    ).toEqual([
      "4:28: mmap.size: expected a size (4096, 0x1000, 16KiB, 2MiB, 1GiB, 8 pages or 8p), got 'lots'",
    ]);
    expect(errorsOf(scenarioWith(['- spwan: p', '- exit: p']))).toHaveLength(1);
  });
});
