import { describe, expect, it } from 'vitest';
import { formatError, parseScenario } from '../../src/scenario/parse.js';
import { errorsOf, PREAMBLE, scenarioWith } from './helpers.js';

describe('errors, each at its exact line:col', () => {
  it('an unknown key, with the allowed ones and a suggestion', () => {
    expect(errorsOf(scenarioWith(['- spawn: { proc: a, prco: 1 }']))).toEqual([
      "3:23: unknown key 'prco' in spawn (did you mean 'proc'?); allowed: proc",
    ]);
    expect(errorsOf('mmsim: 1\nsteeps: []\n')).toEqual([
      "2:1: unknown key 'steeps' at the top level (did you mean 'steps'?); allowed: $schema, mmsim, name, description, kernel, seed, machine, ksm, checks, steps, expect",
    ]);
  });

  it('a bad size, saying what sizes look like', () => {
    expect(
      errorsOf(scenarioWith(['- spawn: a', '- mmap: { proc: a, size: 16KB, prot: rw, as: buf }'])),
    ).toEqual([
      "4:28: mmap.size: expected a size (4096, 0x1000, 16KiB, 2MiB, 1GiB, 8 pages or 8p), got '16KB' (unknown unit 'KB': did you mean 'KiB'? Units are binary and case-sensitive)",
    ]);
    expect(errorsOf('mmsim: 1\nmachine:\n  ram: 1000\n')).toEqual([
      '3:8: machine.ram: expected a size (4096, 0x1000, 16KiB, 2MiB, 1GiB, 8 pages or 8p) that is a whole number of pages, got 1000 (1000 is not a multiple of 4096)',
    ]);
  });

  it('an unknown process', () => {
    expect(errorsOf(scenarioWith(['- spawn: parent', '- fork: { proc: parnet, child: c }']))).toEqual([
      "4:19: unknown process 'parnet' (did you mean 'parent'?); spawn it (or fork it as 'child') first; known: parent",
    ]);
  });

  it('an unknown kernel', () => {
    expect(errorsOf('mmsim: 1\nkernel: v5.1\n')).toEqual([
      "2:9: kernel: expected one of v3.2, v5.0, rfc-2019, rfc-2019-aa, v6.10, v6.18, got 'v5.1' (did you mean 'v5.0'?)",
    ]);
    expect(errorsOf('mmsim: 1\nkernel: 5.0\n')).toEqual([
      '2:9: kernel: expected one of v3.2, v5.0, rfc-2019, rfc-2019-aa, v6.10, v6.18, got 5.0',
    ]);
  });

  it('a YAML syntax error, alone (no follow-on noise)', () => {
    expect(errorsOf('mmsim: 1\nsteps:\n  - spawn: a\n   - exit: a\n')).toEqual([
      '4:4: invalid YAML: All sequence items must start at the same column',
    ]);
    expect(errorsOf('mmsim: 1\nname: a: b\n')).toEqual([
      '2:7: invalid YAML: Nested mappings are not allowed in compact mappings',
    ]);
    expect(errorsOf('mmsim: 1\nsteps:\n\t- spawn: a\n')).toEqual([
      '3:1: invalid YAML: Tabs are not allowed as indentation',
    ]);
  });

  it('a JSON syntax error, in JSON terms', () => {
    const missingComma = '{\n  "mmsim": 1,\n  "steps": [\n    {"spawn": "a"}\n    {"exit": "a"}\n  ]\n}\n';
    expect(errorsOf(missingComma, 'f.json')).toEqual([
      "5:5: invalid JSON: expected ',' or ']' after the array item, found '{'",
    ]);
    expect(errorsOf('{"mmsim": 1,\n "seed": 1 "kernel": "v5.0"}\n', 'f.json')).toEqual([
      `2:12: invalid JSON: expected ',' or '}' after the property value, found '"'`,
    ]);
    expect(errorsOf('{"mmsim": 1,\n "steps": [\n', 'f.json')).toEqual([
      '3:1: invalid JSON: expected a value (object, array, string, number, true, false or null), found the end of the file',
    ]);
    expect(errorsOf('{"mmsim": 1, "steps": [],\n}', 'f.json')).toEqual([
      "2:1: invalid JSON: a trailing comma is not allowed before '}'",
    ]);
    expect(errorsOf('{"mmsim": 1, // version\n}', 'f.json')).toEqual([
      '1:14: invalid JSON: comments are not allowed in JSON',
    ]);
    expect(errorsOf('{"mmsim": 1, "name": "a\n"}', 'f.json')).toEqual([
      '1:24: invalid JSON: the string is not closed on its line',
    ]);
    // Without a .json name, text that starts like JSON but is not is judged as YAML flow style.
    expect(errorsOf('{"mmsim": 1 "seed": 2}', 'stdin')).toEqual([
      `1:13: invalid JSON: expected ',' or '}' after the property value, found '"'`,
    ]);
  });

  it('a JSON error position in a valid JSON document', () => {
    const text =
      '{\n  "mmsim": 1,\n  "steps": [\n    {"spawn": {"proc": "a", "size": 3}}\n  ],\n  "seed": "one"\n}\n';
    expect(errorsOf(text, 'f.json')).toEqual([
      "4:29: unknown key 'size' in spawn; allowed: proc",
      "6:11: seed: expected a seed from 0 to 2^32-1, got 'one'",
    ]);
  });

  it('wrong types', () => {
    expect(
      errorsOf(
        scenarioWith([
          ...PREAMBLE,
          '- write: { proc: p, addr: [buf], fill: "1" }',
          '- mmap: { proc: p, size: 1p, prot: rw, as: x, shared: yes }',
        ]),
      ),
    ).toEqual([
      '6:29: write.addr: expected an address (buf, buf+3p, buf+0x10, buf+2 pages, 0x7f0000000000, or process-qualified: parent:buf+2p), got a list',
      "6:42: write.fill: expected a byte (0..255), got '1'",
      "7:57: mmap.shared: expected true or false, got 'yes'",
    ]);
    expect(errorsOf('mmsim: 1\nsteps: {spawn: a}\n')).toEqual([
      '2:8: steps: expected a list of steps, got a map',
    ]);
    expect(errorsOf('mmsim: 1\nseed: 1.5\n')).toEqual([
      '2:7: seed: expected a seed from 0 to 2^32-1, got 1.5 (not an exact whole number)',
    ]);
    expect(errorsOf('mmsim: 1\nseed: 123456789012345678901234567890\n')).toEqual([
      '2:7: seed: expected a seed from 0 to 2^32-1, got 123456789012345678901234567890 (not an exact whole number)',
    ]);
  });

  it('missing required fields, at the operation', () => {
    expect(errorsOf(scenarioWith(['- spawn: p', '- mmap: { proc: p, prot: rw }']))).toEqual([
      "4:5: mmap needs 'size'",
      "4:5: mmap needs 'as'",
    ]);
    expect(errorsOf(scenarioWith(['- spawn:']))).toEqual([
      '3:11: spawn: expected the fields of spawn (proc), or just the proc name, got nothing',
    ]);
  });

  it('a step with zero or two operations', () => {
    expect(errorsOf(scenarioWith(['- spawn: a', '  exit: a']))).toEqual([
      "4:5: a step has one operation, but this one has 'spawn' and 'exit'; make them two steps",
    ]);
    expect(errorsOf(scenarioWith(['- expect: []']))).toEqual([
      '3:5: a step needs an operation, one of: spawn, mmap, munmap, mprotect, madvise, write, read, fork, exit, ksm, vm, guest, device, dev, iommu, dma, gup, unpin, pin_io, repeat, parallel',
    ]);
    expect(errorsOf(scenarioWith(['- proc: a']))[0]).toBe(
      "3:5: 'proc' is not an operation; fields go inside the operation's map, e.g. '- spawn: {proc: a}'",
    );
    expect(errorsOf(scenarioWith(['- spwan: a']))[0]).toMatch(
      /^3:5: unknown operation 'spwan' \(did you mean 'spawn'\?\)/,
    );
  });

  it('the format version', () => {
    expect(errorsOf('mmsim: 2\n')).toEqual([
      '1:8: mmsim: expected the format version 1, got 2 (this mmsim reads version 1 only)',
    ]);
    expect(errorsOf('name: x\n')).toEqual(["1:1: missing 'mmsim: 1' (the format version) at the top level"]);
    expect(errorsOf('')).toEqual(["1:1: the file is empty; a scenario is a map that starts with 'mmsim: 1'"]);
    expect(errorsOf('- mmsim: 1\n')).toEqual([
      "1:1: scenario: expected a scenario: a map with 'mmsim: 1', 'steps' and 'expect', got a list",
    ]);
  });

  it('duplicate keys, naming the first', () => {
    expect(errorsOf('mmsim: 1\nseed: 1\nseed: 2\n')).toEqual([
      "3:1: duplicate key 'seed' at the top level (first at 2:1)",
    ]);
    expect(errorsOf(scenarioWith(['- spawn: { proc: a, proc: b }']))).toEqual([
      "3:23: duplicate key 'proc' in spawn (first at 3:14)",
    ]);
  });

  it('unknown expectation kinds and counters', () => {
    expect(errorsOf(scenarioWith(PREAMBLE, ['- zero_pag: p:buf']))).toEqual([
      "7:5: unknown expectation 'zero_pag' (did you mean 'zero_page'?); one of: same_frame, distinct_frames, zero_page, ksm_page, not_mapped, writable, read_only, reads, counters, signal, invariants, violations",
    ]);
    expect(
      errorsOf(scenarioWith([], ['- counters: { ksm.pages_sharng: 1, faults.cow_copy: "=1" }'])),
    ).toEqual([
      "3:17: unknown counter 'ksm.pages_sharng': expected a counter name (faults.*, tlb.*, notifier.*, ksm.*, kvm.VM.*, dev.DEVICE.*, iommu.IOMMU.*) (ksm counters are pages_shared, pages_sharing, pages_unshared, pages_volatile, ksm_zero_pages, full_scans, pages_scanned, stable_node_chains, stable_node_dups)",
      `3:55: counters.faults.cow_copy: expected a count or a comparison such as ">= 1" (ops: == != < <= > >=), got '=1' (use '==' for equality)`,
    ]);
  });

  it("a step's expectations written inside the operation", () => {
    expect(
      errorsOf(scenarioWith([...PREAMBLE, '- write: { proc: p, addr: buf, fill: 1, expect: [] }'])),
    ).toEqual([
      "6:43: write has no field 'expect'; a step's own expectations go beside the operation key: '- write: {...}' and 'expect: [...]' at the same indentation",
    ]);
  });

  it('reports every error, structural and name errors alike, sorted by position', () => {
    const steps = ['- spawn: a', '- mmap: { proc: b, size: 0, prot: x, as: buf }', '- exit: zz'];
    expect(errorsOf(scenarioWith(steps, ['- invariants: fine']))).toEqual([
      '4:28: mmap.size: expected a size (4096, 0x1000, 16KiB, 2MiB, 1GiB, 8 pages or 8p), got 0 (it must be at least 1 byte)',
      "4:37: mmap.prot: expected one of none, r, rw, rx, rwx, got 'x' (did you mean 'rx'?)",
      "5:11: unknown process 'zz'; spawn it (or fork it as 'child') first; known: a",
      "7:17: invariants: expected 'hold', got 'fine'",
    ]);
  });

  it('counts columns as editors do, with CRLF line ends and a byte-order mark', () => {
    expect(errorsOf('mmsim: 1\r\nsteps:\r\n  - spawn: a\r\n  - exit: b\r\n')).toEqual([
      "4:11: unknown process 'b'; spawn it (or fork it as 'child') first; known: a",
    ]);
    expect(errorsOf('\uFEFF{"mmsim": 1, "seed": -1}', 'bom.json')).toEqual([
      '1:22: seed: expected a seed from 0 to 2^32-1, got -1',
    ]);
  });

  it('never throws, even when called wrongly from JavaScript', () => {
    const result = parseScenario(undefined as unknown as string, 'x.yaml');
    expect(result.ok).toBe(false);
  });

  it('formats errors as file:line:col: error: message', () => {
    const result = parseScenario('mmsim: 1\nseed: x\n', 'dir/s.yaml');
    expect(result.ok ? [] : result.errors.map(formatError)).toEqual([
      "dir/s.yaml:2:7: error: seed: expected a seed from 0 to 2^32-1, got 'x'",
    ]);
  });

  it('bounds alias expansion and nesting instead of hanging or overflowing', () => {
    expect(errorsOf('mmsim: 1\nsteps: &s\n  - repeat: { times: 1, steps: *s }\n')).toContain(
      '3:3: repeat/parallel nested more than 32 deep',
    );
    const steps = ['mmsim: 1', 'steps:', '  - spawn: p', '  - mmap: {proc: p, size: 1p, prot: rw, as: b}'];
    const bomb = [
      ...steps,
      '  - repeat: {times: 1, steps: &l0 [{write: {proc: p, addr: b, fill: 1}}, {write: {proc: p, addr: b, fill: 2}}]}',
    ];
    for (let i = 1; i < 20; i++)
      bomb.push(
        `  - repeat: {times: 1, steps: &l${i} [{repeat: {times: 1, steps: *l${i - 1}}}, {repeat: {times: 1, steps: *l${i - 1}}}]}`,
      );
    const result = parseScenario(bomb.join('\n'), 'bomb.yaml');
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toContain(
      'too many alias expansions (more than 10000)',
    );
  });
});
