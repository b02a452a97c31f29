/** KSM (mm/ksm.c v5.0): ksmd, its trees and counters. Assign `new Ksm(kernel).hooks` to `MmSystem.ksm`. */
export { Ksm, type KsmdWork } from './ksm.js';
export { KSM_DEFAULT_CONFIG, type KsmConfig, type KsmStats } from './state.js';
