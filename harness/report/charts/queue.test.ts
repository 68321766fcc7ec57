// The queue-delay chart: drawn from summary.csv's queue delay columns, one bar per protocol
// and cell, skipped (with the reason) when no run measured a queue delay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUMMARY_COLUMNS } from '../../columns.ts';
import { toSummaryRow, type Results } from '../load.ts';
import { compileVegaLite } from '../render.ts';
import { makeContext } from './common.ts';
import { queueDelayChart } from './queue.ts';

function results(rows: Record<string, string>[]): Results {
  const full = rows.map((r) => Object.fromEntries(SUMMARY_COLUMNS.map((k) => [k, r[k] ?? ''])));
  return { dir: '', name: 'q', run: {} as Results['run'], summary: full.map(toSummaryRow), summaryRaw: full, requests: [], chunks: [], drops: [], stallsByLoss: [], messages: [], missing: [] };
}

const row = (cell: string, protocol: string, rep: number, p50: string, p99: string) => ({
  scenario: 'bufferbloat', cell, protocol, rep: String(rep), status: 'SUCCEEDED', workload: 'page', loss_pct: '0', rtt_ms: '20', rate_mbps: '10',
  queue_delay_p50_ms: p50, queue_delay_p99_ms: p99, aqm_drops: cell === 'aqm=codel' ? '12' : '0', drops_queue: '0',
});

test('queue-delay chart: mean p50 bars and p99 ticks per cell and protocol', () => {
  const rows = [row('aqm=none', 'h2', 1, '180', '240'), row('aqm=none', 'h2', 2, '200', '260'), row('aqm=codel', 'h2', 1, '7', '60'), row('aqm=none', 'h3', 1, '150', '210'), row('aqm=codel', 'h3', 1, '9', '80')];
  const c = queueDelayChart(makeContext(results(rows)));
  assert.ok(!('skipped' in c), 'drawn');
  const values = (c.spec as { data: { values: { condition: string; protocol: string; p50: number; p99: number }[] } }).data.values;
  assert.equal(values.length, 4, 'one bar per cell x protocol');
  const h2none = values.find((v) => v.protocol === 'h2' && /none/.test(v.condition))!;
  assert.equal(h2none.p50, 190);
  assert.equal(h2none.p99, 250);
  assert.deepEqual(compileVegaLite(c.spec, c.id).warnings, []);
});

test('queue-delay chart: skipped with the reason when nothing measured a queue delay', () => {
  const c = queueDelayChart(makeContext(results([row('base', 'h2', 1, '', '')])));
  assert.ok('skipped' in c && /no queue delay/.test(c.skipped));
});
