import { readFileSync } from 'node:fs';
import { parseScenario } from './src/scenario/parse.js';
import { plan } from './src/oracle/plan.js';
import { runHelper } from './src/oracle/real-kernel.js';
import { realStates } from './src/oracle/compare.js';
const f = process.argv[2];
const r = parseScenario(readFileSync(f, 'utf8'), f); if (!r.ok) throw 0;
const p = plan(r.scenario, 'v6.18', undefined, { snapshotEvery: true });
const real = runHelper(p.commands);
const rs = realStates(p, real.answers);
const lab = (m: string) => p.labels.get(m) ?? m;
p.points.forEach((pt, i) => {
  const fmt = (s: any) => s.partition.map((g: any) => `${g.kind}[${g.members.map(lab).join(',')}]`).join(' ');
  console.log(pt.at, '\n  model:', fmt(pt.model), JSON.stringify(pt.model.counters), '\n  linux:', fmt(rs.states[i]), JSON.stringify(rs.states[i].counters));
});
