// Report builder: results/<run>/ -> reports/<run>/ with Vega-Lite specs, SVG, PNG and an
// offline index.html. Library-first: never prints, never exits; progress goes to an
// optional callback and the result object lists every file written.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { makeContext, type ChartResult, type TimelineOptions } from './charts/common.ts';
import { latencyPercentilesChart } from './charts/latency.ts';
import { connectionsUsedChart } from './charts/connections.ts';
import { messageLatencyChart } from './charts/message-latency.ts';
import { wireBytesPerMessageChart } from './charts/messages.ts';
import { h3VsH2HeatmapChart, objectCompletionChart, pageTimeChart, pageVsLossChart } from './charts/page.ts';
import { deadPeerDetectionChart, recoveryChart } from './charts/recovery.ts';
import { natChart } from './charts/nat.ts';
import { messageLossChart } from './charts/message-loss.ts';
import { coStallChart, indexRecords, streamTimelineChart } from './charts/stalls.ts';
import { lossStallsChart } from './charts/loss-stalls.ts';
import { queueDelayChart } from './charts/queue.ts';
import { emulationCheck } from './emulation.ts';
import { buildFindings, findingsMarkdown } from './findings.ts';
import { renderHtml, type HtmlChart } from './html.ts';
import { loadResults } from './load.ts';
import { safeJson } from '../safetext.ts';
import { availableFontFiles, compileVegaLite, prefixSvgIds, svgToPng, vegaToSvg } from './render.ts';

export interface ReportOptions {
  /** write PNGs next to the SVGs (default true) */
  png?: boolean;
  /** PNG zoom factor (default 2) */
  pngScale?: number;
  /** which cell / rep / protocols the stream timeline shows */
  timeline?: TimelineOptions;
  /** the pair of protocols the heatmap compares, [baseline, candidate]; default ['h2', 'h3'] */
  heatmapPair?: [string, string];
  /** progress messages (one per chart); the CLI prints them */
  onProgress?: (msg: string) => void;
}

export interface ReportChart {
  id: string;
  title: string;
  /** set when the chart does not apply to this run */
  skipped?: string;
  /** Vega-Lite compiler warnings */
  warnings?: string[];
}

export interface ReportResult {
  reportDir: string;
  /** absolute paths of every file written, index.html last */
  files: string[];
  charts: ReportChart[];
  notes: string[];
}

/** reports/<name> next to results/<name> when the results dir lives in a "results"
 *  folder; otherwise ./reports/<name>. */
export function defaultReportDir(resultsDir: string): string {
  const abs = resolve(resultsDir);
  const name = basename(abs);
  const parent = dirname(abs);
  return basename(parent) === 'results' ? join(dirname(parent), 'reports', name) : resolve('reports', name);
}

/** Every chart builder, in the order they appear in the report. */
function buildCharts(ctx: ReturnType<typeof makeContext>, opts: ReportOptions): ChartResult[] {
  const recs = indexRecords(ctx);
  return [
    pageTimeChart(ctx),
    pageVsLossChart(ctx),
    h3VsH2HeatmapChart(ctx, opts.heatmapPair),
    objectCompletionChart(ctx),
    streamTimelineChart(ctx, recs),
    coStallChart(ctx, recs),
    lossStallsChart(ctx),
    queueDelayChart(ctx),
    latencyPercentilesChart(ctx),
    messageLatencyChart(ctx),
    messageLossChart(ctx),
    wireBytesPerMessageChart(ctx),
    deadPeerDetectionChart(ctx),
    recoveryChart(ctx),
    connectionsUsedChart(ctx),
    natChart(ctx),
  ];
}

/** Build the report for one results directory. Reads summary.csv, requests.csv,
 *  chunks.csv, run.json and (if present) drops.csv, stalls-by-loss.csv and messages.csv; writes into `reportDir`:
 *  <chart>.vl.json (Vega-Lite spec with inline data), <chart>.svg, <chart>.png,
 *  findings.json and findings.md (findings.ts: the headline comparisons in words) and
 *  index.html. Throws if the results dir has no rows to report on or a spec fails to
 *  compile/render (a bug, not a data problem). */
export async function buildReport(resultsDir: string, reportDir: string = defaultReportDir(resultsDir), opts: ReportOptions = {}): Promise<ReportResult> {
  const progress = opts.onProgress ?? (() => {});
  const outDir = resolve(reportDir);
  const results = loadResults(resolve(resultsDir), basename(resolve(resultsDir)));
  mkdirSync(outDir, { recursive: true });
  const ctx = makeContext(results, opts.timeline);
  const files: string[] = [];
  const charts: ReportChart[] = [];
  const html: HtmlChart[] = [];
  const skipped: { id: string; title: string; reason: string }[] = [];
  const notes: string[] = results.missing.map((f) => `Missing in the results folder: ${f}.`);
  const failed = results.summary.filter((r) => r.status !== 'SUCCEEDED');
  if (failed.length) {
    const counted = failed.some((r) => r.status === 'FAILED' && r.workload === 'messages' && r.msgs_sent !== null);
    notes.push(`${failed.length} of ${results.summary.length} runs did not succeed (FAILED/UNSUPPORTED); charts use successful runs only${counted ? ', except dead-peer detection and recovery, which also show failed messages runs (nothing arrived)' : ''}.`);
  }
  const wantPng = opts.png ?? true;
  if (wantPng && availableFontFiles().length === 0) notes.push('No DejaVu/Liberation font found: PNG text may be missing (install fonts-dejavu-core).');

  for (const c of buildCharts(ctx, opts)) {
    if ('skipped' in c) {
      progress(`skip ${c.id}: ${c.skipped}`);
      skipped.push({ id: c.id, title: c.title, reason: c.skipped });
      charts.push({ id: c.id, title: c.title, skipped: c.skipped });
      continue;
    }
    const { vega, warnings } = compileVegaLite(c.spec, c.id);
    const svg = await vegaToSvg(vega);
    const write = (name: string, data: string | Buffer) => {
      const p = join(outDir, name);
      writeFileSync(p, data);
      files.push(p);
    };
    write(`${c.id}.vl.json`, JSON.stringify(c.spec, null, 1));
    write(`${c.id}.svg`, svg);
    const links = [
      { label: 'SVG', href: `${c.id}.svg` },
      { label: 'Vega-Lite spec', href: `${c.id}.vl.json` },
    ];
    if (wantPng) {
      write(`${c.id}.png`, svgToPng(svg, opts.pngScale ?? 2));
      links.unshift({ label: 'PNG', href: `${c.id}.png` });
    }
    html.push({ id: c.id, title: c.title, caption: c.caption, svg: prefixSvgIds(svg, `${c.id}-`), links });
    charts.push({ id: c.id, title: c.title, ...(warnings.length ? { warnings } : {}) });
    progress(`chart ${c.id}`);
  }

  // the findings as text a slide can copy: the same sentences as the page's first section
  const findings = buildFindings(results.summaryRaw, results.run, results.name);
  for (const [name, text] of [['findings.json', safeJson(findings) + '\n'], ['findings.md', findingsMarkdown(findings)]] as const) {
    const p = join(outDir, name);
    writeFileSync(p, text);
    files.push(p);
  }
  progress(`findings: ${findings.cells.reduce((k, c) => k + c.findings.length, 0)} comparisons`);

  const emulation = emulationCheck(results, ctx.cellOrder, ctx.cellLabel);
  const index = join(outDir, 'index.html');
  writeFileSync(index, renderHtml({ results, charts: html, skipped, emulation, notes, findings }));
  files.push(index);
  progress(`wrote ${index}`);
  return { reportDir: outDir, files, charts, notes };
}
