// Wall-clock time with sub-millisecond resolution, one definition for every process of a run:
// message stamps (servers and drivers in different namespaces compare them without clock
// sync), and the wall-clock instant of a performance.now() reading (to line records up with
// packet captures, which the kernel stamps with its wall clock).

/**
 * Where this process's wall clock sits on performance.now()'s (monotonic) scale, measured.
 * Not performance.timeOrigin: Node reads its monotonic and its wall clock once at process
 * start, one after the other, and a process preempted between the two reads keeps the gap
 * as an error for life (on this 2-core VM at load 10, 1 process in 320 was 4.06 ms ahead):
 * a server ahead by that stamps every pushed message late and push latency drops below the
 * path's delay. So: spin until Date.now() (a fresh wall-clock read, 1 ms steps) steps, and
 * bracket the step between performance.now() reads; the tightest bracket of up to
 * `maxSteps` steps wins (a few microseconds unless preempted). errMs = half its width.
 */
export function measureWallOriginMs(perfNow: () => number = () => performance.now(), dateNow: () => number = Date.now, maxSteps = 20): { originMs: number; errMs: number } {
  let best = { originMs: performance.timeOrigin, errMs: Infinity };
  for (let k = 0; k < maxSteps && best.errMs > 0.01; k++) {
    let before = perfNow(); // precedes every read that still returns d0
    const d0 = dateNow();
    let d = d0;
    let after = before;
    for (let i = 0; i < 1_000_000 && d === d0; i++) {
      const p = perfNow();
      d = dateNow();
      after = perfNow();
      if (d === d0) before = p;
    }
    if (d !== d0 + 1) continue; // a missed step (preempted): not bracketed
    const errMs = (after - before) / 2;
    if (errMs < best.errMs) best = { originMs: d - (before + after) / 2, errMs };
  }
  return best;
}

const WALL_ORIGIN = measureWallOriginMs();

/** Wall-clock ms with sub-ms resolution; identical across processes and namespaces of one
 *  host (the origin is measured, see measureWallOriginMs). */
export const nowMs = (): number => WALL_ORIGIN.originMs + performance.now();

/** The wall-clock ms (epoch, fractional) of a performance.now() reading, with the origin
 *  measured afresh (a long-lived process's wall clock may be stepped or slewed against the
 *  monotonic one; a few Date.now() steps, < 5 ms). */
export function wallOfPerf(perfMs: number): number {
  return perfMs + measureWallOriginMs(undefined, undefined, 3).originMs;
}
