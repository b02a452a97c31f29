/** What an experiment is and returns: one table (also JSON/CSV) and one chart. */
import type { KernelName, ProfileOverrides } from '../kernel/profiles.js';
import type { BarChart } from './svg.js';
import type { Column } from './table.js';

export interface ExperimentOptions {
  kernels: KernelName[];
  seed: number;
  /** Scale factor for the workload (1 = the built-in default). */
  scale: number;
  /** What-if changes applied to every kernel profile. */
  profileOverrides?: ProfileOverrides;
  /** Progress callback: done of total units. */
  progress?: (done: number, total: number) => void;
}

export interface ExperimentResult {
  name: string;
  title: string;
  /** What the table shows, in a sentence or two (printed above it). */
  summary: string;
  columns: Column[];
  rows: (string | number)[][];
  /** The same rows as records, for JSON. */
  records: Record<string, string | number>[];
  /** Lines printed under the table: what to conclude, and caveats. */
  notes: string[];
  chart: BarChart;
  /** Invariant violations seen in the whole experiment (must be 0 for a correct kernel). */
  violations: number;
}

export interface Experiment {
  name: string;
  description: string;
  defaultKernels: KernelName[];
  run(options: ExperimentOptions): ExperimentResult;
}
