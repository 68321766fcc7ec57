// Human labels for cells, paths and setups, so every chart title states its conditions
// (a chart copied onto a slide must still say loss, RTT, rate and congestion control).
import type { SummaryRow } from './load.ts';
import { colorOf, isProtocol, labelRank, PROTOCOL_TABLE, protocolsOf } from '../protocols.ts';

/** Protocols in the order charts list them (the protocol table's order, harness/protocols.ts);
 *  labels that are not in the table follow alphabetically. */
export function sortProtocols(ps: Iterable<string>): string[] {
  return [...new Set(ps)].sort((a, b) => {
    const [ra, ca] = labelRank(a);
    const [rb, cb] = labelRank(b);
    return ra - rb || ca - cb || a.localeCompare(b);
  });
}

/** Tableau 10, three more distinct hues from Tableau 20 / category20b, then Tableau 20's light
 *  hues: the HTTP labels hold eight of the first ten (cleartext variants included), and a
 *  cross-check's client/server labels (h3@chromium@caddy) need eight more without repeats. */
const PALETTE = [
  '#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac', '#17becf', '#bcbd22', '#393b79',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5', '#637939', '#8c6d31',
];

/** The x axis of a chart with one column per protocol label: labels slanted once any is long
 *  (h2@chromium@caddy), so neighbours never overlap. */
export function protocolAxis(protocols: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const long = protocols.some((p) => p.length > 9);
  return { labelAngle: long ? -30 : 0, labelAlign: long ? 'right' : 'center', labelLimit: 240, ...extra };
}
/** Colours the HTTP protocols always hold (so an added http1.0x6 never takes h2's blue). */
const HTTP_HUES = new Set(
  protocolsOf('http').flatMap((p) => {
    const d = PROTOCOL_TABLE[p];
    return [d.color, ...Object.values(('labelColors' in d && d.labelColors) || {})];
  }),
);

/** Fixed colours per protocol (from the protocol table, Tableau 10), so a protocol has one
 *  colour in every chart; a cleartext label (http1.1x6-clear) has its own, never its TLS
 *  sibling's. Other labels (http1.1x1, http1.0x6 ...) take the remaining palette colours in
 *  order. */
export function protocolColors(protocols: string[]): { domain: string[]; range: string[] } {
  const used = new Set([...HTTP_HUES, ...protocols.filter((p) => isProtocol(p) && PROTOCOL_TABLE[p].family === 'messages').map((p) => colorOf(p)!)]);
  const free = PALETTE.filter((c) => !used.has(c));
  let k = 0;
  return { domain: protocols, range: protocols.map((p) => colorOf(p) ?? free[k++ % free.length]!) };
}

export function uniq<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** 2 -> "2", 0.5 -> "0.5", 12.345 -> "12.35" (at most 2 decimals, no trailing zeros). */
export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '';
  return String(+x.toFixed(digits));
}

export function rateText(mbps: number | null): string {
  return mbps === null ? 'no rate limit' : `${fmt(mbps)} Mbit/s`;
}

/** "RTT 50 ms · 20 Mbit/s" for one summary row's path (loss excluded). */
export function pathLabel(r: Pick<SummaryRow, 'rtt_ms' | 'rate_mbps'>): string {
  return `RTT ${fmt(r.rtt_ms)} ms · ${rateText(r.rate_mbps)}`;
}

/** "loss 2% · RTT 50 ms · 20 Mbit/s" */
export function conditionLabel(r: Pick<SummaryRow, 'loss_pct' | 'rtt_ms' | 'rate_mbps'>): string {
  return `loss ${fmt(r.loss_pct ?? 0)}% · ${pathLabel(r)}`;
}

/** Map cell id -> short readable label for facet headers: only the loss/RTT/rate parts
 *  that vary between cells (chart titles carry the constant ones), e.g. "loss 2%".
 *  `extra` (cell id -> text, e.g. "outage 5–15 s") is appended when it varies between the
 *  cells. Falls back to the cell id when none of this tells the cells apart. */
export function cellLabels(rows: SummaryRow[], extra?: Map<string, string>): Map<string, string> {
  const byCell = new Map<string, SummaryRow>();
  for (const r of rows) if (!byCell.has(r.cell)) byCell.set(r.cell, r);
  const all = [...byCell.values()];
  const varies = (f: (r: SummaryRow) => unknown) => new Set(all.map(f)).size > 1;
  const vl = varies((r) => r.loss_pct);
  const vr = varies((r) => r.rtt_ms);
  const vb = varies((r) => r.rate_mbps);
  const ve = extra !== undefined && varies((r) => extra.get(r.cell) ?? '');
  const labels = new Map<string, string>();
  for (const [cell, r] of byCell) {
    const parts: string[] = [];
    if (vl) parts.push(`loss ${fmt(r.loss_pct ?? 0)}%`);
    if (vr) parts.push(`RTT ${fmt(r.rtt_ms)} ms`);
    if (vb) parts.push(rateText(r.rate_mbps));
    if (ve && extra.get(cell)) parts.push(extra.get(cell)!);
    labels.set(cell, parts.length ? parts.join(' · ') : conditionLabel(r));
  }
  const distinct = () => new Set(labels.values()).size === labels.size;
  // same conditions, different workload (a page and a load cell): say which
  if (!distinct() && varies((r) => r.workload)) for (const [cell, r] of byCell) labels.set(cell, `${labels.get(cell)} · ${r.workload}`);
  if (!distinct()) for (const cell of byCell.keys()) labels.set(cell, cell);
  return labels;
}

/** Cells ordered by loss, then RTT, then rate, then id. */
export function sortCells(rows: SummaryRow[]): string[] {
  const first = new Map<string, SummaryRow>();
  for (const r of rows) if (!first.has(r.cell)) first.set(r.cell, r);
  const k = (x: number | null) => x ?? -1;
  return [...first.values()]
    .sort((a, b) => k(a.loss_pct) - k(b.loss_pct) || k(a.rtt_ms) - k(b.rtt_ms) || k(a.rate_mbps) - k(b.rate_mbps) || a.cell.localeCompare(b.cell))
    .map((r) => r.cell);
}

function listOrRange(vals: number[], unit: string): string {
  const v = uniq(vals).sort((a, b) => a - b);
  if (v.length <= 4) return v.map((x) => fmt(x)).join('/') + unit;
  return `${fmt(v[0])}–${fmt(v[v.length - 1])}${unit}`;
}

/** One line describing the conditions shared by `rows` (what varies is listed as a set):
 *  "loss 0/2% · RTT 50 ms · no rate limit · TCP cubic · QUIC cubic · 3 reps". `omit` drops
 *  parts a chart already shows on an axis. */
export function setupLine(rows: SummaryRow[], omit: ('loss' | 'rtt' | 'rate' | 'cc' | 'reps')[] = []): string {
  const parts: string[] = [];
  if (!omit.includes('loss')) parts.push(`loss ${listOrRange(rows.map((r) => r.loss_pct ?? 0), '%')}`);
  if (!omit.includes('rtt')) parts.push(`RTT ${listOrRange(rows.map((r) => r.rtt_ms ?? 0), ' ms')}`);
  if (!omit.includes('rate')) {
    const rates = uniq(rows.map((r) => r.rate_mbps));
    parts.push(rates.length === 1 ? rateText(rates[0]!) : `rate ${listOrRange(rates.map((r) => r ?? 0), ' Mbit/s')}`);
  }
  if (!omit.includes('cc')) {
    const tcp = uniq(rows.map((r) => r.tcp_cc).filter(Boolean));
    const quic = uniq(rows.map((r) => r.quic_cc).filter(Boolean));
    if (tcp.length) parts.push(`TCP ${tcp.join('/')}`);
    if (quic.length) parts.push(`QUIC ${quic.join('/')}`);
  }
  if (!omit.includes('reps')) {
    const reps = uniq(rows.map((r) => r.rep)).length;
    parts.push(`${reps} rep${reps === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}
