// T5's pairing on hand-made rows: labels group into the four (client, server) pairs as
// scenarios/cross-check.yaml composes them, h3 is compared with h2 inside each pair only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseScenarioText } from '../../scenario/load.ts';
import type { SummaryRow } from '../../summary.ts';
import { changesByPair, CROSS_CHECK_FILE, pairOf } from './peers.ts';

const row = (loss: number, protocol: string, rep: number, page: number) => ({ loss_pct: loss, protocol, rep, status: 'SUCCEEDED', page_ms: page }) as unknown as SummaryRow;

test('the shipped cross-check composes four pairs of h2 and h3', async () => {
  const loaded = parseScenarioText(await readFile(CROSS_CHECK_FILE, 'utf8'), CROSS_CHECK_FILE);
  const labels = loaded.protocols.map((p) => p.label);
  const pairs = [...new Set(labels.map(pairOf))].sort();
  assert.deepEqual(pairs, ['', '@caddy', '@chromium', '@chromium@caddy']);
  for (const p of pairs) assert.deepEqual(labels.filter((l) => pairOf(l) === p).map((l) => l.slice(0, 2)).sort(), ['h2', 'h3'], `pair "${p}"`);
  assert.deepEqual(loaded.cells.map((c) => c.params.loss_pct), [0, 2], 'the cells T5 reads');
});

test('each pair is compared within itself; a pair where h3 trails shows a positive change', () => {
  // h3 half of h2 for three pairs, 1.2x for Chromium/caddy; per-rep wobble keeps intervals finite
  const factor: Record<string, number> = { '': 0.5, '@chromium': 0.5, '@caddy': 0.5, '@chromium@caddy': 1.2 };
  const rows = Object.entries(factor).flatMap(([pair, k]) => [1, 2, 3].flatMap((rep) => {
    const h2 = 1000 * (1 + rep / 20) * (pair.length + 1);
    return [row(2, `h2${pair}`, rep, h2), row(2, `h3${pair}`, rep, h2 * k * (1 + (rep - 2) / 100))];
  }));
  const c = changesByPair(rows, 2);
  assert.equal(c.length, 4);
  for (const x of c) {
    assert.equal(x.n, 3, x.pair);
    assert.ok(Math.abs(x.estimate - (factor[x.pair]! - 1)) < 0.02, `${x.pair}: ${x.estimate}`);
  }
  assert.deepEqual(c.filter((x) => x.hi < 0).map((x) => x.pair).sort(), ['', '@caddy', '@chromium']);
  assert.deepEqual(changesByPair(rows, 0).map((x) => x.n), [0, 0, 0, 0], 'no rows at 0%: nothing paired');
});
