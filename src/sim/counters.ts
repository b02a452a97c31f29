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

  /** Every counter, in the order of creation (for digests that do not depend on order). */
  forEach(visit: (name: string, value: number) => void): void {
    for (let i = 0; i < this.names.length; i++) visit(this.names[i], this.values[i]);
  }

  /** The names sorted, kept until a counter is created (the model checker asks after every execution). */
  private sorted: { readonly names: string[]; readonly slots: number[] } | null = null;

  /** Every counter, sorted by name. */
  snapshot(): Record<string, number> {
    if (this.sorted === null || this.sorted.names.length !== this.names.length) {
      const names = [...this.names].sort();
      this.sorted = { names, slots: names.map((n) => this.index.get(n)!) };
    }
    const out: Record<string, number> = {};
    const { names, slots } = this.sorted;
    for (let i = 0; i < names.length; i++) out[names[i]] = this.values[slots[i]];
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

/**
 * What a subsystem declares about the counters it keeps: their group (the name's first part) and, for
 * each, what it counts. The scenario parser, the JSON Schema, `mmsim list` and a run's result all read
 * these declarations, so a counter exists exactly where its owner declares it.
 */
export interface CounterGroup<C extends string = string> {
  /** `faults`, `ksm`; for per-instance groups `kvm`, `dev`, `iommu`. */
  readonly group: string;
  /**
   * What an instance of a per-instance group is (`vm`, `device`, `iommu`): its counters are named
   * `group.INSTANCE.counter`. Null for a group with one set of counters per machine.
   */
  readonly instance: string | null;
  /** Each counter's short name and what it counts. */
  readonly meanings: Readonly<Record<C, string>>;
  /** The short names, in declaration order. */
  readonly counters: readonly C[];
  /** The full name of one counter (`faults.cow_copy`; `kvm.vm1.faults` with an instance name). */
  name(counter: C, instance?: string): string;
  /**
   * Counters a retry loop bumps on every turn (effort, not progress: a secondary's faults and retries).
   * The livelock detector's fingerprint of the world leaves them out, so they cannot hide a cycle.
   */
  readonly effort: readonly C[];
}

function counterGroup<C extends string>(
  group: string,
  instance: string | null,
  meanings: Readonly<Record<C, string>>,
  effort: readonly C[] = [],
): CounterGroup<C> {
  return {
    group,
    instance,
    meanings,
    effort,
    counters: Object.keys(meanings) as C[],
    name: (counter, name) => (instance === null ? `${group}.${counter}` : `${group}.${name}.${counter}`),
  };
}

/** Counters kept once per machine: `group.counter`. */
export function declareCounters<C extends string>(
  group: string,
  meanings: Readonly<Record<C, string>>,
): CounterGroup<C> {
  return counterGroup(group, null, meanings);
}

/** Counters kept per instance (a guest, a device): `group.NAME.counter`, NAME being a `instance`. */
export function declareInstanceCounters<C extends string>(
  group: string,
  instance: string,
  meanings: Readonly<Record<C, string>>,
  effort: readonly NoInfer<C>[] = [],
): CounterGroup<C> & { readonly instance: string } {
  return { ...counterGroup(group, instance, meanings, effort), instance };
}
