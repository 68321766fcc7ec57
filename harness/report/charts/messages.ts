// Messages workloads: what their charts share (the workload from run.json, the rows that
// produced a messages result, the CI shown) and the wire-bytes-per-message chart. The
// latency chart is in message-latency.ts, detection and recovery in recovery.ts.
// Inputs: summary.csv and run.json (scenario.workload, cells[].profile).
import { meanCi95 } from '../../metrics.ts';
import { fmt, setupLine, uniq, protocolAxis } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import { base, cellFacetLayout, cellProto, groupBy, headroom, isNum, nn, protocolsOf, type ChartContext, type ChartResult } from './common.ts';
import { labelsWithOutagesOf } from './outages.ts';
import { MIN_REPS_FOR_CI } from './page.ts';

export interface MessagesWorkloadInfo {
  pattern?: 'echo' | 'push' | 'upload';
  messages?: number;
  message_bytes?: number;
  interval_ms?: number;
  duration_s?: number;
}

/** run.json scenario.workload, when it is a messages workload. */
export function workloadInfo(ctx: ChartContext): MessagesWorkloadInfo {
  const w = ctx.results.run.scenario?.workload;
  if (!w || typeof w !== 'object') return {};
  const o = w as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== 'messages') return {};
  return {
    pattern: o.pattern === 'echo' || o.pattern === 'push' || o.pattern === 'upload' ? o.pattern : undefined,
    messages: isNum(o.messages) ? o.messages : undefined,
    message_bytes: isNum(o.message_bytes) ? o.message_bytes : undefined,
    interval_ms: isNum(o.interval_ms) ? o.interval_ms : undefined,
    duration_s: isNum(o.duration_s) ? o.duration_s : undefined,
  };
}

/** Messages-workload rows that produced a messages result: successful ones, plus failed
 *  ones that still counted messages (nothing arrived) when `withFailed`. */
export function messageRows(ctx: ChartContext, withFailed = false): SummaryRow[] {
  return ctx.results.summary.filter(
    (r) => r.workload === 'messages' && (r.status === 'SUCCEEDED' || (withFailed && r.status === 'FAILED' && r.msgs_sent !== null)),
  );
}

/** Subtitle note when failed runs are included (failed runs count only where nothing arrived). */
export function failedNote(rows: SummaryRow[]): string {
  const n = rows.filter((r) => r.status !== 'SUCCEEDED').length;
  return n ? `; includes ${n} failed run${n === 1 ? '' : 's'} (no message arrived)` : '';
}

/** Mean and 95% t-CI (null below MIN_REPS_FOR_CI), lo clipped at 0. */
export function ci(xs: number[]): { mean: number | null; lo: number | null; hi: number | null; n: number } {
  if (!xs.length) return { mean: null, lo: null, hi: null, n: 0 };
  const c = meanCi95(xs);
  if (c.n < MIN_REPS_FOR_CI) return { mean: nn(c.mean), lo: null, hi: null, n: c.n };
  return { mean: nn(c.mean), lo: nn(Math.max(0, c.lo)), hi: nn(c.hi), n: c.n };
}

/** "push: server sends 1500 messages of 64 B every 20 ms" and the like, for subtitles. */
export function workloadLine(w: MessagesWorkloadInfo): string {
  if (!w.pattern) return 'messages workload';
  const n = w.messages !== undefined ? `${w.messages} messages` : 'messages';
  const size = w.message_bytes !== undefined ? ` of ${w.message_bytes} B` : '';
  const every = w.interval_ms !== undefined ? (w.interval_ms === 0 ? ' back to back' : ` every ${fmt(w.interval_ms)} ms`) : '';
  if (w.pattern === 'upload') return `upload: client streams ${n}${size}${every}, server answers once`;
  return w.pattern === 'push' ? `push: server sends ${n}${size}${every}` : `echo: client sends ${n}${size}${every}, server returns each`;
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
  const labels = labelsWithOutagesOf(ctx, rows);
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
  const x = { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: protocolAxis(protocols) };
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
