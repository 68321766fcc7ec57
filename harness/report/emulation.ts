// The "emulation check": did the emulator do what the scenario asked? Measured loss vs
// configured loss and drops by cause, per cell.
import { meanSd } from '../metrics.ts';
import { fmt, uniq } from './labels.ts';
import type { Results } from './load.ts';

export interface EmulationRow {
  cell: string;
  label: string;
  runs: number;
  loss_configured_pct: number | null;
  /** mean / min / max over runs of summary.loss_measured_pct */
  loss_measured_mean_pct: number | null;
  loss_measured_min_pct: number | null;
  loss_measured_max_pct: number | null;
  drops_loss: number | null;
  drops_queue: number | null;
  /** drops.csv counts keyed "cause/direction" */
  drops_by_cause: Record<string, number>;
  /** empty when fine; otherwise why this cell deserves a look */
  flag: string;
}

/** Flag heuristic: measured loss deviates from configured by more than 30% relative and
 *  0.2 percentage points absolute (small samples are noisy; this only points at gross
 *  misconfiguration), or loss was measured where none was configured. */
function flagOf(conf: number | null, meas: number | null): string {
  if (conf === null || meas === null) return '';
  if (conf === 0) return meas > 0.2 ? `loss measured (${fmt(meas)}%) where none configured` : '';
  const d = Math.abs(meas - conf);
  return d > 0.3 * conf && d > 0.2 ? `measured ${fmt(meas)}% vs configured ${fmt(conf)}%` : '';
}

export function emulationCheck(res: Results, cellOrder: string[], labels: Map<string, string>): { rows: EmulationRow[]; causeKeys: string[] } {
  const causeKeys = uniq(res.drops.map((d) => `${d.cause || '?'}/${d.direction || '?'}`)).sort();
  const cells = uniq([...cellOrder, ...res.summary.map((r) => r.cell)]);
  const rows = cells.map((cell) => {
    const rs = res.summary.filter((r) => r.cell === cell);
    const meas = rs.map((r) => r.loss_measured_pct).filter((x): x is number => x !== null);
    const sum = (k: 'drops_loss' | 'drops_queue') => {
      const v = rs.map((r) => r[k]).filter((x): x is number => x !== null);
      return v.length ? v.reduce((s, x) => s + x, 0) : null;
    };
    const byCause: Record<string, number> = {};
    for (const d of res.drops) {
      if (d.cell !== cell) continue;
      const k = `${d.cause || '?'}/${d.direction || '?'}`;
      byCause[k] = (byCause[k] ?? 0) + 1;
    }
    const conf = rs.find((r) => r.loss_pct !== null)?.loss_pct ?? null;
    const m = meas.length ? meanSd(meas).mean : null;
    return {
      cell, label: labels.get(cell) ?? cell, runs: rs.length, loss_configured_pct: conf,
      loss_measured_mean_pct: m, loss_measured_min_pct: meas.length ? Math.min(...meas) : null, loss_measured_max_pct: meas.length ? Math.max(...meas) : null,
      drops_loss: sum('drops_loss'), drops_queue: sum('drops_queue'), drops_by_cause: byCause, flag: flagOf(conf, m),
    };
  });
  return { rows, causeKeys };
}
