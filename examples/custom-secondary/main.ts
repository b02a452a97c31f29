/**
 * The NIC on a simulated machine, twice: driven by hand through World.attach, and as a scenario file
 * using the steps its kind registers. `node main.js` shows a coherent NIC; `node main.js --broken` one
 * whose invalidate callback does nothing, which the invariant checker catches. `--json` prints the
 * outcome as one JSON object.
 */
import { expectSetup, PAGE_SIZE, run, World } from 'mmsim';
import { registerNic } from './kind.js';
import { Nic } from './nic.js';

const broken = process.argv.includes('--broken');
const json = process.argv.includes('--json');

/** By hand: a process, a buffer, the NIC writing into it, then MADV_DONTNEED takes the pages away. */
function byHand() {
  const world = new World({ kernel: 'v6.10', ramBytes: 16 << 20 });
  const app = world.sys.spawn('app');
  const buf = world.sys.mmap('app', 4 * PAGE_SIZE, 'rw');
  if (typeof buf !== 'number') throw new Error(`mmap: ${buf}`);
  const nic = expectSetup(world.attach(new Nic(world.kernel, 'eth0', app, { ignoreInvalidate: broken })));
  for (let i = 0; i < 4; i++) nic.write(buf + i * PAGE_SIZE);
  world.checkNow();
  world.sys.madvise('app', buf, 4 * PAGE_SIZE, 'dontneed');
  world.checkNow();
  for (let i = 0; i < 4; i++) nic.read(buf + i * PAGE_SIZE);
  world.checkAll();
  return {
    counters: nic.stats(),
    violations: world.violations.list.map((v) => `${v.invariant}: ${v.message}`),
  };
}

const SCENARIO = `
mmsim: 1
name: nic-dontneed
kernel: v6.10
steps:
  - spawn: app
  - mmap: { proc: app, size: 4 pages, prot: rw, as: buf }
  - nic: { name: eth0, proc: app }
  - nic_dma: { nic: eth0, op: write, addr: buf, pages: 4 }
  - madvise: { proc: app, addr: buf, size: 4 pages, advice: dontneed }
  - nic_dma: { nic: eth0, op: read, addr: buf, pages: 4 }
expect:
  - counters: { nic.eth0.iotlb_fills: ">= 4", nic.eth0.iotlb_zaps: ">= 1" }
  - invariants: hold
`;

/** As a scenario file: the NIC's steps and counters are part of the format once its kind is registered. */
function asScenario() {
  registerNic({ ignoreInvalidate: broken });
  const r = run(SCENARIO);
  return {
    ok: r.ok,
    counters: Object.fromEntries(Object.entries(r.counters).filter(([n]) => n.startsWith('nic.'))),
    violations: r.violations.map((v) => `${v.invariant}: ${v.message}`),
  };
}

const result = { broken, byHand: byHand(), scenario: asScenario() };
if (json) console.log(JSON.stringify(result));
else {
  console.log(`NIC with ${broken ? 'a broken' : 'a working'} invalidate_range_start`);
  for (const [what, r] of [
    ['by hand', result.byHand],
    ['scenario', result.scenario],
  ] as const) {
    console.log(`${what}: counters ${JSON.stringify(r.counters)}`);
    for (const v of r.violations) console.log(`  violation: ${v}`);
    if (r.violations.length === 0) console.log('  no violation');
  }
}
