import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXPECTATION_KINDS } from '../../src/scenario/ast.js';
import { parseScenario, TOP_LEVEL_KEYS } from '../../src/scenario/parse.js';
import { scenarioSchema } from '../../src/scenario/schema.js';
import { stepFields, stepOps } from '../../src/scenario/steps/index.js';
import { examples } from './helpers.js';

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '../../schema/scenario.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

function schemaAccepts(text: string): boolean {
  return validate(parse(text)) as boolean;
}

describe('the JSON schema', () => {
  it('is the one generated from the definitions (run `npm run schema` after changing them)', () => {
    expect(schema).toEqual(scenarioSchema());
  });

  it.each(examples())('accepts the example %s', (_file, text) => {
    expect(validate(parse(text)), JSON.stringify(validate.errors, null, 1)).toBe(true);
  });

  it('knows the same top-level keys, operations and expectation kinds as the parser', () => {
    expect(Object.keys(schema.properties).sort()).toEqual([...TOP_LEVEL_KEYS].sort());
    for (const op of stepOps()) {
      const body = schema.definitions[`${op}Step`].properties[op];
      const objectForm = body.properties
        ? body
        : body.oneOf.find((b: { type?: string }) => b.type === 'object');
      expect(Object.keys(objectForm.properties).sort(), op).toEqual([...stepFields(op)].sort());
    }
    expect(schema.definitions.step.oneOf).toHaveLength(stepOps().length);
    for (const kind of EXPECTATION_KINDS)
      expect(schema.definitions[`${kind}Expectation`], kind).toBeDefined();
    expect(schema.definitions.expectation.oneOf).toHaveLength(EXPECTATION_KINDS.length);
  });

  // Documents whose validity does not depend on names, so the schema can judge them as the parser does.
  const header = 'mmsim: 1\nsteps:\n  - spawn: p\n  - mmap: { proc: p, size: 4p, prot: rw, as: buf }\n';
  const agreement: [string, string][] = [
    ['minimal', 'mmsim: 1\n'],
    ['json', '{"mmsim": 1, "kernel": "rfc-2019", "steps": [{"spawn": "a"}]}'],
    [
      'all top-level keys',
      'mmsim: 1\nname: n\ndescription: d\nkernel: v6.10\nseed: 0\nmachine: {ram: 16 pages, cpus: 8}\nksm: {pages_to_scan: 0, use_zero_pages: true, max_page_sharing: 2, merge_across_nodes: false, sleep_millisecs: 0}\nchecks: {invariants: off, change_pte_rule: strict}\n',
    ],
    [
      'writes',
      `${header}  - write: { proc: p, addr: buf+0x10, data: hi }\n  - write: { proc: p, addr: 0x1000, bytes: [0, 255] }\n  - write: { proc: p, addr: buf, fill: 7, size: 16 }\n  - write: { proc: p, addr: buf+1p, pattern: { seed: 3, pages: 2 } }\n`,
    ],
    [
      'reads',
      `${header}  - read: { proc: p, addr: buf, expect: [1, 2] }\n  - read: { proc: p, addr: "p:buf + 2 pages", size: 1KiB }\n`,
    ],
    [
      'step expect',
      `${header}  - read: { proc: p, addr: buf }\n    expect: [{ zero_page: p:buf }, { writable: p:buf }, { invariants: hold }]\n`,
    ],
    ['ksm', 'mmsim: 1\nsteps: [{ksm: {scan: 2MiB}}, {ksm: {full_scans: 3}}]\n'],
    ['repeat', `${header}  - repeat: { times: 2, steps: [{ write: { proc: p, addr: buf, fill: 1 } }] }\n`],
    ['mmsim 2', 'mmsim: 2\n'],
    ['no version', 'kernel: v5.0\n'],
    ['unknown kernel', 'mmsim: 1\nkernel: v4.4\n'],
    ['unknown top key', 'mmsim: 1\nsteeps: []\n'],
    ['seed too big', 'mmsim: 1\nseed: 4294967296\n'],
    ['ram not pages', 'mmsim: 1\nmachine: {ram: 1000}\n'],
    ['bad unit', `${header}  - munmap: { proc: p, addr: buf, size: 4KB }\n`],
    ['bad prot', `${header}  - mprotect: { proc: p, addr: buf, size: 1p, prot: w }\n`],
    ['bad advice', `${header}  - madvise: { proc: p, addr: buf, size: 1p, advice: hugepage }\n`],
    ['two ops', `${header}  - spawn: q\n    exit: q\n`],
    ['no op', `${header}  - expect: []\n`],
    ['unknown op', `${header}  - mmapp: {}\n`],
    ['two payloads', `${header}  - write: { proc: p, addr: buf, data: a, fill: 1 }\n`],
    ['no payload', `${header}  - write: { proc: p, addr: buf }\n`],
    ['size without fill', `${header}  - write: { proc: p, addr: buf, data: a, size: 1 }\n`],
    ['fill too big', `${header}  - write: { proc: p, addr: buf, fill: 256 }\n`],
    ['bad address', `${header}  - write: { proc: p, addr: buf+, fill: 1 }\n`],
    ['empty bytes', `${header}  - write: { proc: p, addr: buf, bytes: [] }\n`],
    ['ksm both', 'mmsim: 1\nsteps: [{ksm: {scan: 1, full_scans: 1}}]\n'],
    ['ksm neither', 'mmsim: 1\nsteps: [{ksm: {}}]\n'],
    ['repeat zero', `${header}  - repeat: { times: 0, steps: [{ spawn: q }] }\n`],
    ['repeat empty', `${header}  - repeat: { times: 1, steps: [] }\n`],
    ['parallel empty', 'mmsim: 1\nsteps: [{parallel: {threads: []}}]\n'],
    ['guest read with data', 'mmsim: 1\nsteps: [{guest: {vm: v, op: read, gfn: 0, data: x}}]\n'],
    ['guest gfn and gpa', 'mmsim: 1\nsteps: [{guest: {vm: v, op: read, gfn: 0, gpa: 0}}]\n'],
    ['memslots empty', 'mmsim: 1\nsteps: [{vm: {name: v, proc: p, memslots: []}}]\n'],
    ['one same_frame', 'mmsim: 1\nexpect: [{same_frame: [p:buf]}]\n'],
    ['unknown counter', 'mmsim: 1\nexpect: [{counters: {ksm.nope: 1}}]\n'],
    ['bad comparison', 'mmsim: 1\nexpect: [{counters: {ksm.full_scans: "=> 1"}}]\n'],
    ['empty counters', 'mmsim: 1\nexpect: [{counters: {}}]\n'],
    ['bad signal', 'mmsim: 1\nexpect: [{signal: {proc: p, is: SIGKILL}}]\n'],
    ['invariants fail', 'mmsim: 1\nexpect: [{invariants: broken}]\n'],
    ['two kinds', 'mmsim: 1\nexpect: [{zero_page: 0, ksm_page: 0}]\n'],
    ['reads without equals', 'mmsim: 1\nexpect: [{reads: {at: 0}}]\n'],
    ['name with dot', 'mmsim: 1\nsteps: [{spawn: a.b}]\n'],
    ['mapping with dash', 'mmsim: 1\nsteps: [{spawn: p}, {mmap: {proc: p, size: 1, prot: r, as: a-b}}]\n'],
  ];

  it.each(agreement)('agrees with the parser on: %s', (_label, text) => {
    const parsed = parseScenario(text, 'agreement.yaml');
    expect(schemaAccepts(text), parsed.ok ? 'parser accepts' : parsed.errors[0].message).toBe(parsed.ok);
  });
});
