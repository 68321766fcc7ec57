// Wall-clock time of a performance.now() instant, to the microsecond. The recorder's clock
// is performance.now() (monotonic, sub-ms); packet captures stamp packets with the kernel's
// wall clock. Date.now() has 1 ms steps and performance.timeOrigin can drift from the wall
// clock over a long-lived process, so the offset is measured fresh: spin until Date.now()
// steps to the next millisecond and read performance.now() right after it (costs < 1 ms).

/** Date.now() - performance.now() at this moment, good to a few microseconds. */
export function wallOffsetMs(): number {
  const start = Date.now();
  let d = start;
  let p = performance.now();
  // a step of Date.now() happened between the previous read and this one
  for (let i = 0; i < 1_000_000 && d === start; i++) {
    d = Date.now();
    p = performance.now();
  }
  return d - p;
}

/** The wall-clock ms (epoch, fractional) of a performance.now() reading. */
export function wallOfPerf(perfMs: number): number {
  return perfMs + wallOffsetMs();
}
