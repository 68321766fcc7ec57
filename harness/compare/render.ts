// What `holbench compare` shows and writes: the aligned text table, compare.csv and the
// Vega-Lite chart spec. Pure. Text from the inputs (cell ids, protocol labels, column and
// folder names) goes through safeText in the table, which is printed on a terminal, and in
// the chart (XML has no place for control characters); compare.csv keeps the exact values.
import { stringify } from 'csv-stringify/sync';
import { base, type VlSpec } from '../report/charts/common.ts';
import { safeText } from '../safetext.ts';
import type { CompareResult, Direction, GroupResult, Side, Verdict } from './types.ts';

/** Decimals for a metric's numbers: fewer for large values. */
function decimals(x: number): number {
  const m = Math.abs(x);
  return m >= 1000 ? 0 : m >= 10 ? 1 : m >= 1 ? 2 : 3;
}

function meanText(s: Side): string {
  if (s.mean === null) return '-';
  const d = decimals(s.mean);
  return `${s.mean.toFixed(d)} ±${s.half === null ? '?' : s.half.toFixed(d)} (n=${s.n})`;
}

const pct = (x: number | null) => (x === null ? '?' : x === Infinity ? '+inf' : x === -Infinity ? '-inf' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}`);

export function changeText(g: GroupResult): string {
  if (g.change_pct === null) return '-';
  const ci = g.change_lo_pct === null ? '' : ` [${pct(g.change_lo_pct)}, ${pct(g.change_hi_pct)}]`;
  return `${pct(g.change_pct)}%${ci}`;
}

/** "paired n=5" / "unpaired": how the change's interval was computed. */
export function pairingText(g: GroupResult): string {
  return g.paired ? `paired n=${g.pairs}` : 'unpaired';
}

const DIRECTION_TEXT: Record<Direction, string> = { lower: 'lower is better', higher: 'higher is better', neutral: 'neither direction is better' };

/** The aligned text table printed by the CLI, with a header line. */
export function formatTable(r: CompareResult): string {
  const metric = safeText(r.metric);
  const head = ['cell', 'protocol', 'pairs', `A ${metric}`, `B ${metric}`, 'change % [95% CI]', 'verdict'];
  const rows = r.groups.map((g) => [safeText(g.cell), safeText(g.protocol), pairingText(g), meanText(g.a), meanText(g.b), changeText(g), g.verdict]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = new Set([3, 4, 5]);
  const line = (cols: string[]) => cols.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [
    `${metric} (${DIRECTION_TEXT[r.direction]}), B vs A, threshold ±${r.threshold_pct}%; means ± 95% t-interval, change of the mean with 95% bootstrap interval`,
    `pairs: "paired n=N" = both runs ran each repetition of the group under the same impairment seed (backend reseeds exactly): bootstrap over the N pairs; "unpaired" = the repetitions resampled separately`,
    `A: ${safeText(r.a.dir)}`,
    `B: ${safeText(r.b.dir)}`,
    '',
    line(head),
    ...rows.map(line),
  ];
  if (!r.groups.length) out.push('(no group has a value of this metric in either run)');
  if (r.skipped.length) out.push(`(${r.skipped.length} cell/protocol group(s) without ${metric} values in either run left out)`);
  return out.join('\n') + '\n';
}

export const CSV_COLUMNS = [
  'cell', 'protocol', 'metric', 'direction', 'a_n', 'a_failed', 'a_mean', 'a_ci_lo', 'a_ci_hi', 'b_n', 'b_failed', 'b_mean', 'b_ci_lo', 'b_ci_hi',
  'change_pct', 'change_lo_pct', 'change_hi_pct', 'paired', 'pairs', 'pairing_note', 'threshold_pct', 'verdict',
] as const;

export function compareCsv(r: CompareResult): string {
  const rows = r.groups.map((g) => ({
    cell: g.cell, protocol: g.protocol, metric: r.metric, direction: r.direction,
    a_n: g.a.n, a_failed: g.a.failed, a_mean: g.a.mean, a_ci_lo: g.a.ci_lo, a_ci_hi: g.a.ci_hi,
    b_n: g.b.n, b_failed: g.b.failed, b_mean: g.b.mean, b_ci_lo: g.b.ci_lo, b_ci_hi: g.b.ci_hi,
    change_pct: g.change_pct, change_lo_pct: g.change_lo_pct, change_hi_pct: g.change_hi_pct,
    paired: g.paired ? 'true' : 'false', pairs: g.pairs, pairing_note: g.pairing_note, threshold_pct: r.threshold_pct, verdict: g.verdict,
  }));
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS], cast: { number: (v) => (Number.isFinite(v) ? String(+v.toFixed(6)) : v > 0 ? 'inf' : v < 0 ? '-inf' : '') } });
}

const VERDICT_COLORS: Partial<Record<Verdict, string>> = { regressed: '#e45756', improved: '#54a24b', same: '#8c8c8c', higher: '#4c78a8', lower: '#f58518', 'too-few': '#bab0ac' };

/** "paired" / "unpaired" / "paired: 2 of 3 groups" for the chart's subtitle. */
function pairedSummary(r: CompareResult): string {
  const withChange = r.groups.filter((g) => g.change_pct !== null);
  const paired = withChange.filter((g) => g.paired).length;
  return paired === 0 ? 'unpaired' : paired === withChange.length ? 'paired by seed' : `paired by seed: ${paired} of ${withChange.length} groups`;
}

/** Vega-Lite spec: relative change per cell x protocol with its 95% interval as a
 *  horizontal error bar, coloured by verdict, with dashed rules at +-threshold and a solid
 *  rule at 0. Groups without a finite change (one run only, failed, A mean 0) are left out
 *  and listed in the subtitle. */
export function compareChartSpec(r: CompareResult): VlSpec {
  const drawn = r.groups.filter((g) => g.change_pct !== null && Number.isFinite(g.change_pct));
  const label = (g: GroupResult) => safeText(`${g.cell} · ${g.protocol}`);
  const points = drawn.map((g) => ({
    group: label(g),
    change: +g.change_pct!.toFixed(3),
    lo: g.change_lo_pct !== null && Number.isFinite(g.change_lo_pct) ? +g.change_lo_pct.toFixed(3) : null,
    hi: g.change_hi_pct !== null && Number.isFinite(g.change_hi_pct) ? +g.change_hi_pct.toFixed(3) : null,
    verdict: g.verdict,
    a_mean: g.a.mean,
    b_mean: g.b.mean,
    n: g.paired ? `${g.pairs} pairs` : `${g.a.n} vs ${g.b.n}`,
  }));
  const left = r.groups.filter((g) => !drawn.includes(g));
  const verdicts = [...new Set(points.map((p) => p.verdict))];
  const subtitle = [
    `(mean B − mean A) / mean A, with 95% bootstrap interval over repetitions (${pairedSummary(r)}); ${DIRECTION_TEXT[r.direction]}; dashed: ±${r.threshold_pct}% threshold`,
    safeText(`A: ${r.a.name} · B: ${r.b.name}`),
  ];
  if (left.length) subtitle.push(`not drawn: ${left.map((g) => `${label(g)} (${g.verdict})`).join(', ')}`);
  const metric = safeText(r.metric);
  const x = { field: 'change', type: 'quantitative', title: `change of mean ${metric}, %`, scale: { zero: true } };
  const color = { field: 'verdict', type: 'nominal', scale: { domain: verdicts, range: verdicts.map((v) => VERDICT_COLORS[v] ?? '#333') }, legend: { title: 'verdict', orient: 'right' } };
  const y = { field: 'group', type: 'nominal', title: null, sort: points.map((p) => p.group) };
  return {
    ...base(`${metric}: B vs A`, subtitle),
    width: 520,
    height: { step: 24 },
    layer: [
      {
        data: { values: [{ x: -r.threshold_pct }, { x: r.threshold_pct }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: '#888' },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
      { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#333' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
      {
        data: { values: points },
        transform: [{ filter: 'datum.lo !== null && datum.hi !== null' }],
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y,
          x: { ...x, field: 'lo' },
          x2: { field: 'hi' },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y,
          x,
          color,
          tooltip: [
            { field: 'group' }, { field: 'change', title: 'change %' }, { field: 'lo', title: 'CI lo %' }, { field: 'hi', title: 'CI hi %' },
            { field: 'a_mean', title: 'A mean' }, { field: 'b_mean', title: 'B mean' }, { field: 'n', title: 'reps A vs B' }, { field: 'verdict' },
          ],
        },
      },
    ],
  };
}
