// T2's verdict on hand-made paired rows: a ratio that improves with loss passes; one whose
// interval lies above an earlier estimate, or h3 not ahead at 4%+, fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ratiosByLoss, t2Verdict, T2_LOSSES } from './t2.ts';
import type { SummaryRow } from '../../summary.ts';

const row = (loss: number, protocol: string, rep: number, page: number) => ({ loss_pct: loss, protocol, rep, status: 'SUCCEEDED', page_ms: page }) as unknown as SummaryRow;

/** h2 page times per loss and rep; h3 = h2 * factor(loss) * a small per-rep wobble */
function rows(factor: (loss: number) => number): SummaryRow[] {
  return T2_LOSSES.flatMap((loss) => [1, 2, 3].flatMap((rep) => {
    const h2 = 1000 * (1 + loss) * (1 + rep / 50);
    return [row(loss, 'h2', rep, h2), row(loss, 'h3', rep, h2 * factor(loss) * (1 + (rep - 2) / 100))];
  }));
}

test('h3 increasingly ahead with loss passes', () => {
  const r = ratiosByLoss(rows((l) => 1 - l / 10), T2_LOSSES);
  assert.equal(r.length, T2_LOSSES.length);
  assert.ok(r.every((x) => x.n === 3));
  assert.ok(Math.abs(r[4]!.estimate - -0.8) < 0.01, `8%: ${r[4]!.estimate}`);
  assert.deepEqual(t2Verdict(r), { rises: [], behind: [] });
});

test('a ratio that rises with loss, and h3 behind at 4%+, fail with the levels named', () => {
  const r = ratiosByLoss(rows((l) => 0.8 + l / 10), T2_LOSSES);
  const v = t2Verdict(r);
  assert.deepEqual(v.rises, ['1%', '2%', '4%', '8%']);
  assert.deepEqual(v.behind, ['4%', '8%']);
});

test('unpaired reps are left out', () => {
  const rs = rows(() => 0.5).filter((x) => !(x.protocol === 'h3' && x.rep === 3));
  assert.ok(ratiosByLoss(rs, T2_LOSSES).every((x) => x.n === 2));
});
