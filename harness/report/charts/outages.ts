// Outages of a run's cells, for the charts that look across an outage: which cells had one
// (run.json cells[].profile.outages, or else the cells where a run recorded a dead-peer
// detection), how to describe it ("outage 3–8 s"), and cell labels that say so.
import { cellLabels, fmt } from '../labels.ts';
import type { RunInfo, SummaryRow } from '../load.ts';
import { isNum, type ChartContext } from './common.ts';

export interface OutageInfo {
  fromS: number;
  toS: number;
  direction: string;
}

/** Cell id -> outages from run.json cells[].profile.outages; null when run.json does not
 *  describe the cells' profiles (old runs, hand-made folders). */
export function outagesByCell(ctx: ChartContext): Map<string, OutageInfo[]> | null {
  return outagesOfRun(ctx.results.run);
}

/** outagesByCell from run.json itself (for the findings, which have no chart context). */
export function outagesOfRun(run: RunInfo): Map<string, OutageInfo[]> | null {
  const cells = run.cells;
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

/** "outage 3–8 s", "outages 1–2 s, 5–6 s uplink", or "no outage". */
export function outageText(outs: OutageInfo[]): string {
  if (!outs.length) return 'no outage';
  const parts = outs.map((o) => `${fmt(o.fromS)}–${fmt(o.toS)} s${o.direction === 'both' ? '' : ` ${o.direction}`}`);
  return `${outs.length === 1 ? 'outage' : 'outages'} ${parts.join(', ')}`;
}

/** Messages runs in cells with an outage: from run.json; without cell profiles there, the
 *  cells where some run recorded a detection. `how` says which for the subtitle. */
export function outageCells(ctx: ChartContext, rows: SummaryRow[]): { cells: Set<string>; outages: Map<string, OutageInfo[]> | null } {
  const outages = outagesByCell(ctx);
  if (outages) return { cells: new Set([...outages].filter(([, o]) => o.length > 0).map(([c]) => c)), outages };
  const detected = rows.filter((r) => r.detect_ms_client !== null || r.detect_ms_server !== null || r.detect_mech_client || r.detect_mech_server);
  return { cells: new Set(detected.map((r) => r.cell)), outages: null };
}

/** Cell labels that also say which cells had an outage when that differs between cells. */
function labelsWithOutages(rows: SummaryRow[], outages: Map<string, OutageInfo[]> | null): Map<string, string> {
  if (!outages) return cellLabels(rows);
  return cellLabels(rows, new Map([...outages].map(([c, o]) => [c, outageText(o)])));
}

/** The rows of `msg` in outage cells, with their outage-aware cell labels; a skip reason
 *  when there are none (shared by the detection and recovery charts). */
export function inOutageCells(ctx: ChartContext, msg: SummaryRow[]): { rows: SummaryRow[]; oc: ReturnType<typeof outageCells>; labels: Map<string, string> } | { skipped: string } {
  const oc = outageCells(ctx, msg);
  const rows = msg.filter((r) => oc.cells.has(r.cell));
  if (rows.length === 0) {
    return { skipped: oc.outages ? 'no messages runs in a cell with an outage (run.json cells[].profile.outages)' : 'run.json has no cell profiles (outages) and no run recorded a detection' };
  }
  return { rows, oc, labels: labelsWithOutages(rows, oc.outages) };
}

/** Cell labels of `rows`, naming each cell's outages when run.json describes them. */
export function labelsWithOutagesOf(ctx: ChartContext, rows: SummaryRow[]): Map<string, string> {
  return labelsWithOutages(rows, outagesByCell(ctx));
}
