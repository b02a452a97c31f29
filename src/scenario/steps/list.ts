/**
 * Reading `steps:`: each step is a map with exactly one operation key (plus, beside it, an optional
 * `expect:` list checked after the step). What each operation's map holds is its step module's business
 * (steps/*.ts, listed in steps/index.ts).
 */
import type { NameKind, SourcePos, Step, StepOp } from '../ast.js';
import { readExpectations } from '../expectations.js';
import {
  asMap,
  type FieldPositions,
  Fields,
  isMap,
  isScalar,
  isSeq,
  mapGet,
  mapHas,
  type ReadContext,
  type Slot,
} from '../nodes.js';
import { didYouMean } from '../units.js';
import { stepOps, stepSpec } from './index.js';
import type { StepBody } from './spec.js';

/** repeat/parallel may nest; a bound keeps a pathological file from exhausting the stack. */
const MAX_NESTING = 32;

interface Reading {
  cx: ReadContext;
  depth: number;
  /** The operations a step may have (stepOps(), asked once per file), and the keys beside them. */
  ops: readonly StepOp[];
  keys: readonly string[];
  expected: string;
}

// ---------------------------------------------------------------------------------------------------
// Step lists

function unknownStepKey(key: string): string {
  const ops = stepOps();
  if (ops.some((op) => stepSpec(op).fields.includes(key))) {
    return `'${key}' is not an operation; fields go inside the operation's map, e.g. '- spawn: {proc: a}'`;
  }
  return `unknown operation '${key}'${didYouMean(key, ops)}; a step is one of: ${ops.join(', ')}`;
}

function unknownFieldOf(op: StepOp, key: string): string | undefined {
  if (key !== 'expect') return undefined;
  return `${op} has no field 'expect'; a step's own expectations go beside the operation key: '- ${op}: {...}' and 'expect: [...]' at the same indentation`;
}

/** The steps of a file or of repeat/parallel; steps that fail to read are left out (and reported). */
export function readSteps(cx: ReadContext, slot: Slot): Step[] | undefined {
  const ops = stepOps();
  const expected = `a step: a map with one operation key (${ops.join(', ')})`;
  return readStepList({ cx, depth: 0, ops, keys: [...ops, 'expect'], expected }, slot);
}

function readStepList(r: Reading, slot: Slot): Step[] | undefined {
  const list = slot.node;
  if (!isSeq(list)) return r.cx.fail(slot, 'a list of steps');
  // item by item (not asList's array of slots): a long list's slots are never all alive at once
  const steps: Step[] = [];
  const items = list.items;
  for (let i = 0; i < items.length; i++) {
    const step = readStep(r, r.cx.slot(items[i], `${slot.path}[${i}]`, slot.pos));
    if (step) steps.push(step);
  }
  return steps;
}

function readNonEmptySteps(r: Reading, slot: Slot): Step[] | undefined {
  if (r.depth >= MAX_NESTING) {
    r.cx.error(slot.pos, `repeat/parallel nested more than ${MAX_NESTING} deep`);
    return undefined;
  }
  const steps = readStepList({ ...r, depth: r.depth + 1 }, slot);
  const node = slot.node as { items?: unknown[] } | undefined;
  if (steps && node?.items?.length === 0) return r.cx.empty(slot, 'one step');
  return steps;
}

function readStep(r: Reading, slot: Slot): Step | undefined {
  const { cx, ops: allOps, keys } = r;
  const map = asMap(r.expected)(cx, slot);
  if (!map) return undefined;
  const f = Fields.ofMap(cx, map, 'step', keys, slot.pos, { unknownKey: unknownStepKey, wrapper: true });
  const ops = f.present(allOps);
  const unknown = f.keys().filter((k) => !keys.includes(k));
  for (const key of unknown) noteBrokenStep(cx, undefined, f.slot(key)!);

  if (ops.length === 0) {
    if (unknown.length === 0) cx.error(slot.pos, `a step needs an operation, one of: ${allOps.join(', ')}`);
    return undefined;
  }
  if (ops.length > 1) {
    f.errorAt(
      ops[1],
      `a step has one operation, but this one has '${ops[0]}' and '${ops[1]}'; make them two steps`,
    );
    for (const op of ops) noteBrokenStep(cx, op, f.slot(op)!);
    return undefined;
  }
  const op = ops[0];
  const pos = f.keyPos(op)!;
  const body = readOperation(r, op, f.slot(op)!, pos);
  const expect = f.optional('expect', readExpectations);
  if (!body.step) {
    noteBrokenStep(cx, op, f.slot(op)!);
    return undefined;
  }
  // completed in place: a spread copy here got a hidden class of its own per step (V8's slow clone
  // path), a large file's biggest cost in memory and garbage collection
  const step = body.step as Step;
  step.pos = pos;
  if (expect) step.expect = expect;
  cx.setFieldPositions(step, body.positions);
  return step;
}

function readOperation(
  r: Reading,
  op: StepOp,
  slot: Slot,
  pos: SourcePos,
): { step?: StepBody; positions: FieldPositions } {
  const { cx } = r;
  const s = stepSpec(op);
  let f: Fields;
  if (s.shorthand && isScalar(slot.node) && typeof slot.node.value === 'string') {
    f = Fields.ofShorthand(cx, op, s.shorthand, slot);
  } else {
    const shorthand = s.shorthand ? `, or just the ${s.shorthand} name` : '';
    const map = asMap(`the fields of ${op} (${s.fields.join(', ')})${shorthand}`)(cx, slot);
    if (!map) return { positions: {} };
    f = Fields.ofMap(cx, map, op, s.fields, pos, { unknownKey: (key) => unknownFieldOf(op, key) });
  }
  const reading = { cx, nestedSteps: (nested: Slot) => readNonEmptySteps(r, nested) };
  return { step: s.read(f, reading), positions: f.positions() };
}

/** Remembers what a step that failed to read might have defined, from whatever of it is legible. */
function noteBrokenStep(cx: ReadContext, op: StepOp | undefined, slot: Slot): void {
  const defines: Readonly<Record<string, NameKind | 'any'>> = op
    ? (stepSpec(op).defines ?? {})
    : { proc: 'any', child: 'any', as: 'any', name: 'any' };
  const node = slot.node;
  if (isScalar(node) && typeof node.value === 'string' && (op === undefined || stepSpec(op).shorthand)) {
    const kind = op ? defines[stepSpec(op).shorthand!] : 'any';
    if (kind) cx.brokenDefinitions.push({ kind, name: node.value, pos: slot.pos });
    return;
  }
  for (const [field, kind] of Object.entries(defines)) {
    const value = isMap(node) ? mapGet(node, field) : undefined;
    const written = isScalar(value) && typeof value.value === 'string' ? value.value : undefined;
    if (written !== undefined || (isMap(node) && mapHas(node, field)) || op !== undefined) {
      cx.brokenDefinitions.push({ kind, ...(written === undefined ? {} : { name: written }), pos: slot.pos });
    }
  }
}
