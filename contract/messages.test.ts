// The message clock (contract/messages.ts nowMs): every process must stamp the same wall
// clock, or one-way latencies between a server and a client are off by the difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureWallOriginMs } from './messages.ts';

/** The wall clock at performance.now() = 0, from a Date.now() step bracketed by
 *  performance.now() reads (the test's own reading, independent of messages.ts). */
function wallAtPerfZeroMs(): number {
  for (let k = 0; k < 50; k++) {
    let before = performance.now();
    const d0 = Date.now();
    let d = d0;
    let after = before;
    while (d === d0) {
      const p = performance.now();
      d = Date.now();
      after = performance.now();
      if (d === d0) before = p;
    }
    if (d === d0 + 1 && after - before < 0.05) return d - (before + after) / 2;
  }
  throw new Error('no tight Date.now() step in 50 tries');
}

test('a process whose performance.timeOrigin is 4 ms off (Node preempted between its two start-up clock reads) still stamps the wall clock', async () => {
  const realOrigin = performance.timeOrigin;
  const skewMs = 4.06; // the error one process in 320 had at load 10 on the 2-core VM
  // the whole test runs as such a process: performance.timeOrigin stays wrong throughout
  Object.defineProperty(performance, 'timeOrigin', { value: realOrigin + skewMs, configurable: true });
  try {
    const seen = performance.timeOrigin - wallAtPerfZeroMs();
    assert.ok(Math.abs(seen - skewMs) < 0.5, `the skew is in place: ${seen}`);
    // a fresh instance of the module, loaded in such a process
    const fresh = './messages.ts?skewed-origin';
    const { nowMs } = (await import(fresh)) as typeof import('./messages.ts');
    const errs = Array.from({ length: 5 }, () => {
      const wall0 = wallAtPerfZeroMs();
      return nowMs() - (wall0 + performance.now());
    });
    const med = errs.sort((a, b) => a - b)[2]!;
    assert.ok(Math.abs(med) < 0.5, `nowMs() - wall clock = ${med.toFixed(3)} ms (median of 5); the origin's error was ${skewMs} ms`);
  } finally {
    delete (performance as { timeOrigin?: number }).timeOrigin; // back to the prototype's getter
  }
  assert.equal(performance.timeOrigin, realOrigin);
});

test('measureWallOriginMs: the tightest bracketed Date.now() step wins; a step preempted inside its bracket is not used', () => {
  // simulated host: true wall time = WALL0 + t; the monotonic clock reads t - 1000; each
  // clock read costs 0.3 us; one read (the 5th perf read) is preempted for 5 ms
  const WALL0 = 1_796_000_000_123.4567;
  let t = 0;
  let perfReads = 0;
  const perfNow = () => {
    t += 0.0003;
    if (++perfReads === 5) t += 5;
    return t - 1000;
  };
  const dateNow = () => ((t += 0.0003), Math.floor(WALL0 + t));
  const r = measureWallOriginMs(perfNow, dateNow, 20);
  assert.ok(r.errMs < 0.01, `bracket half-width ${r.errMs} ms`);
  const trueOrigin = WALL0 + 1000; // wall time at perf 0
  assert.ok(Math.abs(r.originMs - trueOrigin) <= r.errMs + 1e-6, `origin off by ${(r.originMs - trueOrigin).toFixed(6)} ms`);
});
