/**
 * Named counters (`faults.anon_write`, `kvm.vm1.faults`, ...). Hot paths resolve a name to a slot once
 * and then bump `values[slot]` directly.
 */
export class Counters {
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  readonly values: number[] = [];

  /** The slot of `name`, created at zero on first use. */
  slot(name: string): number {
    let s = this.index.get(name);
    if (s === undefined) {
      s = this.names.length;
      this.index.set(name, s);
      this.names.push(name);
      this.values.push(0);
    }
    return s;
  }

  add(name: string, n = 1): void {
    this.values[this.slot(name)] += n;
  }

  get(name: string): number {
    const s = this.index.get(name);
    return s === undefined ? 0 : this.values[s];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Every counter, sorted by name. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of [...this.names].sort()) out[name] = this.values[this.index.get(name)!];
    return out;
  }
}

/**
 * One counter, resolved to its slot on first use: hot paths bump it without a string lookup, and a
 * counter that never moves stays absent from the snapshot (as with `add`).
 */
export class CounterRef {
  private s = -1;

  constructor(
    private readonly counters: Counters,
    readonly name: string,
  ) {}

  inc(n = 1): void {
    let s = this.s;
    if (s < 0) this.s = s = this.counters.slot(this.name);
    this.counters.values[s] += n;
  }
}
