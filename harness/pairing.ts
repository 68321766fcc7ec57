// Which repetitions of two sides are pairs: measured under the same impairment seed, so
// they met the same loss decisions (netem/seed.ts jobSeed; the runner reseeds before every
// job). Used by the report's findings (two protocols of one run) and by `compare` (one
// group in two runs). Pure; the statistics on the pairs live in metrics.ts.

/** One side's successful repetition: its number, its impairment seed (summary.csv `seed`,
 *  null when empty) and the metric's value. */
export interface RepValue {
  rep: number;
  seed: number | null;
  value: number;
}

export type Pairing =
  /** a[i] and b[i] are repetition reps[i] of each side; leftOut = repetitions with a value
   *  on one side only (the other failed), not in the paired analysis */
  | { paired: true; a: number[]; b: number[]; reps: number[]; leftOut: number }
  | { paired: false; why: string };

/** Pair A's and B's repetitions by repetition number. Paired only when every repetition
 *  both sides have carries a seed, the two seeds are equal, no repetition appears twice on
 *  a side, and at least 2 pairs are left; otherwise `why` says which rule failed. */
export function pairBySeed(a: readonly RepValue[], b: readonly RepValue[]): Pairing {
  const index = (side: readonly RepValue[], name: string): Map<number, RepValue> | string => {
    const m = new Map<number, RepValue>();
    for (const r of side) {
      if (m.has(r.rep)) return `repetition ${r.rep} appears twice on side ${name}`;
      m.set(r.rep, r);
    }
    return m;
  };
  const ia = index(a, 'A');
  if (typeof ia === 'string') return { paired: false, why: ia };
  const ib = index(b, 'B');
  if (typeof ib === 'string') return { paired: false, why: ib };
  const reps = [...ia.keys()].filter((r) => ib.has(r)).sort((x, y) => x - y);
  for (const rep of reps) {
    const sa = ia.get(rep)!.seed;
    const sb = ib.get(rep)!.seed;
    if (sa === null || sb === null) return { paired: false, why: `repetition ${rep} has no seed (a run from before paired repetitions, or an unsupported job)` };
    if (sa !== sb) return { paired: false, why: `repetition ${rep} met different seeds (${sa} vs ${sb})` };
  }
  if (reps.length < 2) return { paired: false, why: `${reps.length} repetition(s) succeeded on both sides; pairing needs 2` };
  return {
    paired: true,
    a: reps.map((r) => ia.get(r)!.value),
    b: reps.map((r) => ib.get(r)!.value),
    reps,
    leftOut: a.length + b.length - 2 * reps.length,
  };
}

/** Whether a run's same seed means the same loss decisions: run.json `pairing.exact` (the
 *  backend reseeded its PRNG exactly). `why` when not: no record (a run from before paired
 *  repetitions, or no run.json) or a backend that could not (its note). */
export function runPairingExact(run: Readonly<Record<string, unknown>> | null | undefined): { exact: true } | { exact: false; why: string } {
  const p = run?.pairing;
  if (!p || typeof p !== 'object') return { exact: false, why: run ? 'run.json records no pairing (a run from before paired repetitions)' : 'no readable run.json' };
  const { exact, note } = p as { exact?: unknown; note?: unknown };
  if (exact === true) return { exact: true };
  return { exact: false, why: `the backend could not reseed the impairment exactly${typeof note === 'string' && note ? ` (${note})` : ''}` };
}
