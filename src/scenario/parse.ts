/**
 * The scenario front end: text in, a checked Scenario (or every error found, each at file:line:col) out.
 * Never throws: an internal surprise becomes an error at 1:1.
 */
import { PAGE_SIZE } from '../hw/page.js';
import {
  CHANGE_PTE_RULES,
  type CheckOptions,
  DEFAULT_KERNEL,
  type Expectation,
  INVARIANT_CHECK_MODES,
  KERNEL_NAMES,
  type KsmOptions,
  type Machine,
  type Scenario,
  type Step,
} from './ast.js';
import { readExpectations } from './expectations.js';
import { checkNames } from './names.js';
import {
  asMap,
  boolean,
  Fields,
  integer,
  isScalar,
  oneOf,
  pageAlignedSize,
  ReadContext,
  type Reader,
  type Slot,
  text,
} from './nodes.js';
import { loadSource, type ScenarioError } from './source.js';
import { readSteps } from './steps/list.js';

export { formatError, type ScenarioError } from './source.js';

export type ParseResult = { ok: true; scenario: Scenario } | { ok: false; errors: ScenarioError[] };

export const TOP_LEVEL_KEYS = [
  '$schema',
  'mmsim',
  'name',
  'description',
  'kernel',
  'seed',
  'machine',
  'ksm',
  'checks',
  'steps',
  'expect',
] as const;

export const MACHINE_DEFAULTS: Readonly<Machine> = { ramBytes: 256 * 1024 * 1024, cpus: 2 };

/** The kernel's own defaults for the KSM knobs. */
export const KSM_DEFAULTS: Readonly<KsmOptions> = {
  pagesToScan: 100,
  useZeroPages: false,
  maxPageSharing: 256,
  mergeAcrossNodes: true,
  sleepMillisecs: 20,
};

export const CHECK_DEFAULTS: Readonly<CheckOptions> = { invariants: 'every_step', changePteRule: 'v2' };

export const DEFAULT_SEED = 1;

/** Parses and checks a scenario file (YAML or JSON). `file` is used in positions and the default name. */
export function parseScenario(text: string, file: string): ParseResult {
  try {
    return parse(String(text), String(file));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      errors: [
        {
          file: String(file),
          line: 1,
          col: 1,
          message: `internal error while reading the scenario: ${reason}`,
        },
      ],
    };
  }
}

function parse(text: string, file: string): ParseResult {
  const { root, diagnostics, syntaxErrors } = loadSource(text, file);
  // A broken document's partial tree would only produce follow-on noise: report the syntax alone.
  if (syntaxErrors) return { ok: false, errors: diagnostics.sorted() };
  const cx = new ReadContext(root, diagnostics, text);
  const { scenario, steps, expect } = readScenario(cx, file);
  checkNames(cx, steps, expect);
  if (diagnostics.count > 0) return { ok: false, errors: diagnostics.sorted() };
  if (!scenario) throw new Error('no scenario and no error');
  return { ok: true, scenario };
}

/** The scenario's name when the file gives none: the file name without directory and extension. */
function defaultName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.(ya?ml|json)$/i, '') || 'scenario';
}

const formatVersion = (cx: ReadContext, slot: Slot): 1 | undefined => {
  const version = integer(0, Number.MAX_SAFE_INTEGER, 'the format version 1')(cx, slot);
  if (version === undefined || version === 1) return version;
  return cx.fail(slot, 'the format version 1', 'this mmsim reads version 1 only');
};

/** The most RAM a machine may have: 2^28 frames keep the frame table under 5 GiB. */
export const MAX_RAM_BYTES = 2 ** 40;

/** RAM: whole pages, at least two (the zero page and one more), at most MAX_RAM_BYTES (1 TiB). */
const ramSize: Reader<number> = (cx, slot) => {
  const bytes = pageAlignedSize(cx, slot);
  if (bytes === undefined) return undefined;
  if (bytes < 2 * PAGE_SIZE) return cx.fail(slot, 'a RAM size of at least 2 pages', `${bytes} bytes is less`);
  if (bytes > MAX_RAM_BYTES)
    return cx.fail(slot, 'a RAM size of at most 1TiB', 'mmsim models at most 2^28 frames');
  return bytes;
};

function readMachine(cx: ReadContext, slot: Slot): Machine | undefined {
  const map = asMap('{ram, cpus}')(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'machine', ['ram', 'cpus'], slot.pos);
  return {
    ramBytes: f.optional('ram', ramSize) ?? MACHINE_DEFAULTS.ramBytes,
    cpus: f.optional('cpus', integer(1, 1024)) ?? MACHINE_DEFAULTS.cpus,
  };
}

function readKsm(cx: ReadContext, slot: Slot): KsmOptions | undefined {
  const map = asMap('{pages_to_scan, use_zero_pages, max_page_sharing, merge_across_nodes, sleep_millisecs}')(
    cx,
    slot,
  );
  if (!map) return undefined;
  const keys = [
    'pages_to_scan',
    'use_zero_pages',
    'max_page_sharing',
    'merge_across_nodes',
    'sleep_millisecs',
  ];
  const f = Fields.ofMap(cx, map, 'ksm', keys, slot.pos);
  const d = KSM_DEFAULTS;
  return {
    pagesToScan: f.optional('pages_to_scan', integer(0)) ?? d.pagesToScan,
    useZeroPages: f.optional('use_zero_pages', boolean) ?? d.useZeroPages,
    // The kernel refuses values below 2 (a "chain" of one is not sharing).
    maxPageSharing: f.optional('max_page_sharing', integer(2)) ?? d.maxPageSharing,
    mergeAcrossNodes: f.optional('merge_across_nodes', boolean) ?? d.mergeAcrossNodes,
    sleepMillisecs: f.optional('sleep_millisecs', integer(0)) ?? d.sleepMillisecs,
  };
}

function readChecks(cx: ReadContext, slot: Slot): CheckOptions | undefined {
  const map = asMap('{invariants, change_pte_rule}')(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'checks', ['invariants', 'change_pte_rule'], slot.pos);
  return {
    invariants: f.optional('invariants', oneOf(INVARIANT_CHECK_MODES)) ?? CHECK_DEFAULTS.invariants,
    changePteRule: f.optional('change_pte_rule', oneOf(CHANGE_PTE_RULES)) ?? CHECK_DEFAULTS.changePteRule,
  };
}

interface ReadResult {
  /** Undefined when the top level itself is unusable. */
  scenario?: Scenario;
  /** Whatever steps and expectations could be read, for the name checks. */
  steps: Step[];
  expect: Expectation[];
}

function readScenario(cx: ReadContext, file: string): ReadResult {
  const start = cx.diagnostics.at(0);
  const root = cx.slot(cx.root, 'scenario', start);
  if (root.node === undefined || (isScalar(root.node) && root.node.value === null)) {
    cx.error(start, "the file is empty; a scenario is a map that starts with 'mmsim: 1'");
    return { steps: [], expect: [] };
  }
  const map = asMap("a scenario: a map with 'mmsim: 1', 'steps' and 'expect'")(cx, root);
  if (!map) return { steps: [], expect: [] };
  const f = Fields.ofMap(cx, map, '', TOP_LEVEL_KEYS, root.pos);
  if (!f.has('mmsim')) cx.error(root.pos, "missing 'mmsim: 1' (the format version) at the top level");
  f.optional('$schema', text);
  const mmsim = f.optional('mmsim', formatVersion);
  const scenario: Scenario = {
    mmsim: 1,
    name: f.optional('name', text) ?? defaultName(file),
    description: f.optional('description', text) ?? '',
    kernel: f.optional('kernel', oneOf(KERNEL_NAMES)) ?? DEFAULT_KERNEL,
    seed: f.optional('seed', integer(0, 2 ** 32 - 1, 'a seed from 0 to 2^32-1')) ?? DEFAULT_SEED,
    machine: f.optional('machine', readMachine) ?? { ...MACHINE_DEFAULTS },
    ksm: f.optional('ksm', readKsm) ?? { ...KSM_DEFAULTS },
    checks: f.optional('checks', readChecks) ?? { ...CHECK_DEFAULTS },
    steps: f.optional('steps', readSteps) ?? [],
    expect: f.optional('expect', readExpectations) ?? [],
  };
  return { scenario: mmsim === 1 ? scenario : undefined, steps: scenario.steps, expect: scenario.expect };
}
