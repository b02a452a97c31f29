/** The named experiments, in the order `mmsim list` shows them. */
import { changePte } from './change-pte.js';
import { cowStorm } from './cow-storm.js';
import { flagMisuse } from './flag-misuse.js';
import { race } from './race.js';
import type { Experiment } from './types.js';

export const EXPERIMENTS: Experiment[] = [changePte, cowStorm, flagMisuse, race];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
