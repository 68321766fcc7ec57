// Across an outage (messages workloads, cells whose profile has an outage): how long each
// side took to notice the dead peer, and how many messages were lost or duplicated.
import { runKey } from '../../metrics.ts';
import { fmt, setupLine, uniq } from '../labels.ts';
import type { SummaryRow } from '../load.ts';
import { base, cellFacetLayout, cellProto, groupBy, headroom, protocolColor, protocolsOf, type ChartContext, type ChartResult } from './common.ts';
import { failedNote, messageRows, workloadInfo, workloadLine } from './messages.ts';
import { inOutageCells, outageText } from './outages.ts';

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
