/**
 * The NIC as a kind of secondary MMU a scenario file can use, registered the way mmsim registers KVM,
 * HMM and SVA: its counters, a setup step `nic: {name, proc}` and an access step
 * `nic_dma: {nic, op, addr, [pages]}`.
 */
import {
  deviceAccessStep,
  registerSecondaryKind,
  type SecondaryKind,
  secondaryName,
  secondarySetupStep,
} from 'mmsim';
import { NIC_COUNTERS, Nic, type NicOptions } from './nic.js';

export function nicKind(options: NicOptions = {}): SecondaryKind {
  return {
    counters: NIC_COUNTERS,
    label: 'NIC',
    steps: {
      nic: secondarySetupStep({
        op: 'nic',
        names: NIC_COUNTERS.instance,
        description: 'A NIC with an IOTLB kept coherent by invalidate_range_start.',
        create: (world, name, task) => new Nic(world.kernel, name, task, options),
      }),
      nic_dma: deviceAccessStep({
        op: 'nic_dma',
        field: 'nic',
        names: NIC_COUNTERS.instance,
        description: 'DMA by the NIC, one page per access.',
        find: (world, name) => {
          const nic = world.secondary(secondaryName(NIC_COUNTERS, name), Nic);
          return (
            nic && { task: nic.task, access: (address, write, source) => nic.dma(address, write, source) }
          );
        },
        missing: (name) => `no NIC ${name}`,
      }),
    },
  };
}

/** Makes `nic` and `nic_dma` steps (and `nic.NAME.*` counters) part of the scenario format. */
export function registerNic(options: NicOptions = {}): void {
  registerSecondaryKind(nicKind(options));
}
