/** Scenario files: the AST, the parser with file:line:col errors, and the unit parsers it uses. */
export * from './ast.js';
export { AGENT_COUNTERS, GLOBAL_COUNTERS, parseComparison, parseCounterName } from './counters.js';
export {
  CHECK_DEFAULTS,
  DEFAULT_SEED,
  formatError,
  KSM_DEFAULTS,
  MACHINE_DEFAULTS,
  type ParseResult,
  parseScenario,
  type ScenarioError,
  TOP_LEVEL_KEYS,
} from './parse.js';
export { detectFormat, type SourceFormat } from './source.js';
export { STEP_FIELDS } from './steps.js';
export { type Parsed, type ParsedAddress, parseAddress, parsePageCount, parseSize } from './units.js';
