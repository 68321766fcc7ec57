// The data of `holbench compare`: a loaded run, the options, the per-group result, and the
// error for bad input. No logic here; see stats.ts (comparison), io.ts (files), render.ts.
import type { RunInfo } from '../report/load.ts';

/** Bad input (missing folder or summary.csv, malformed summary.csv, unknown metric, bad
 *  threshold): the CLI prints the message and exits 2. */
export class CompareInputError extends Error {}

/** lower / higher = which way is better; neutral = no verdict of better or worse (the
 *  change is still reported, as "higher" / "lower", and never fails the comparison). */
export type Direction = 'lower' | 'higher' | 'neutral';

export interface RunData {
  /** absolute path of the results folder */
  dir: string;
  /** its base name, e.g. "loss-2pct-20261121T171917Z" */
  name: string;
  /** run.json, or null when missing or unreadable */
  run: RunInfo | null;
  /** summary.csv as read: every column kept as text (new columns included) */
  rows: Record<string, string>[];
  columns: string[];
}

export type Verdict =
  | 'regressed' // the change's CI lies entirely beyond +-threshold on the bad side
  | 'improved' // ... on the good side
  | 'same' // the CI reaches inside the threshold band: no change beyond noise
  | 'higher' // neutral metric, CI entirely above +threshold
  | 'lower' // neutral metric, CI entirely below -threshold
  | 'failed-in-B' // A has values, B ran the group but no repetition succeeded: counted as a regression
  | 'failed-in-A' // the reverse
  | 'only-in-A' // the group is not in B's summary at all
  | 'only-in-B'
  | 'too-few' // a side has fewer than 2 values: no interval
  | 'n/a'; // the relative change is undefined (A's mean is 0, B's is not)

export interface Side {
  /** values used (SUCCEEDED rows with a number in the metric column) */
  n: number;
  /** rows of the group that did not succeed */
  failed: number;
  mean: number | null;
  /** 95% t-interval of the mean (meanCi95); null when n < 2 */
  ci_lo: number | null;
  ci_hi: number | null;
  half: number | null;
}

export interface GroupResult {
  cell: string;
  protocol: string;
  a: Side;
  b: Side;
  /** relative change of the mean, %, and its 95% bootstrap interval; null when undefined */
  change_pct: number | null;
  change_lo_pct: number | null;
  change_hi_pct: number | null;
  /** the change and its interval are paired: both runs ran repetition r of this group under
   *  the same impairment seed with a backend that reseeds exactly, so the change is over the
   *  pairs (pairedRelChangeCi95); else two-sample (relChangeCi95) */
  paired: boolean;
  /** pairs used when paired, else null */
  pairs: number | null;
  /** paired: repetitions left out (one side failed), or ''; unpaired: why not paired */
  pairing_note: string;
  verdict: Verdict;
}

export interface CompareOptions {
  /** summary.csv column (default page_ms) */
  metric?: string;
  /** threshold, % (default 5) */
  thresholdPct?: number;
  /** bootstrap resamples (default 10000) and seed (default 1) */
  iterations?: number;
  seed?: number;
}

export interface CompareResult {
  metric: string;
  direction: Direction;
  threshold_pct: number;
  a: { dir: string; name: string };
  b: { dir: string; name: string };
  groups: GroupResult[];
  /** groups whose verdict fails the comparison: regressed or failed-in-B */
  regressed: GroupResult[];
  /** groups left out because neither run has a value of the metric there */
  skipped: { cell: string; protocol: string }[];
  /** provenance differences and other things the reader should know */
  warnings: string[];
}
