/**
 * The JSON Schema of scenario files (schema/scenario.schema.json), generated from the same definitions
 * the parser reads: the kernels, the steps (each step's fragment), the expectation kinds and the
 * declared counters. `npm run schema` writes the file; a test checks the committed file is this one.
 */

import { PAGE_SIZE } from '../hw/page.js';
import {
  ACCESS_KINDS,
  CHANGE_PTE_RULES,
  EXPECTATION_KINDS,
  type ExpectationKind,
  INVARIANT_CHECK_MODES,
  INVARIANT_NAMES,
  KERNEL_NAMES,
  PROTS,
  SIGNALS,
} from './ast.js';
import { counterNamePattern } from './counters.js';
import { stepOps, stepSpec } from './steps/index.js';

/** A JSON Schema (draft-07) node. */
export type JsonSchema = { readonly [key: string]: unknown };

const ref = (name: string): JsonSchema => ({ $ref: `#/definitions/${name}` });

/** Definitions shared by steps and expectations: names, sizes, addresses, bytes. */
const SHARED: Readonly<Record<string, JsonSchema>> = {
  name: {
    type: 'string',
    pattern: '^[A-Za-z_][A-Za-z0-9_-]*$',
    description: 'A name: letters, digits, _ and -, starting with a letter or _.',
  },
  mappingName: {
    type: 'string',
    pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
    description: 'A mapping name: letters, digits and _ (no -, which would read as subtraction).',
  },
  size: {
    description:
      'A size: bytes (4096, 0x1000) or a number with a unit B, KiB, MiB, GiB, TiB, p/pages (16KiB, 8 pages, 8p).',
    oneOf: [
      { type: 'integer', minimum: 1 },
      {
        type: 'string',
        pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?\\s*$',
      },
    ],
  },
  pageAlignedSize: {
    description: 'A size that is a whole number of 4 KiB pages.',
    oneOf: [
      { type: 'integer', minimum: PAGE_SIZE, multipleOf: PAGE_SIZE },
      {
        type: 'string',
        pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?\\s*$',
      },
    ],
  },
  pageCount: {
    description: 'A number of pages: 8, 8p, 8 pages, or a size that is whole pages (2MiB).',
    oneOf: [
      { type: 'integer', minimum: 1 },
      {
        type: 'string',
        pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?\\s*$',
      },
    ],
  },
  guestAddress: {
    description: 'A guest physical address in bytes (0x3000, 12KiB, 3p).',
    oneOf: [
      { type: 'integer', minimum: 0 },
      {
        type: 'string',
        pattern: '^\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?\\s*$',
      },
    ],
  },
  address: {
    description:
      'An address: buf, buf+3p, buf+0x10, buf-1p, 0x7f0000000000, or process-qualified parent:buf+2p.',
    oneOf: [
      { type: 'integer', minimum: 0 },
      {
        type: 'string',
        pattern:
          '^\\s*([A-Za-z_][A-Za-z0-9_-]*\\s*:\\s*)?([A-Za-z_][A-Za-z0-9_]*|0[xX][0-9a-fA-F]+|[0-9]+)(\\s*[+-]\\s*(0[xX][0-9a-fA-F]+|[0-9]+(\\.[0-9]+)?)\\s*(B|KiB|MiB|GiB|TiB|p|page|pages)?)*\\s*$',
      },
    ],
  },
  bytes: {
    type: 'array',
    minItems: 1,
    items: { type: 'integer', minimum: 0, maximum: 255 },
    description: 'Bytes, each 0..255.',
  },
  byteValue: {
    description: 'A string (its UTF-8 bytes) or a list of bytes.',
    oneOf: [{ type: 'string', minLength: 1 }, { $ref: '#/definitions/bytes' }],
  },
  byte: { type: 'integer', minimum: 0, maximum: 255 },
  pattern: {
    description:
      'Page i is a fixed function of (seed, i): equal seeds give equal pages. A number is the seed.',
    oneOf: [
      { type: 'integer', minimum: 0, maximum: 4294967295 },
      {
        type: 'object',
        properties: {
          seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
          pages: { $ref: '#/definitions/pageCount' },
        },
        required: ['seed'],
        additionalProperties: false,
      },
    ],
  },
  prot: { enum: [...PROTS] },
  access: { enum: [...ACCESS_KINDS] },
  steps: { type: 'array', items: { $ref: '#/definitions/step' } },
  nonEmptySteps: { type: 'array', minItems: 1, items: { $ref: '#/definitions/step' } },
  expectList: {
    type: 'array',
    items: { $ref: '#/definitions/expectation' },
    description: 'Expectations checked at this point.',
  },
};

/** The value of each expectation kind's key. */
const EXPECTATIONS = {
  same_frame: {
    type: 'array',
    minItems: 2,
    items: { $ref: '#/definitions/address' },
    description: 'The process-qualified addresses map one physical frame.',
  },
  distinct_frames: {
    type: 'array',
    minItems: 2,
    items: { $ref: '#/definitions/address' },
    description: 'They map pairwise different frames.',
  },
  zero_page: { $ref: '#/definitions/address', description: 'The address maps the shared zero page.' },
  ksm_page: { $ref: '#/definitions/address', description: 'The address maps a KSM page.' },
  not_mapped: { $ref: '#/definitions/address', description: 'The address maps nothing.' },
  writable: { $ref: '#/definitions/address', description: "The primary pte's write bit is set." },
  read_only: { $ref: '#/definitions/address', description: "The primary pte's write bit is clear." },
  reads: {
    type: 'object',
    properties: { at: { $ref: '#/definitions/address' }, equals: { $ref: '#/definitions/byteValue' } },
    required: ['at', 'equals'],
    additionalProperties: false,
    description: 'The bytes at that address are that value (checked without faulting).',
  },
  counters: {
    type: 'object',
    minProperties: 1,
    propertyNames: { pattern: 'COUNTER_NAME' }, // counterNamePattern(), when the schema is made
    additionalProperties: {
      oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\s*(==|!=|<=|>=|<|>)?\\s*-?[0-9]+\\s*$' }],
    },
    description: 'Counter values: a count, or a comparison such as ">= 1".',
  },
  signal: {
    type: 'object',
    properties: { proc: { $ref: '#/definitions/name' }, is: { enum: [...SIGNALS] } },
    required: ['proc', 'is'],
    additionalProperties: false,
    description: 'The process received that signal.',
  },
  invariants: { const: 'hold', description: 'No invariant of docs/INVARIANTS.md was broken.' },
  violations: {
    description:
      'The scenario expects violations of this invariant (an mmsim extension): they do not fail the run.',
    oneOf: [
      { enum: [...INVARIANT_NAMES] },
      {
        type: 'object',
        properties: {
          invariant: { enum: [...INVARIANT_NAMES] },
          count: {
            oneOf: [
              { type: 'integer' },
              { type: 'string', pattern: '^\\s*(==|!=|<=|>=|<|>)?\\s*-?\\d+\\s*$' },
            ],
          },
        },
        required: ['invariant'],
        additionalProperties: false,
      },
    ],
  },
} satisfies Record<ExpectationKind, JsonSchema>;

/** An expectation kind's schema; counter names are those of the kinds registered now. */
function expectationSchema(kind: ExpectationKind): JsonSchema {
  if (kind !== 'counters') return EXPECTATIONS[kind];
  return { ...EXPECTATIONS.counters, propertyNames: { pattern: counterNamePattern() } };
}

/** A map whose one key is `key` (a step also takes `expect` beside it). */
function wrapper(key: string, body: JsonSchema, withExpect: boolean): JsonSchema {
  return {
    type: 'object',
    properties: { [key]: body, ...(withExpect ? { expect: ref('expectList') } : {}) },
    required: [key],
    additionalProperties: false,
  };
}

export function scenarioSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'mmsim scenario',
    description:
      'A scenario for mmsim, the executable model of Linux memory management and MMU notifiers (format version 1).',
    type: 'object',
    properties: {
      $schema: { type: 'string' },
      mmsim: { const: 1, description: 'Format version (required).' },
      name: { type: 'string' },
      description: { type: 'string' },
      kernel: { enum: [...KERNEL_NAMES], description: 'The modelled kernel (default v5.0).' },
      seed: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'Default 1.' },
      machine: {
        type: 'object',
        description: 'Default 256MiB of RAM and 2 CPUs.',
        properties: {
          ram: { $ref: '#/definitions/pageAlignedSize' },
          cpus: { type: 'integer', minimum: 1, maximum: 1024 },
        },
        additionalProperties: false,
      },
      ksm: {
        type: 'object',
        description: "KSM's sysfs knobs (defaults: 100, false, 256, true, 20).",
        properties: {
          pages_to_scan: { type: 'integer', minimum: 0 },
          use_zero_pages: { type: 'boolean' },
          max_page_sharing: { type: 'integer', minimum: 2 },
          merge_across_nodes: { type: 'boolean' },
          sleep_millisecs: { type: 'integer', minimum: 0 },
        },
        additionalProperties: false,
      },
      checks: {
        type: 'object',
        description:
          'When invariants are checked (default every_step) and which USE_CHANGE_PTE rule applies (default v2).',
        properties: {
          invariants: { enum: [...INVARIANT_CHECK_MODES] },
          change_pte_rule: { enum: [...CHANGE_PTE_RULES] },
        },
        additionalProperties: false,
      },
      steps: { $ref: '#/definitions/steps' },
      expect: { $ref: '#/definitions/expectList' },
    },
    required: ['mmsim'],
    additionalProperties: false,
    definitions: {
      ...SHARED,
      ...Object.fromEntries(stepOps().map((op) => [`${op}Step`, wrapper(op, stepSpec(op).schema, true)])),
      step: {
        description: 'A step: a map with exactly one operation key, and optionally `expect` beside it.',
        oneOf: stepOps().map((op) => ref(`${op}Step`)),
      },
      ...Object.fromEntries(
        EXPECTATION_KINDS.map((kind) => [
          `${kind}Expectation`,
          wrapper(kind, expectationSchema(kind), false),
        ]),
      ),
      expectation: {
        description: 'One expectation: a map with exactly one kind key.',
        oneOf: EXPECTATION_KINDS.map((kind) => ref(`${kind}Expectation`)),
      },
    },
  };
}

/** The schema file's text. */
export function scenarioSchemaText(): string {
  return `${JSON.stringify(scenarioSchema(), null, 2)}\n`;
}
