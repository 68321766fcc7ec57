// index.html: self-contained (inline SVG, inline CSS, no scripts, no CDN) so it opens
// offline from a file:// URL or an archived folder. Order: findings first (what a slide
// says), then notes, charts, the emulation check and the summary table; provenance last.
import { fmt } from './labels.ts';
import type { EmulationRow } from './emulation.ts';
import type { Findings } from './findings.ts';
import type { Results, SummaryRow } from './load.ts';
import { SUMMARY_COLUMNS } from '../summary.ts';

export interface HtmlChart {
  id: string;
  title: string;
  caption: string;
  /** SVG markup with ids already made unique */
  svg: string;
  /** file names relative to index.html */
  links: { label: string; href: string }[];
}

export interface HtmlModel {
  results: Results;
  charts: HtmlChart[];
  skipped: { id: string; title: string; reason: string }[];
  emulation: { rows: EmulationRow[]; causeKeys: string[] };
  notes: string[];
  findings: Findings;
}

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function val(x: unknown): string {
  if (x === null || x === undefined) return '';
  if (typeof x === 'number') return fmt(x, 3);
  if (typeof x === 'object') return JSON.stringify(x);
  return String(x);
}

function kvTable(rows: [string, unknown][]): string {
  return `<table class="kv">${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(val(v))}</td></tr>`).join('')}</table>`;
}

function provenance(res: Results): string {
  const r = res.run;
  const sc = r.scenario ?? {};
  const dur = r.started_at && r.finished_at ? (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000 : NaN;
  const rows: [string, unknown][] = [
    ['scenario', sc.name ?? res.summary[0]?.scenario],
    ['scenario file', sc.file],
    ['results', res.dir],
    ['backend', r.backend],
    ['kernel', r.kernel],
    ['TCP congestion control', r.tcp_cc ?? [...new Set(res.summary.map((s) => s.tcp_cc).filter(Boolean))].join(', ')],
    ['QUIC congestion control', r.quic_cc ?? [...new Set(res.summary.map((s) => s.quic_cc).filter(Boolean))].join(', ')],
    ['seed', r.seed],
    ['started', r.started_at],
    ['finished', r.finished_at],
    ['duration (s)', Number.isFinite(dur) ? dur : undefined],
    ['cells', Array.isArray(r.cells) ? r.cells.length : undefined],
  ];
  for (const [k, v] of Object.entries(r.versions ?? {})) rows.push([`version: ${k}`, v]);
  const known = new Set(['scenario', 'backend', 'kernel', 'tcp_cc', 'quic_cc', 'versions', 'seed', 'started_at', 'finished_at', 'cells']);
  for (const [k, v] of Object.entries(r)) if (!known.has(k) && (typeof v !== 'object' || v === null)) rows.push([k, v]);
  return kvTable(rows);
}

function emulationTable(m: HtmlModel['emulation']): string {
  const head = ['cell', 'runs', 'loss configured (%)', 'loss measured (%) mean', 'min', 'max', 'drops: loss', 'drops: queue', ...m.causeKeys.map((k) => `drops.csv ${k}`), 'check'];
  const body = m.rows.map((r) => {
    const cells = [
      r.label, r.runs, r.loss_configured_pct, r.loss_measured_mean_pct, r.loss_measured_min_pct, r.loss_measured_max_pct, r.drops_loss, r.drops_queue,
      ...m.causeKeys.map((k) => r.drops_by_cause[k] ?? 0),
    ];
    const flag = r.flag ? `<td class="warn">${esc(r.flag)}</td>` : '<td class="okc">ok</td>';
    return `<tr>${cells.map((c, i) => `<td${i ? ' class="n"' : ''}>${esc(val(c))}</td>`).join('')}${flag}</tr>`;
  });
  return `<table class="grid"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

// every summary.csv column but the scenario name (the page title has it)
const SUMMARY_COLS = SUMMARY_COLUMNS.filter((c) => c !== 'scenario');

function summaryTable(rows: SummaryRow[]): string {
  // drop columns that are empty in every row (e.g. latency columns of a page-only run)
  const cols = SUMMARY_COLS.filter((c) => rows.some((r) => r[c] !== null && r[c] !== ''));
  const body = rows.map((r) => {
    const st = String(r.status).toLowerCase();
    return `<tr class="st-${esc(st)}">${cols.map((c) => `<td${typeof r[c] === 'number' ? ' class="n"' : ''}>${esc(val(r[c]))}</td>`).join('')}</tr>`;
  });
  return `<div class="scroll"><table class="grid"><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

/** The findings section: one list per cell, then how they are computed and their notes. */
function findingsSection(f: Findings): string {
  const cells = f.cells
    .filter((c) => c.findings.length)
    .map((c) => `<h3>${esc(c.label)}</h3><ul class="findings">${c.findings.map((x) => `<li>${esc(x.text)}</li>`).join('')}</ul>`);
  const body = cells.length ? cells.join('\n') : '<p>No comparison: the run has fewer than two protocols per cell, or no headline metric for its workload.</p>';
  const notes = f.notes.length ? `<ul class="notes">${f.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `${body}\n<p class="method">${f.method.map(esc).join(' ')} The same text: <a href="findings.md">findings.md</a>, <a href="findings.json">findings.json</a>.</p>\n${notes}`;
}

const CSS = `
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
figure{margin:18px 0 30px} figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#444;margin-top:6px;max-width:1000px} figcaption a{margin-right:10px}
table{border-collapse:collapse;font-size:12px} th,td{padding:3px 8px;text-align:left;vertical-align:top}
table.kv th{color:#555;font-weight:normal;white-space:nowrap} table.grid th{background:#f3f3f3;border-bottom:1px solid #ccc;white-space:nowrap}
table.grid td{border-bottom:1px solid #eee} td.n{text-align:right;font-variant-numeric:tabular-nums}
td.warn{color:#a40000;font-weight:bold} td.okc{color:#2a7d2a}
tr.st-failed td{background:#fde8e8} tr.st-unsupported td{background:#f2f2f2;color:#777}
.scroll{overflow-x:auto} .notes li{font-size:13px} nav a{margin-right:12px;font-size:13px}
details pre{font-size:11px;background:#f7f7f7;padding:8px;overflow-x:auto}
h3{font-size:14px;margin:14px 0 4px} ul.findings li{font-size:15px;margin:3px 0} p.method{font-size:12px;color:#555;max-width:1000px}
`;

/** Display an SVG `factor` x its natural size (Vega's 11-12 px text is small on screen);
 *  max-width: 100% in the CSS still shrinks it to the window. */
function scaleSvg(svg: string, factor: number): string {
  const m = /^<svg[^>]*\swidth="([\d.]+)"/.exec(svg);
  if (!m) return svg;
  return svg.replace(/^<svg/, `<svg style="width:${Math.round(Number(m[1]) * factor)}px"`);
}

export function renderHtml(m: HtmlModel): string {
  const res = m.results;
  const title = `holbench report: ${res.run.scenario?.name ?? res.summary[0]?.scenario ?? res.name}`;
  const figs = m.charts.map(
    (c) =>
      `<figure id="${esc(c.id)}"><div class="chart">${scaleSvg(c.svg, 1.25)}</div><figcaption>${esc(c.caption)}<br>${c.links
        .map((l) => `<a href="${esc(l.href)}">${esc(l.label)}</a>`)
        .join('')}</figcaption></figure>`,
  );
  const notes = [...m.notes, ...m.skipped.map((s) => `Chart “${s.title}” skipped: ${s.reason}.`)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<div>${esc(res.name)}</div>
<nav><a href="#findings">findings</a><a href="#charts">charts</a><a href="#emulation">emulation check</a><a href="#summary">summary table</a><a href="#provenance">provenance</a></nav>
<h2 id="findings">Findings</h2>
${findingsSection(m.findings)}
${notes.length ? `<h2>Notes</h2><ul class="notes">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h2 id="charts">Charts</h2>
${figs.join('\n')}
<h2 id="emulation">Emulation check</h2>
<p style="font-size:13px">Configured vs measured loss (from summary.csv) and packet drops by cause. “check” flags a measured loss more than 30% (and 0.2 points) away from the configured one.</p>
${emulationTable(m.emulation)}
<h2 id="summary">Summary (summary.csv)</h2>
${summaryTable(res.summary)}
<h2 id="provenance">Provenance</h2>
${provenance(res)}
<details><summary>run.json</summary><pre>${esc(JSON.stringify(res.run, null, 2))}</pre></details>
</body></html>
`;
}
