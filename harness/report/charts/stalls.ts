// Stall charts: per-stream timeline with stalls and drops (d), co-stall index, HoL stall
// index and mean stall time by protocol and loss (g).
import type { ChunkRow, RequestRow } from '../../records.ts';
import { groupByRun, runKey, stallAnalysis, type StallAnalysis, firstByteAt, lastByteAt } from '../../metrics.ts';
import { conditionLabel, fmt, pathLabel, setupLine, uniq } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import { base, protocolColor, type ChartContext, type ChartResult } from './common.ts';

/** Requests and chunks of every run, keyed by runKey; built once per report. */
export interface RunRecords {
  requests: Map<string, RequestRow[]>;
  chunks: Map<string, ChunkRow[]>;
}

export function indexRecords(ctx: ChartContext): RunRecords {
  return { requests: groupByRun(ctx.results.requests), chunks: groupByRun(ctx.results.chunks) };
}

/** Stall metrics of one summary row: the summary's own values when it has them, else
 *  computed from requests.csv + chunks.csv (null when neither is available). */
export function stallStats(row: SummaryRow, recs: RunRecords): { coStall: number | null; holStall: number | null; stallMean: number | null } {
  // hol_stall_index is empty for HTTP/1.x and in summaries written before it existed:
  // recompute from the records when they are there
  if (row.stall_ms_mean !== null && row.hol_stall_index !== null) return { coStall: row.co_stall_index, holStall: row.hol_stall_index, stallMean: row.stall_ms_mean };
  const k = runKey(row);
  const reqs = recs.requests.get(k);
  const chunks = recs.chunks.get(k);
  if (!reqs || !chunks) return { coStall: row.co_stall_index, holStall: null, stallMean: row.stall_ms_mean };
  const a = stallAnalysis(reqs, chunks, row.rtt_ms ?? 0);
  return { coStall: a.coStallIndex, holStall: a.holStallIndex, stallMean: a.stallMsMean };
}

interface TimelinePick {
  cell: string;
  rep: number;
  protocols: string[];
}

function pickTimeline(ctx: ChartContext, recs: RunRecords): TimelinePick | string {
  const opt = ctx.timeline;
  const hasChunks = (cell: string, p: string, rep: number) => recs.chunks.has(runKey({ cell, protocol: p, rep }));
  const withChunks = uniq(ctx.results.chunks.map((c) => c.protocol));
  let protocols = opt.protocols ?? (withChunks.includes('h2') && withChunks.includes('h3') ? ['h2', 'h3'] : ctx.protocols.filter((p) => withChunks.includes(p)).slice(0, 3));
  protocols = protocols.filter((p) => withChunks.includes(p));
  if (protocols.length === 0) return 'no chunks.csv rows';
  const cells = opt.cell !== undefined ? [opt.cell] : [...ctx.cellOrder].reverse(); // highest loss first
  if (ctx.cellOrder.length === 0 && opt.cell === undefined) cells.push(...uniq(ctx.results.chunks.map((c) => c.cell)));
  for (const cell of cells) {
    const reps = opt.rep !== undefined ? [opt.rep] : uniq(ctx.results.chunks.filter((c) => c.cell === cell).map((c) => c.rep)).sort((a, b) => a - b);
    const okRep = (rep: number, strict: boolean) =>
      protocols.every((p) => hasChunks(cell, p, rep) && (!strict || ctx.ok.some((r) => r.cell === cell && r.protocol === p && r.rep === rep)));
    const rep = reps.find((r) => okRep(r, true)) ?? reps.find((r) => okRep(r, false));
    if (rep !== undefined) return { cell, rep, protocols };
    if (opt.cell !== undefined) break;
  }
  return `no cell/repetition with chunks for all of ${protocols.join(', ')}`;
}

/** (d) One row per stream: waiting for the first byte, receiving, every data chunk, stalls
 *  (silences > T) and packet drops, for 2-3 protocols of the same cell and repetition. */
export function streamTimelineChart(ctx: ChartContext, recs: RunRecords): ChartResult {
  const id = 'stream-timeline';
  const title = 'Stream timeline';
  const pick = pickTimeline(ctx, recs);
  if (typeof pick === 'string') return { id, title, skipped: pick };
  const { cell, rep, protocols } = pick;
  const maxStreams = ctx.timeline.maxStreams ?? 40;
  const srow = ctx.results.summary.find((r) => r.cell === cell);
  const rttMs = srow?.rtt_ms ?? 0;
  const values: Record<string, unknown>[] = [];
  const panels: string[] = [];
  let threshold = 0;
  let truncated = 0;
  for (const protocol of protocols) {
    const k = runKey({ cell, protocol, rep });
    const allReqs = [...(recs.requests.get(k) ?? [])].sort((a, b) => a.object - b.object || a.req_id - b.req_id);
    const chunks = recs.chunks.get(k) ?? [];
    const a: StallAnalysis = stallAnalysis(allReqs, chunks, rttMs);
    threshold = a.thresholdMs;
    const reqs = allReqs.slice(0, maxStreams);
    truncated = Math.max(truncated, allReqs.length - reqs.length);
    const shown = new Set(reqs.map((r) => r.req_id));
    const t0 = Math.min(...allReqs.map((r) => r.start_ms));
    const tEnd = Math.max(...allReqs.map((r) => lastByteAt(r) ?? r.start_ms), ...chunks.map((c) => c.t_ms)) - t0;
    const nStalls = a.perRequest.reduce((s, p) => s + p.intervals.length, 0);
    const panel = `${protocol} — co-stall ${a.coStallIndex === null ? '–' : fmt(a.coStallIndex)}, HoL ${a.holStallIndex === null ? '–' : fmt(a.holStallIndex)}, ${nStalls} stalls, mean stall ${fmt(a.stallMsMean, 0)} ms/stream`;
    panels.push(panel);
    const byObj = new Map(allReqs.map((r) => [r.req_id, r.object]));
    for (const r of reqs) {
      const first = firstByteAt(r) ?? lastByteAt(r);
      const last = lastByteAt(r);
      if (first !== null) values.push({ panel, what: 'waiting for first byte', object: r.object, t: r.start_ms - t0, t2: first - t0 });
      if (first !== null && last !== null) values.push({ panel, what: 'receiving', object: r.object, t: first - t0, t2: last - t0 });
    }
    for (const c of chunks) if (shown.has(c.req_id)) values.push({ panel, what: 'data chunk', object: byObj.get(c.req_id), t: c.t_ms - t0, bytes: c.bytes });
    for (const p of a.perRequest) {
      if (!shown.has(p.req_id)) continue;
      for (const [s, e] of p.intervals) values.push({ panel, what: `stall (silence > ${fmt(threshold, 0)} ms)`, object: byObj.get(p.req_id), t: s - t0, t2: e - t0, ms: e - s });
    }
    for (const d of ctx.results.drops) {
      if (d.cell !== cell || d.rep !== rep || (d.protocol !== '' && d.protocol !== protocol)) continue;
      const t = d.t_ms - t0;
      if (t < 0 || t > tEnd) continue;
      values.push({ panel, what: `dropped packet (${d.direction || 'unknown'})`, t, cause: d.cause, direction: d.direction });
    }
  }
  const stallName = `stall (silence > ${fmt(threshold, 0)} ms)`;
  const whats = ['waiting for first byte', 'receiving', 'data chunk', stallName, 'dropped packet (downlink)', 'dropped packet (uplink)'];
  const colors = ['#d9d9d9', '#8c8c8c', '#4c78a8', '#e45756', '#f58518', '#b279a2'];
  const extra = uniq(values.map((v) => v.what as string)).filter((w) => !whats.includes(w));
  const present = new Set(values.map((v) => v.what as string));
  const domain = [...whats, ...extra].filter((w) => present.has(w));
  const range = domain.map((w) => colors[whats.indexOf(w)] ?? '#7f7f7f');
  const color = { field: 'what', type: 'nominal', title: null, scale: { domain, range }, legend: { orient: 'bottom', direction: 'horizontal', columns: 3, symbolType: 'square', labelLimit: 400, columnPadding: 24 } };
  const nStreams = uniq(values.filter((v) => v.object !== undefined).map((v) => v.object)).length;
  const x = { field: 't', type: 'quantitative', title: 'time since first request of the page (ms)' };
  const y = { field: 'object', type: 'ordinal', title: 'object (one row per stream)', axis: { labelFontSize: nStreams > 30 ? 8 : 10 } };
  const f = (w: string) => ({ filter: `datum.what === ${JSON.stringify(w)}` });
  const layer = [
    { transform: [f('waiting for first byte')], mark: { type: 'rule', strokeWidth: 2 }, encoding: { x, x2: { field: 't2' }, y, color } },
    { transform: [f('receiving')], mark: { type: 'rule', strokeWidth: 2 }, encoding: { x, x2: { field: 't2' }, y, color } },
    { transform: [f(stallName)], mark: { type: 'bar', opacity: 0.55, height: { band: 0.9 } }, encoding: { x, x2: { field: 't2' }, y, color, tooltip: [{ field: 'object' }, { field: 't', format: '.0f' }, { field: 'ms', format: '.0f', title: 'stall (ms)' }] } },
    { transform: [f('data chunk')], mark: { type: 'tick', thickness: 1, band: 0.7 }, encoding: { x, y, color } },
    { transform: [{ filter: "indexof(datum.what, 'dropped packet') === 0" }], mark: { type: 'rule', strokeWidth: 1, opacity: 0.8, strokeDash: [3, 2] }, encoding: { x, color, tooltip: [{ field: 't', format: '.1f' }, { field: 'direction' }, { field: 'cause' }] } },
  ];
  const rows = ctx.results.summary.filter((r) => r.cell === cell && protocols.includes(r.protocol));
  const cond = rows[0] ? conditionLabel(rows[0]) : cell;
  const cc = rows.length ? setupLine(rows, ['loss', 'rtt', 'rate', 'reps']) : '';
  const spec = {
    ...base(`${title} — ${protocols.join(' vs ')}, ${cond}, rep ${rep}`, [
      `${cc ? cc + '; ' : ''}${nStreams} streams${truncated ? ` (first ${maxStreams} objects of ${maxStreams + truncated})` : ''}; stall = no data for > max(1.5 × RTT, 10 ms) = ${fmt(threshold, 0)} ms`,
    ]),
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelFontSize: 12, labelFontWeight: 'bold', labelLimit: 520 } },
    columns: protocols.length,
    spec: { width: protocols.length > 2 ? 300 : 420, height: Math.max(120, Math.min(14 * nStreams, 560)), layer },
  };
  return {
    id, title,
    caption: `Cell ${cond}, repetition ${rep}. Each row is one stream (object). Light line: request sent, waiting for the first byte; dark line: receiving; blue ticks: data chunks; red: stalls; dashed vertical lines: packets the emulator dropped (when drops.csv exists).`,
    spec,
  };
}

/** (g) Co-stall index and mean stall time per protocol and loss. */
export function coStallChart(ctx: ChartContext, recs: RunRecords): ChartResult {
  const id = 'co-stall';
  const title = 'Co-stall index, HoL stall index and stall time by protocol and loss';
  const values: Record<string, unknown>[] = [];
  const used: SummaryRow[] = [];
  for (const r of ctx.ok) {
    const s = stallStats(r, recs);
    if (s.stallMean === null) continue;
    used.push(r);
    const common = { path: pathLabel(r), protocol: r.protocol, rep: r.rep, loss: `${fmt(r.loss_pct ?? 0)}%`, loss_n: r.loss_pct ?? 0 };
    values.push({ ...common, metric: 'co-stall index (0–1)', v: s.coStall });
    values.push({ ...common, metric: 'HoL stall index (0–1)', v: s.holStall });
    values.push({ ...common, metric: 'mean stall per stream (ms)', v: s.stallMean });
  }
  if (used.length === 0) return { id, title, skipped: 'no stall data (summary has no stall_ms_mean and no chunks.csv)' };
  const protocols = ctx.protocols.filter((p) => used.some((r) => r.protocol === p));
  const paths = uniq(used.map((r) => pathLabel(r)));
  const x = { field: 'loss', type: 'ordinal', sort: { field: 'loss_n' }, title: 'configured loss', axis: { labelAngle: 0 } };
  const xOffset = { field: 'protocol', type: 'nominal', sort: protocols };
  const layer = [
    { transform: [{ filter: 'isValid(datum.v)' }], mark: { type: 'bar', opacity: 0.75 }, encoding: { x, xOffset, color: protocolColor(ctx), y: { aggregate: 'mean', field: 'v', type: 'quantitative', title: null } } },
    {
      transform: [{ filter: 'isValid(datum.v)' }],
      mark: { type: 'point', filled: true, size: 16, color: '#222', opacity: 0.8 },
      encoding: { x, xOffset, y: { field: 'v', type: 'quantitative' }, tooltip: [{ field: 'protocol' }, { field: 'rep' }, { field: 'loss' }, { field: 'metric' }, { field: 'v', format: '.2f' }] },
    },
  ];
  const facet: Record<string, unknown> = { column: { field: 'metric', type: 'nominal', title: null, sort: ['co-stall index (0–1)', 'HoL stall index (0–1)', 'mean stall per stream (ms)'], header: { labelFontSize: 12, labelFontWeight: 'bold' } } };
  if (paths.length > 1) facet.row = { field: 'path', type: 'nominal', title: null };
  const spec = {
    ...base(`${title} — ${setupLine(used, ['loss', 'cc', 'reps'])}`, [
      `${setupLine(used, ['loss', 'rtt', 'rate'])}; bar = mean over repetitions, dots = repetitions`,
      'co-stall index = share of stall time during which ≥ half (and ≥ 2) of the receiving streams were stalled together',
      'HoL stall index = share of stall time (streams sharing a connection) during which the whole connection delivered nothing',
    ]),
    data: { values },
    facet,
    spec: { width: Math.max(200, 60 * uniq(used.map((r) => r.loss_pct)).length * Math.max(1, protocols.length / 2)), height: 200, layer },
    resolve: { scale: { y: 'independent' } },
  };
  return {
    id, title,
    caption: 'Co-stall index: fraction of all stall time (summed over streams) during which at least two and at least half of the streams that were receiving were stalled at once. Near 1 = stalls hit many streams together (TCP head-of-line blocking, but also streams taking turns on a busy link); near 0 = stalls are private to one stream. HoL stall index: fraction of the stall time of streams that share a connection during which that whole connection delivered nothing; taking turns does not count, so it separates head-of-line blocking from bandwidth sharing (empty for HTTP/1.x: no shared connections). No bar = no stalls in that run.',
    spec,
  };
}
