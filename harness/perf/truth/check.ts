// What a truth check reports, and the small statistics the checks share. Pure.
import { meanCi95, meanSd, percentile } from '../../metrics.ts';

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

// Statistics come from harness/metrics.ts (one definition per metric); these adapt them.
export const mean = (xs: number[]) => meanSd(xs).mean;
export const median = (xs: number[]) => percentile(xs, 50);
/** sample standard deviation (n - 1) */
export const sd = (xs: number[]) => meanSd(xs).sd;
export const cv = (xs: number[]) => meanSd(xs).cv;

/** mean with the half-width of its 95% confidence interval (Student's t) */
export function meanCi(xs: number[]): { mean: number; half: number } {
  if (xs.length < 2) return { mean: xs.length ? xs[0]! : NaN, half: NaN };
  const c = meanCi95(xs);
  return { mean: c.mean, half: c.half };
}

export const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
