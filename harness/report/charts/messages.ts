// Connection counts (every workload) and the messaging charts (messages workloads): message
// latency CDF, wire bytes per message, dead-peer detection delay, loss/duplicates across an
// outage. Inputs: summary.csv, messages.csv and run.json (scenario.workload, cells[].profile).
import { groupByRun, meanCi95, runKey } from '../../metrics.ts';
import { cellLabels, fmt, setupLine, uniq } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import type { MessageRow } from '../../workloads/messages.ts';
import { base, cellFacetLayout, nn, protocolColor, type ChartContext, type ChartResult } from './common.ts';
import { MIN_REPS_FOR_CI } from './page.ts';

/** Facets beyond this many cells make the connection chart unreadable: the first ones (by
 *  loss, RTT, rate) are drawn and the subtitle says how many were left out. */
const MAX_CONNECTION_CELLS = 12;

/** Points per (cell, protocol) line in the latency CDF (the file can hold 100 000 rows per job). */
const CDF_POINTS = 400;

interface OutageInfo {
  fromS: number;
  toS: number;
  direction: string;
}

interface MessagesWorkloadInfo {
  pattern?: 'echo' | 'push';
  messages?: number;
  message_bytes?: number;
  interval_ms?: number;
  duration_s?: number;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** run.json scenario.workload, when it is a messages workload. */
function workloadInfo(ctx: ChartContext): MessagesWorkloadInfo {
  const w = ctx.results.run.scenario?.workload;
  if (!w || typeof w !== 'object') return {};
  const o = w as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== 'messages') return {};
  return {
    pattern: o.pattern === 'echo' || o.pattern === 'push' ? o.pattern : undefined,
    messages: isNum(o.messages) ? o.messages : undefined,
    message_bytes: isNum(o.message_bytes) ? o.message_bytes : undefined,
    interval_ms: isNum(o.interval_ms) ? o.interval_ms : undefined,
    duration_s: isNum(o.duration_s) ? o.duration_s : undefined,
  };
}

/** Cell id -> outages from run.json cells[].profile.outages; null when run.json does not
 *  describe the cells' profiles (old runs, hand-made folders). */
function outagesByCell(ctx: ChartContext): Map<string, OutageInfo[]> | null {
  const cells = ctx.results.run.cells;
  if (!Array.isArray(cells)) return null;
  const out = new Map<string, OutageInfo[]>();
  for (const c of cells) {
    if (!c || typeof c !== 'object') continue;
    const o = c as { id?: unknown; profile?: { outages?: unknown } };
    if (typeof o.id !== 'string' || !o.profile || typeof o.profile !== 'object') continue;
    const list = Array.isArray(o.profile.outages) ? o.profile.outages : [];
    out.set(
      o.id,
      list
        .map((x) => x as Record<string, unknown>)
        .filter((x) => isNum(x.fromS) && isNum(x.toS))
        .map((x) => ({ fromS: x.fromS as number, toS: x.toS as number, direction: typeof x.direction === 'string' ? x.direction : 'both' })),
    );
  }
  return out.size ? out : null;
}

function outageText(outs: OutageInfo[]): string {
  if (!outs.length) return 'no outage';
  const parts = outs.map((o) => `${fmt(o.fromS)}–${fmt(o.toS)} s${o.direction === 'both' ? '' : ` ${o.direction}`}`);
  return `${outs.length === 1 ? 'outage' : 'outages'} ${parts.join(', ')}`;
}

/** Messages runs in cells with an outage: from run.json; without cell profiles there, the
 *  cells where some run recorded a detection. `how` says which for the subtitle. */
function outageCells(ctx: ChartContext, rows: SummaryRow[]): { cells: Set<string>; outages: Map<string, OutageInfo[]> | null; how: string } {
  const outages = outagesByCell(ctx);
  if (outages) return { cells: new Set([...outages].filter(([, o]) => o.length > 0).map(([c]) => c)), outages, how: 'run.json' };
  const detected = rows.filter((r) => r.detect_ms_client !== null || r.detect_ms_server !== null || r.detect_mech_client || r.detect_mech_server);
  return { cells: new Set(detected.map((r) => r.cell)), outages: null, how: 'cells with a recorded detection (run.json has no cell profiles)' };
}

/** Cell labels that also say which cells had an outage when that differs between cells. */
function labelsWithOutages(rows: SummaryRow[], outages: Map<string, OutageInfo[]> | null): Map<string, string> {
  if (!outages) return cellLabels(rows);
  return cellLabels(rows, new Map([...outages].map(([c, o]) => [c, outageText(o)])));
}

/** The rows of `msg` in outage cells, with their outage-aware cell labels; a skip reason
 *  when there are none (shared by the detection and recovery charts). */
function inOutageCells(ctx: ChartContext, msg: SummaryRow[]): { rows: SummaryRow[]; oc: ReturnType<typeof outageCells>; labels: Map<string, string> } | { skipped: string } {
  const oc = outageCells(ctx, msg);
  const rows = msg.filter((r) => oc.cells.has(r.cell));
  if (rows.length === 0) {
    return { skipped: oc.outages ? 'no messages runs in a cell with an outage (run.json cells[].profile.outages)' : 'run.json has no cell profiles (outages) and no run recorded a detection' };
  }
  return { rows, oc, labels: labelsWithOutages(rows, oc.outages) };
}

function labelsFor(ctx: ChartContext, rows: SummaryRow[]): Map<string, string> {
  return labelsWithOutages(rows, outagesByCell(ctx));
}

/** Messages-workload rows that produced a messages result: successful ones, plus failed
 *  ones that still counted messages (nothing arrived) when `withFailed`. */
function messageRows(ctx: ChartContext, withFailed = false): SummaryRow[] {
  return ctx.results.summary.filter(
    (r) => r.workload === 'messages' && (r.status === 'SUCCEEDED' || (withFailed && r.status === 'FAILED' && r.msgs_sent !== null)),
  );
}

function failedNote(rows: SummaryRow[]): string {
  const n = rows.filter((r) => r.status !== 'SUCCEEDED').length;
  return n ? `; includes ${n} failed run${n === 1 ? '' : 's'} (no message arrived)` : '';
}

/** Mean and 95% t-CI (null below MIN_REPS_FOR_CI), lo clipped at 0. */
function ci(xs: number[]): { mean: number | null; lo: number | null; hi: number | null; n: number } {
  if (!xs.length) return { mean: null, lo: null, hi: null, n: 0 };
  const c = meanCi95(xs);
  if (c.n < MIN_REPS_FOR_CI) return { mean: nn(c.mean), lo: null, hi: null, n: c.n };
  return { mean: nn(c.mean), lo: nn(Math.max(0, c.lo)), hi: nn(c.hi), n: c.n };
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const l = m.get(k);
    if (l) l.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/** y scale with room above the tallest mark for the number drawn on top of it. */
function headroom(max: number): { zero: true; domainMax: number; nice: true } {
  return { zero: true, domainMax: Math.max(1, max) * 1.15, nice: true };
}

const cellProto = (r: { cell: string; protocol: string }) => `${r.cell}\u0000${r.protocol}`;

function protocolsOf(ctx: ChartContext, rows: SummaryRow[]): string[] {
  return ctx.protocols.filter((p) => rows.some((r) => r.protocol === p));
}

function workloadLine(w: MessagesWorkloadInfo): string {
  if (!w.pattern) return 'messages workload';
  const n = w.messages !== undefined ? `${w.messages} messages` : 'messages';
  const size = w.message_bytes !== undefined ? ` of ${w.message_bytes} B` : '';
  const every = w.interval_ms !== undefined ? (w.interval_ms === 0 ? ' back to back' : ` every ${fmt(w.interval_ms)} ms`) : '';
  return w.pattern === 'push' ? `push: server sends ${n}${size}${every}` : `echo: client sends ${n}${size}${every}, server returns each`;
}

// ---------------------------------------------------------------------------------------
// connections-used

/** Transport connections per run, counted by the client (connections_used) and by the
 *  server (server_connections), per protocol; every workload. */
export function connectionsUsedChart(ctx: ChartContext): ChartResult {
  const id = 'connections-used';
  const title = 'Connections per run: opened by the client vs accepted by the server';
  const all = ctx.ok.filter((r) => r.connections_used !== null || r.server_connections !== null);
  if (all.length === 0) return { id, title, skipped: 'no successful runs with connections_used or server_connections' };
  const cellsAll = ctx.cellOrder.filter((c) => all.some((r) => r.cell === c));
  const extraCells = uniq(all.map((r) => r.cell)).filter((c) => !cellsAll.includes(c));
  const shownCells = new Set([...cellsAll, ...extraCells].slice(0, MAX_CONNECTION_CELLS));
  const rows = all.filter((r) => shownCells.has(r.cell));
  const left = cellsAll.length + extraCells.length - shownCells.size;
  const labels = labelsFor(ctx, rows);
  const SIDES = [
    { side: 'client: connections opened', field: 'connections_used' as const },
    { side: 'server: connections accepted', field: 'server_connections' as const },
  ];
  const values: Record<string, unknown>[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    for (const s of SIDES) {
      const xs = g.map((r) => r[s.field]).filter((x): x is number => x !== null);
      if (!xs.length) continue;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const min = Math.min(...xs);
      const max = Math.max(...xs);
      values.push({ condition: labels.get(r0.cell) ?? r0.cell, protocol: r0.protocol, side: s.side, mean, min, max, spread: min !== max, n: xs.length });
    }
  }
  const sides = SIDES.map((s) => s.side).filter((s) => values.some((v) => v.side === s));
  const protocols = protocolsOf(ctx, rows);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'side', type: 'nominal', sort: sides };
  const y = { type: 'quantitative', title: 'connections per run', scale: headroom(Math.max(...values.map((v) => v.max as number))) };
  const color = {
    field: 'side', type: 'nominal', title: 'counted by', sort: sides, scale: { domain: sides, range: ['#2f6ea6', '#9ecae1'].slice(0, sides.length) },
    legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 400 },
  };
  const spec = {
    ...base(`Connections per run — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${setupLine(rows, ['loss', 'rtt', 'rate'])}; bar and number = mean over repetitions, whisker = min–max where repetitions differ`,
      ...(left > 0 ? [`first ${shownCells.size} of ${shownCells.size + left} cells shown (by loss, RTT, rate)`] : []),
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(180, 80 * protocols.length),
      height: 200,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x, xOffset, color, y: { field: 'mean', ...y },
            tooltip: [{ field: 'protocol' }, { field: 'side', title: 'counted by' }, { field: 'mean', format: '.2~f', title: 'mean per run' }, { field: 'min' }, { field: 'max' }, { field: 'n', title: 'runs' }],
          },
        },
        {
          transform: [{ filter: 'datum.spread' }],
          mark: { type: 'rule', color: '#333', strokeWidth: 1.2 },
          encoding: { x, xOffset, y: { field: 'min', ...y }, y2: { field: 'max' } },
        },
        {
          mark: { type: 'text', dy: -4, fontSize: 10, baseline: 'bottom', color: '#222' },
          encoding: { x, xOffset, y: { field: 'max', ...y }, text: { field: 'mean', type: 'quantitative', format: '.1~f' } },
        },
      ],
    },
  };
  // state what was measured, per workload and protocol, over all runs shown
  const mean = (rs: SummaryRow[], f: (r: SummaryRow) => number | null) => {
    const xs = rs.map(f).filter((v): v is number => v !== null);
    return xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : null;
  };
  const workloads = uniq(rows.map((r) => r.workload));
  const measured = workloads.map((wl) => {
    const per = protocols.flatMap((p) => {
      const rs = rows.filter((r) => r.protocol === p && r.workload === wl);
      if (!rs.length) return [];
      const conns = mean(rs, (r) => r.connections_used);
      const what = wl === 'messages' ? `${fmt(mean(rs, (r) => r.reconnects), 1) || '?'} reconnects` : `${fmt(mean(rs, (r) => r.requests), 1) || '?'} requests`;
      return [`${p} ${conns === null ? 'n/a' : fmt(conns, 2)} (${what})`];
    });
    return `${workloads.length > 1 ? `${wl || 'unknown'} workload: ` : ''}${per.join('; ')}`;
  });
  const caption =
    'connections_used: transport connections (TCP, or QUIC for h3) the client opened during the job, reconnects included; ' +
    "server_connections: connections the server accepted during the job (its counter's difference before and after). " +
    `Measured here, client side, mean per run: ${measured.join(' — ')}. Where the two bars differ, client and server counted a different number of connections for the same runs (per-run values: summary.csv).`;
  return { id, title, caption, spec };
}

// ---------------------------------------------------------------------------------------
// wire-bytes-per-message

export function wireBytesPerMessageChart(ctx: ChartContext): ChartResult {
  const id = 'wire-bytes-per-message';
  const title = 'Wire bytes per delivered message';
  const msg = messageRows(ctx);
  if (msg.length === 0) return { id, title, skipped: 'no successful messages-workload runs' };
  const rows = msg.filter((r) => r.msgs_received && (r.wire_bytes_per_msg !== null || (r.wire_bytes_up !== null && r.wire_bytes_down !== null)));
  if (rows.length === 0) return { id, title, skipped: 'the messages runs have no wire byte counts (wire_bytes_up/down, msgs_received)' };
  const w = workloadInfo(ctx);
  const labels = labelsFor(ctx, rows);
  const label = (r: SummaryRow) => labels.get(r.cell) ?? r.cell;
  const values: Record<string, unknown>[] = [];
  const ns: number[] = [];
  let split = true;
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const total = g.map((r) => r.wire_bytes_per_msg ?? (r.wire_bytes_up! + r.wire_bytes_down!) / r.msgs_received!);
    const c = ci(total);
    ns.push(c.n);
    values.push({ kind: 'agg', condition: label(r0), protocol: r0.protocol, ...c });
    for (const [i, r] of g.entries()) values.push({ kind: 'rep', condition: label(r0), protocol: r0.protocol, rep: r.rep, total: total[i] });
    const withDir = g.filter((r) => r.wire_bytes_up !== null && r.wire_bytes_down !== null);
    if (withDir.length === g.length) {
      const m = (f: (r: SummaryRow) => number) => withDir.reduce((a, r) => a + f(r), 0) / withDir.length;
      values.push({ kind: 'part', condition: label(r0), protocol: r0.protocol, direction: 'downlink (server → client)', order: 0, bytes: m((r) => r.wire_bytes_down! / r.msgs_received!) });
      values.push({ kind: 'part', condition: label(r0), protocol: r0.protocol, direction: 'uplink (client → server)', order: 1, bytes: m((r) => r.wire_bytes_up! / r.msgs_received!) });
    } else split = false;
  }
  // without the split for every group, draw the total as one bar
  const bars = split
    ? values.filter((v) => v.kind === 'part')
    : values.filter((v) => v.kind === 'agg').map((v) => ({ ...v, kind: 'part', direction: 'both directions', order: 0, bytes: v.mean }));
  const data: Record<string, unknown>[] = [...values.filter((v) => v.kind !== 'part'), ...bars];
  const payload = w.message_bytes !== undefined ? w.message_bytes * (w.pattern === 'echo' ? 2 : 1) : null;
  if (payload !== null) for (const c of uniq(rows.map(label))) data.push({ kind: 'payload', condition: c, payload });
  const dirs = uniq(bars.map((b) => b.direction as string));
  const protocols = protocolsOf(ctx, rows);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { labelAngle: 0 } };
  const tallest = Math.max(payload ?? 0, ...data.flatMap((v) => [v.hi, v.mean, v.total].filter(isNum)));
  const y = { type: 'quantitative', title: 'wire bytes per delivered message (B)', scale: headroom(tallest) };
  const payloadText =
    payload === null
      ? 'message size unknown (run.json has no scenario.workload.message_bytes)'
      : w.pattern === 'echo'
        ? `dashed line = payload: ${w.message_bytes} B out + ${w.message_bytes} B back (echo)`
        : `dashed line = payload: ${w.message_bytes} B per message`;
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${setupLine(rows, ['loss', 'rtt', 'rate'])}`,
      `bar = mean over repetitions${split ? ' split by direction' : ''}, whisker = 95% CI (t) of the total${ns.some((n) => n < MIN_REPS_FOR_CI) ? ` (only where n ≥ ${MIN_REPS_FOR_CI})` : ''}, dots = repetitions; ${payloadText}`,
    ],
    ),
    data: { values: data },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(180, 64 * protocols.length),
      height: 240,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'part'" }],
          mark: { type: 'bar', width: { band: 0.6 } },
          encoding: {
            x, y: { field: 'bytes', ...y, stack: 'zero' },
            color: { field: 'direction', type: 'nominal', title: null, sort: dirs, scale: { domain: dirs, range: ['#4c78a8', '#9ecae1'].slice(0, dirs.length) }, legend: { orient: 'bottom', direction: 'horizontal' } },
            order: { field: 'order', type: 'quantitative' },
            tooltip: [{ field: 'protocol' }, { field: 'direction' }, { field: 'bytes', format: '.0f', title: 'B per message (mean)' }],
          },
        },
        {
          transform: [{ filter: "datum.kind === 'agg' && isValid(datum.lo)" }],
          mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
          encoding: { x, y: { field: 'lo', ...y }, y2: { field: 'hi' } },
        },
        {
          transform: [{ filter: "datum.kind === 'rep'" }],
          mark: { type: 'point', filled: true, size: 22, color: '#e45756', opacity: 0.9 },
          encoding: { x, y: { field: 'total', ...y }, tooltip: [{ field: 'protocol' }, { field: 'rep' }, { field: 'total', format: '.1f', title: 'B per message' }] },
        },
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'text', dy: -8, fontSize: 10, baseline: 'bottom', color: '#222' },
          encoding: { x, y: { field: 'mean', ...y }, text: { field: 'mean', type: 'quantitative', format: '.0f' } },
        },
        ...(payload === null
          ? []
          : [
              {
                transform: [{ filter: "datum.kind === 'payload'" }],
                mark: { type: 'rule', color: '#222', strokeDash: [5, 3], strokeWidth: 1.2 },
                encoding: { y: { field: 'payload', ...y } },
              },
              {
                transform: [{ filter: "datum.kind === 'payload'" }],
                mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -2, fontSize: 10, color: '#222' },
                encoding: { x: { value: 0 }, y: { field: 'payload', ...y }, text: { value: `payload ${payload} B` } },
              },
            ]),
      ],
    },
  };
  const caption =
    'Bytes on the client\'s network interface during the job (layer 2: Ethernet, IP, TCP/UDP, TLS and protocol framing, handshakes, keepalives, retransmissions and ACKs included), ' +
    'per message that arrived: wire_bytes_up / msgs_received (uplink) and wire_bytes_down / msgs_received (downlink). ' +
    (payload === null ? 'The message size is not in run.json, so no payload line is drawn.' : `Overhead per message = bar height − payload line (${payload} B).`);
  return { id, title, caption, spec };
}

// ---------------------------------------------------------------------------------------
// message-latency

function latencyName(w: MessagesWorkloadInfo): { axis: string; what: string; def: string } {
  if (w.pattern === 'push') return { axis: 'one-way latency (ms, log scale)', what: 'One-way message latency (push)', def: 'latency = client receive − the message’s due time on the server' };
  if (w.pattern === 'echo') return { axis: 'round-trip latency (ms, log scale)', what: 'Round-trip message latency (echo)', def: 'latency = echo received − client send stamp' };
  return { axis: 'message latency (ms, log scale)', what: 'Message latency', def: 'latency = receive − send stamp' };
}

/** CDF of per-message latency from messages.csv (first arrivals only), per protocol and
 *  cell, pooled over repetitions; y is the share of messages *sent*, so lost messages keep
 *  a line below 100%. Falls back to p50/p99 from summary.csv without messages.csv. */
export function messageLatencyChart(ctx: ChartContext): ChartResult {
  const id = 'message-latency';
  const w = workloadInfo(ctx);
  const names = latencyName(w);
  const title = names.what;
  const rows = messageRows(ctx);
  if (rows.length === 0) return { id, title, skipped: 'no successful messages-workload runs' };
  const labels = labelsFor(ctx, rows);
  const byRun = groupByRun(ctx.results.messages.filter((m) => m.dup === 0));
  const withRows = rows.filter((r) => byRun.has(runKey(r)));
  return withRows.length ? latencyCdf(ctx, id, title, withRows, byRun, labels, w) : latencyPercentiles(ctx, id, title, rows, labels, w);
}

function latencyCdf(
  ctx: ChartContext, id: string, title: string, rows: SummaryRow[], byRun: Map<string, MessageRow[]>, labels: Map<string, string>, w: MessagesWorkloadInfo,
): ChartResult {
  const values: Record<string, unknown>[] = [];
  let nonPositive = 0;
  let truncatedRuns = 0;
  const tail: string[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const pts: { ms: number; w: number }[] = [];
    let denom = 0;
    for (const r of g) {
      const ms = byRun.get(runKey(r))!;
      // messages.csv keeps at most 100 000 rows per job: weight the rows kept so they stand
      // for every message received
      const received = r.msgs_received ?? ms.length;
      const weight = received > ms.length ? received / ms.length : 1;
      if (weight > 1) truncatedRuns++;
      denom += r.msgs_sent ?? Math.max(received, ms.length);
      for (const m of ms) {
        if (m.latency_ms > 0) pts.push({ ms: m.latency_ms, w: weight });
        else nonPositive++;
      }
    }
    if (!pts.length || denom <= 0) continue;
    pts.sort((a, b) => a.ms - b.ms);
    const condition = labels.get(r0.cell) ?? r0.cell;
    const step = Math.max(1, Math.floor(pts.length / CDF_POINTS));
    let cum = 0;
    pts.forEach((p, i) => {
      cum += p.w;
      if (i === 0 || i === pts.length - 1 || i % step === 0) values.push({ condition, protocol: r0.protocol, latency_ms: p.ms, frac: Math.min(1, cum / denom) });
    });
    const reached = cum / denom;
    if (reached < 0.9995) tail.push(`${r0.protocol}${labels.size > 1 ? ` (${condition})` : ''} ${fmt(100 * reached, 1)}%`);
  }
  if (!values.length) return latencyPercentiles(ctx, id, title, rows, labels, w);
  const names = latencyName(w);
  const legend = { title: 'protocol', symbolType: 'stroke', symbolStrokeWidth: 3 };
  const reps = uniq(rows.map((r) => r.rep)).length;
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${setupLine(rows, ['loss', 'rtt', 'rate'])}`,
      `${names.def}; y = share of the messages sent that arrived within x (first arrivals; ${reps} repetition${reps === 1 ? '' : 's'} pooled); below 100% at the end = lost`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: 340,
      height: 230,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8, opacity: 0.9 },
      encoding: {
        x: { field: 'latency_ms', type: 'quantitative', title: names.axis, scale: { type: 'log' } },
        y: { field: 'frac', type: 'quantitative', title: 'messages delivered', axis: { format: '%' }, scale: { domain: [0, 1] } },
        color: protocolColor(ctx, legend),
        tooltip: [{ field: 'protocol' }, { field: 'latency_ms', format: '.1f', title: 'latency (ms)' }, { field: 'frac', format: '.1%', title: 'delivered' }],
      },
    },
  };
  const notes = [
    tail.length ? `Delivered by the end of the job: ${tail.join(', ')}.` : 'Every message sent arrived.',
    nonPositive ? `${nonPositive} rows with latency ≤ 0 ms are not drawn (log axis).` : '',
    truncatedRuns ? `${truncatedRuns} runs had more messages than messages.csv keeps; their rows are weighted to stand for all received.` : '',
  ].filter(Boolean);
  const caption =
    `Cumulative distribution of per-message latency from messages.csv (latency_ms of first arrivals; duplicates excluded), ` +
    `${w.pattern === 'push' ? "the client's receive time minus the time the server's schedule produced the message (same clock; server-side waits such as a pending long poll or a replay count)" : w.pattern === 'echo' ? "the echo's arrival minus the client's send stamp" : 'receive minus send stamp'}. ` +
    `The y axis counts against messages sent (summary msgs_sent), so lost messages never reach the top. ${notes.join(' ')}`;
  return { id, title, caption, spec };
}

function latencyPercentiles(ctx: ChartContext, id: string, title: string, all: SummaryRow[], labels: Map<string, string>, w: MessagesWorkloadInfo): ChartResult {
  const rows = all.filter((r) => r.msg_p50_ms !== null || r.msg_p99_ms !== null);
  if (rows.length === 0) return { id, title, skipped: 'no messages.csv rows and no msg_p50_ms/msg_p99_ms in summary.csv' };
  const PCTS = [['p50', 'msg_p50_ms'], ['p99', 'msg_p99_ms']] as const;
  const values: Record<string, unknown>[] = [];
  const ns: number[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const condition = labels.get(r0.cell) ?? r0.cell;
    for (const [pct, k] of PCTS) {
      const xs = g.map((r) => r[k]).filter((x): x is number => x !== null && x > 0);
      if (!xs.length) continue;
      const c = ci(xs);
      ns.push(c.n);
      values.push({ kind: 'agg', condition, protocol: r0.protocol, pct, ...c, lo: c.lo === null ? null : Math.max(c.lo, Math.min(...xs) / 2) });
      for (const r of g) if (r[k] !== null && r[k]! > 0) values.push({ kind: 'rep', condition, protocol: r0.protocol, pct, rep: r.rep, ms: r[k] });
    }
  }
  const protocols = protocolsOf(ctx, rows);
  const names = latencyName(w);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'pct', type: 'nominal', sort: ['p50', 'p99'] };
  const y = { type: 'quantitative', title: names.axis, scale: { type: 'log' } };
  const color = { field: 'pct', type: 'nominal', title: 'percentile', scale: { domain: ['p50', 'p99'], range: ['#6baed6', '#08306b'] } };
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${setupLine(rows, ['loss', 'rtt', 'rate'])}`,
      `${names.def}; from summary.csv (no messages.csv): dots = repetitions, tick = mean, whisker = 95% CI (t)${ns.some((n) => n < MIN_REPS_FOR_CI) ? ` (only where n ≥ ${MIN_REPS_FOR_CI})` : ''}`,
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(180, 64 * protocols.length),
      height: 230,
      layer: [
        { transform: [{ filter: "datum.kind === 'agg' && isValid(datum.lo)" }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, xOffset, color, y: { field: 'lo', ...y }, y2: { field: 'hi' } } },
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'tick', thickness: 2, size: 14 },
          encoding: { x, xOffset, color, y: { field: 'mean', ...y }, tooltip: [{ field: 'protocol' }, { field: 'pct' }, { field: 'mean', format: '.1f' }, { field: 'lo', format: '.1f' }, { field: 'hi', format: '.1f' }, { field: 'n' }] },
        },
        {
          transform: [{ filter: "datum.kind === 'rep'" }],
          mark: { type: 'point', filled: true, size: 24, opacity: 0.8 },
          encoding: { x, xOffset, color, y: { field: 'ms', ...y }, tooltip: [{ field: 'protocol' }, { field: 'pct' }, { field: 'rep' }, { field: 'ms', format: '.1f' }] },
        },
      ],
    },
  };
  const caption = 'Per-run p50 and p99 of message latency (summary.csv msg_p50_ms, msg_p99_ms; first arrivals only). messages.csv was not available, so no distribution is drawn. The percentiles cover delivered messages only: lost messages do not show here (see the recovery chart).';
  return { id, title, caption, spec };
}

// ---------------------------------------------------------------------------------------
// dead-peer-detection

/** Time from the (first) outage's start to the first dead-peer detection, per side. Runs
 *  where a side detected nothing are drawn hollow at the time the job ended (counted from
 *  the outage's start), with a text label. */
export function deadPeerDetectionChart(ctx: ChartContext): ChartResult {
  const id = 'dead-peer-detection';
  const title = 'Dead-peer detection after an outage began';
  const msg = messageRows(ctx, true);
  if (msg.length === 0) return { id, title, skipped: 'no messages-workload runs' };
  const sel = inOutageCells(ctx, msg);
  if ('skipped' in sel) return { id, title, skipped: sel.skipped };
  const { rows, oc, labels } = sel;
  const w = workloadInfo(ctx);
  const label = (r: SummaryRow) => labels.get(r.cell) ?? r.cell;
  const lastRecv = new Map<string, number>();
  for (const m of ctx.results.messages) {
    const k = runKey(m);
    if (Number.isFinite(m.recv_ms)) lastRecv.set(k, Math.max(lastRecv.get(k) ?? 0, m.recv_ms));
  }
  /** ms from the outage's start to the job's end: a push/echo job with lost messages runs
   *  to duration_s; otherwise it ends with its last arrival (messages.csv). */
  const watchedMs = (r: SummaryRow): number | null => {
    const outs = oc.outages?.get(r.cell);
    if (!outs?.length) return null;
    const from = Math.min(...outs.map((o) => o.fromS)) * 1000;
    const last = lastRecv.get(runKey(r));
    const end = (r.msgs_lost ?? 0) > 0 && w.duration_s !== undefined ? w.duration_s * 1000 : (last ?? (w.duration_s !== undefined ? w.duration_s * 1000 : null));
    return end === null ? null : end - from;
  };
  const SIDES = [
    { side: 'client', ms: 'detect_ms_client', mech: 'detect_mech_client' },
    { side: 'server', ms: 'detect_ms_server', mech: 'detect_mech_server' },
  ] as const;
  const points: Record<string, unknown>[] = [];
  const detectedMs = rows.flatMap((r) => SIDES.map((s) => r[s.ms]).filter((x): x is number => x !== null));
  // where undetected runs go when the job's end is unknown: right of every detection
  const fallbackMs = Math.max(1000, ...detectedMs) * 2;
  for (const r of rows) {
    for (const s of SIDES) {
      const ms = r[s.ms];
      const base = { cell: r.cell, condition: label(r), protocol: r.protocol, side: s.side, row: `${r.protocol} · ${s.side}`, rep: r.rep, status: r.status };
      if (ms !== null) {
        points.push({ ...base, detected: true, ms, x: Math.max(ms, 1), mech: r[s.mech] || '?', what: `${r[s.mech] || '?'} after ${fmt(ms, 1)} ms` });
        continue;
      }
      const watched = watchedMs(r);
      if (watched !== null && watched <= 0) {
        points.push({ ...base, detected: false, ms: null, x: 1, mech: '', what: 'the job ended before the outage began' });
      } else {
        const x = watched ?? fallbackMs;
        points.push({
          ...base, detected: false, ms: null, x: Math.max(x, 1), mech: '',
          what: watched === null ? 'not detected within the run (end of the job unknown: drawn right of all detections)' : `not detected within the run (the job ended ${fmt(watched / 1000, 1)} s after the outage began)`,
        });
      }
    }
  }
  // one text label per (cell, protocol, side), right of its rightmost mark
  const texts: Record<string, unknown>[] = [];
  for (const g of groupBy(points, (p) => `${p.condition}\u0000${p.protocol}\u0000${p.side}`).values()) {
    const p0 = g[0]!;
    const det = g.filter((p) => p.detected);
    const nd = g.length - det.length;
    const mechs = uniq(det.map((p) => p.mech as string));
    const ended = g.filter((p) => !p.detected && String(p.what).startsWith('the job ended')).length;
    const parts: string[] = [];
    if (det.length) parts.push(mechs.join(', '));
    if (nd - ended > 0) parts.push(det.length ? `${nd - ended} of ${g.length} not detected within the run` : 'not detected within the run');
    if (ended) parts.push(`${ended} ended before the outage`);
    texts.push({ condition: p0.condition, protocol: p0.protocol, side: p0.side, row: p0.row, x: Math.max(...g.map((p) => p.x as number)), text: `${p0.side}: ${parts.join('; ')}` });
  }
  const protocols = protocolsOf(ctx, rows);
  const rowOrder = protocols.flatMap((p) => SIDES.map((s) => `${p} · ${s.side}`)).filter((r) => points.some((p) => p.row === r));
  const y = { field: 'row', type: 'nominal', sort: rowOrder, title: null, axis: { labelFontSize: 11 } };
  const xEnc = { field: 'x', type: 'quantitative', title: 'time from the outage start to the first detection (ms, log scale)', scale: { type: 'log' } };
  const color = protocolColor(ctx, null);
  const shape = { field: 'side', type: 'nominal', title: 'side', scale: { domain: ['client', 'server'], range: ['circle', 'square'] }, legend: null };
  const tooltip = [{ field: 'protocol' }, { field: 'side' }, { field: 'rep' }, { field: 'what', title: 'detection' }, { field: 'status' }];
  const outs = oc.outages ? uniq(rows.map((r) => outageText(oc.outages!.get(r.cell) ?? []))) : [];
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}; ${outs.length ? `${outs.join(' / ')}; ` : ''}${setupLine(rows, ['loss', 'rtt', 'rate'])}${failedNote(rows)}`,
      'filled = detected (label: mechanism), hollow = not detected within the run, drawn where the job ended; one mark per repetition',
    ]),
    data: { values: [...points.map((p) => ({ ...p, kind: 'point' })), ...texts.map((t) => ({ ...t, kind: 'text' }))] },
    facet: { ...cellFacetLayout(ctx, rows, labels).facet },
    columns: 1,
    spec: {
      width: 420,
      height: { step: 22 },
      layer: [
        {
          transform: [{ filter: "datum.kind === 'point' && datum.detected" }],
          mark: { type: 'point', filled: true, size: 70, opacity: 0.9 },
          encoding: { x: xEnc, y, color, shape, tooltip },
        },
        {
          transform: [{ filter: "datum.kind === 'point' && !datum.detected" }],
          mark: { type: 'point', filled: false, size: 80, strokeWidth: 1.8 },
          encoding: { x: xEnc, y, color, shape, tooltip },
        },
        {
          transform: [{ filter: "datum.kind === 'text'" }],
          mark: { type: 'text', align: 'left', dx: 9, fontSize: 10, color: '#222' },
          encoding: { x: xEnc, y, text: { field: 'text' } },
        },
      ],
    },
  };
  const caption =
    'Delay from the first outage\'s start (blackhole in force) to the first dead-peer detection by the client (detect_ms_client: the driver noticed, e.g. a missed ping or heartbeat, before reconnecting) ' +
    'and by the server (detect_ms_server: the server dropped the peer), with the mechanism that fired (detect_mech_*). ' +
    'Hollow marks: that side detected nothing before the job ended; they are drawn at the job\'s end (from messages.csv, or duration_s when messages were lost), so a detection, if any, would come later. ' +
    (oc.outages ? 'Cells with an outage come from run.json.' : 'run.json has no cell profiles: only cells where some run detected something are shown.');
  return { id, title, caption, spec };
}

// ---------------------------------------------------------------------------------------
// recovery

/** Messages lost and duplicated per run in cells with an outage: the goal is zero lost. */
export function recoveryChart(ctx: ChartContext): ChartResult {
  const id = 'recovery';
  const title = 'Messages lost and duplicated across an outage';
  const msg = messageRows(ctx, true).filter((r) => r.msgs_lost !== null || r.msgs_dup !== null);
  if (msg.length === 0) return { id, title, skipped: 'no messages-workload runs with msgs_lost / msgs_dup' };
  const sel = inOutageCells(ctx, msg);
  if ('skipped' in sel) return { id, title, skipped: sel.skipped };
  const { rows, oc, labels } = sel;
  const w = workloadInfo(ctx);
  const KINDS = [
    { kind: 'lost', field: 'msgs_lost' as const },
    { kind: 'duplicated', field: 'msgs_dup' as const },
  ];
  const values: Record<string, unknown>[] = [];
  for (const g of groupBy(rows, cellProto).values()) {
    const r0 = g[0]!;
    const condition = labels.get(r0.cell) ?? r0.cell;
    const sent = g.map((r) => r.msgs_sent).filter((x): x is number => x !== null);
    for (const k of KINDS) {
      const xs = g.map((r) => r[k.field]).filter((x): x is number => x !== null);
      if (!xs.length) continue;
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      values.push({ kind: 'agg', condition, protocol: r0.protocol, what: k.kind, mean, total: xs.reduce((a, b) => a + b, 0), n: xs.length, sent: sent.length ? Math.max(...sent) : null });
      for (const r of g) if (r[k.field] !== null) values.push({ kind: 'rep', condition, protocol: r0.protocol, what: k.kind, rep: r.rep, count: r[k.field], reconnects: r.reconnects, status: r.status });
    }
  }
  const protocols = protocolsOf(ctx, rows);
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: 'what', type: 'nominal', sort: ['lost', 'duplicated'] };
  const y = { type: 'quantitative', title: 'messages per run', scale: headroom(Math.max(...values.map((v) => (v.kind === 'agg' ? (v.mean as number) : (v.count as number))))) };
  const color = { field: 'what', type: 'nominal', title: null, sort: ['lost', 'duplicated'], scale: { domain: ['lost', 'duplicated'], range: ['#e45756', '#eeca3b'] }, legend: { orient: 'bottom', direction: 'horizontal' } };
  const sentAll = rows.map((r) => r.msgs_sent).filter((x): x is number => x !== null);
  const outs = oc.outages ? uniq(rows.map((r) => outageText(oc.outages!.get(r.cell) ?? []))) : [];
  const spec = {
    ...base(`${title} — ${setupLine(rows, ['cc', 'reps'])}`, [
      `${workloadLine(w)}${sentAll.length && w.messages === undefined ? ` (${uniq(sentAll).length === 1 ? sentAll[0] : `${Math.min(...sentAll)}–${Math.max(...sentAll)}`} sent per run)` : ''}; ${outs.length ? `${outs.join(' / ')}; ` : ''}${setupLine(rows, ['loss', 'rtt', 'rate'])}${failedNote(rows)}`,
      'bar = mean over repetitions (number on top), dots = repetitions; goal: zero lost',
    ]),
    data: { values },
    ...cellFacetLayout(ctx, rows, labels),
    spec: {
      width: Math.max(180, 64 * protocols.length),
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'bar' },
          encoding: {
            x, xOffset, color, y: { field: 'mean', ...y },
            tooltip: [{ field: 'protocol' }, { field: 'what' }, { field: 'mean', format: '.2~f', title: 'mean per run' }, { field: 'total', title: 'total over runs' }, { field: 'n', title: 'runs' }, { field: 'sent', title: 'sent per run' }],
          },
        },
        {
          transform: [{ filter: "datum.kind === 'rep'" }],
          mark: { type: 'point', filled: true, size: 22, color: '#333', opacity: 0.8 },
          encoding: { x, xOffset, y: { field: 'count', ...y }, tooltip: [{ field: 'protocol' }, { field: 'what' }, { field: 'rep' }, { field: 'count' }, { field: 'reconnects' }, { field: 'status' }] },
        },
        {
          transform: [{ filter: "datum.kind === 'agg'" }],
          mark: { type: 'text', dy: -6, fontSize: 10, baseline: 'bottom', color: '#222' },
          encoding: { x, xOffset, y: { field: 'mean', ...y }, text: { field: 'mean', type: 'quantitative', format: '.2~f' } },
        },
      ],
    },
  };
  const caption =
    'Per run, in cells whose network profile had an outage: msgs_lost = messages sent (push: scheduled by the server; echo: sent by the client) that never arrived by the end of the job; ' +
    'msgs_dup = extra arrivals of a message already received (e.g. replayed after a resume). The goal is zero lost; duplicates are harmless only to an application that discards repeated sequence numbers.' +
    (failedNote(rows) ? ' Failed runs (nothing arrived) are included: all their messages count as lost.' : '');
  return { id, title, caption, spec };
}
