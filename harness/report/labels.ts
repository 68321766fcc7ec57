// Human labels for cells, paths and setups, so every chart title states its conditions
// (a chart copied onto a slide must still say loss, RTT, rate and congestion control).
import type { SummaryRow } from './load.ts';

/** Protocols in the order charts list them; unknown labels follow alphabetically. */
const PROTOCOL_ORDER = ['http1.0', 'http1.1', 'http1.1x1', 'http1.1x6', 'h2', 'h3', 'ws', 'sse', 'sse-h2', 'sse-h3', 'longpoll', 'grpc', 'grpc-unary', 'grpc-stream', 'grpc-bidi'];

export function sortProtocols(ps: Iterable<string>): string[] {
  const rank = (p: string) => {
    const i = PROTOCOL_ORDER.indexOf(p);
    return i < 0 ? PROTOCOL_ORDER.length : i;
  };
  return [...new Set(ps)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];
const HTTP_COLORS: Record<string, string> = { 'http1.0': '#9d755d', 'http1.1': '#b279a2', 'http1.1x6': '#f58518', h2: '#4c78a8', h3: '#54a24b' };
/** Messaging protocols never share a run with the HTTP ones (a scenario has one workload
 *  and the protocol x workload fit is checked at load), so they reuse the same hues. */
const MESSAGE_COLORS: Record<string, string> = {
  ws: '#4c78a8', sse: '#f58518', 'sse-h2': '#e45756', 'sse-h3': '#ff9da6', longpoll: '#9d755d', 'grpc-unary': '#b279a2', 'grpc-stream': '#54a24b', 'grpc-bidi': '#72b7b2',
};

/** Fixed colors per protocol (Tableau 10), so a protocol has one color in every chart.
 *  Other labels (http1.1x1, http1.0x6 ...) take the remaining palette colors in order. */
export function protocolColors(protocols: string[]): { domain: string[]; range: string[] } {
  const fixed: Record<string, string> = { ...HTTP_COLORS, ...MESSAGE_COLORS };
  const used = new Set([...Object.values(HTTP_COLORS), ...protocols.filter((p) => p in MESSAGE_COLORS).map((p) => MESSAGE_COLORS[p]!)]);
  const free = PALETTE.filter((c) => !used.has(c));
  let k = 0;
  return { domain: protocols, range: protocols.map((p) => fixed[p] ?? free[k++ % free.length]!) };
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
