// T4's verdict logic on synthetic repetitions (no namespaces): the judged lines pass when
// the measured rate sits within the tolerance of the model at each repetition's own
// parameters, fail outside it, and have no data with fewer than MIN_REPS steady ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_REPS, TOLERANCE, modelsFor, t4Checks, t4Plan } from './t4.ts';
import type { SteadyTcpResult } from './steady-tcp.ts';

/** A repetition whose goodput and send rate are `factor` times the judged models. */
function rep(i: number, factor: number, over: Partial<SteadyTcpResult> = {}): SteadyTcpResult {
  const base: SteadyTcpResult = {
    cc: 'reno', lossPctConfigured: 1, seed: i, steady: true, windowS: 30,
    goodputBps: 0, sendBps: 0, dataSegs: 7000, downlinkPackets: 7000, downlinkLossDrops: 70,
    pPkt: 0.01, recoveries: 55 + i, timeouts: 1, pEvt: (56 + i) / 7000,
    srttMs: 51 + i / 10, rtoMs: 252, samples: 31, mssBytes: 1448, wmaxPkts: 1400, cwndMaxPkts: 20,
    ...over,
  };
  const m = modelsFor(base);
  return { ...base, goodputBps: factor * m.mathisEvt, sendBps: factor * m.pftkEvt };
}

const judged = (cs: ReturnType<typeof t4Checks>) => cs.filter((c) => !c.info);

test('T4 plan: at least MIN_REPS reno repetitions in both modes, a longer window when not quick', () => {
  const q = t4Plan(true);
  const full = t4Plan(false);
  assert.ok(q.renoReps >= MIN_REPS && full.renoReps >= MIN_REPS);
  assert.ok(full.measureS > q.measureS && full.warmupS >= q.warmupS);
  assert.deepEqual(full.lossPcts, [1, 2]);
});

test('T4: reno within the tolerance passes both judged lines; outside fails', () => {
  const inside = judged(t4Checks('reno', 1, [0, 1, 2, 3, 4].map((i) => rep(i, 1 + TOLERANCE * 0.8))));
  assert.equal(inside.length, 2);
  for (const c of inside) assert.equal(c.pass, true, c.measured);
  const high = judged(t4Checks('reno', 1, [0, 1, 2, 3, 4].map((i) => rep(i, 1 + TOLERANCE * 1.2))));
  for (const c of high) assert.equal(c.pass, false, c.measured);
  const low = judged(t4Checks('reno', 1, [0, 1, 2, 3, 4].map((i) => rep(i, 1 - TOLERANCE * 1.2))));
  for (const c of low) assert.equal(c.pass, false, c.measured);
});

test('T4: repetitions still in slow start are excluded, and too few steady ones give no data', () => {
  const reps = [0, 1, 2, 3, 4].map((i) => rep(i, 1, i === 0 ? { steady: false } : {}));
  const cs = judged(t4Checks('reno', 2, reps));
  assert.equal(cs.length, 2);
  for (const c of cs) {
    assert.equal(c.pass, null);
    assert.match(c.measured, /n=4/);
  }
});

test('T4: CUBIC is information only, and every line names its reference and source', () => {
  const cs = t4Checks('cubic', 1, [0, 1, 2].map((i) => rep(i, 3, { cc: 'cubic' })));
  assert.equal(cs.length, 1);
  assert.equal(cs[0]!.info, true);
  for (const c of [...cs, ...t4Checks('reno', 1, [0, 1, 2, 3, 4].map((i) => rep(i, 1)))]) {
    assert.ok(c.reference && c.source, c.name);
  }
});
