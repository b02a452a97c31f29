/**
 * A library user's kind of secondary MMU joins the scenario format: its steps become operations a file
 * may use (parser, name checks, JSON Schema), its per-instance counters names a file may test and a run
 * reports. Checked against what exists, so that no operation, counter family or kind of name means two
 * things; a clash is a programming error and throws.
 */
import { MACHINE_COUNTER_GROUPS } from './counters.js';
import {
  addSecondaryKind,
  kindNaming,
  namesOf,
  type SecondaryKind,
  secondaryKinds,
  setupOp,
} from './secondary-kinds.js';
import { stepOps } from './steps/index.js';

/** Kinds of name the format itself defines. */
const BUILT_IN_NAMES = ['process', 'mapping', 'pin'];
/** What an operation or a counter word may look like. */
const WORD = /^[a-z][a-z0-9_]*$/;

export function registerSecondaryKind(kind: SecondaryKind): void {
  if (secondaryKinds().includes(kind)) return;
  const family = kind.counters.group;
  const names = namesOf(kind);
  const problems: string[] = [];
  if (kind.counters.instance === null)
    problems.push('its counters are not per instance (declareInstanceCounters)');
  if (!WORD.test(family)) problems.push(`counter family '${family}' is not a lower-case word`);
  if (
    MACHINE_COUNTER_GROUPS.some((g) => g.group === family) ||
    secondaryKinds().some((k) => k.counters.group === family)
  )
    problems.push(`counter family '${family}' is taken`);
  if (BUILT_IN_NAMES.includes(names) || kindNaming(names) !== undefined)
    problems.push(`the kind of name '${names}' is taken`);
  const ops = stepOps();
  for (const op of Object.keys(kind.steps)) {
    if (!WORD.test(op)) problems.push(`operation '${op}' is not a lower-case word`);
    if (ops.includes(op as never)) problems.push(`operation '${op}' is taken`);
  }
  if (setupOp(kind) === undefined)
    problems.push(`no step defines a '${names}' (defines: {name: '${names}'})`);
  if (problems.length > 0) throw new Error(`registerSecondaryKind(${family}): ${problems.join('; ')}`);
  addSecondaryKind(kind);
}
