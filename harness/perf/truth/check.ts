// What a truth check reports, and the small statistics the checks share. Pure.

export interface Check {
  /** short id of the group it belongs to (e.g. "pages", "T4") */
  group: string;
  name: string;
  /** what is expected, with the pass criterion */
  expectation: string;
  /** what was measured */
  measured: string;
  /** the published or model value the measurement is held against, when there is one */
  reference?: string;
  /** where the reference comes from */
  source?: string;
  /** null = no data (counts as not passed) */
  pass: boolean | null;
  /** informational lines never fail the run */
  info?: boolean;
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

/** sample standard deviation (n - 1) */
export const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};

export const cv = (xs: number[]) => sd(xs) / mean(xs);

/** two-sided 95% Student t quantile for n - 1 degrees of freedom (n >= 2) */
export function t95(n: number): number {
  const table = [NaN, NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131];
  return n < table.length ? table[n]! : 1.96 + 2.5 / n;
}

/** mean with the half-width of its 95% confidence interval */
export function meanCi(xs: number[]): { mean: number; half: number } {
  if (xs.length < 2) return { mean: xs.length ? xs[0]! : NaN, half: NaN };
  return { mean: mean(xs), half: (t95(xs.length) * sd(xs)) / Math.sqrt(xs.length) };
}

export const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
