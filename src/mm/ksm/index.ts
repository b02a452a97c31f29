/** KSM (mm/ksm.c v5.0): ksmd, its trees and counters. Assign `new Ksm(kernel).hooks` to `MmSystem.ksm`. */
export { KSM_DEFAULT_CONFIG, Ksm, type KsmConfig, type KsmStats } from './ksm.js';
