// Writes the shipped synthetic traces (Mahimahi format, see netem/trace.ts) into this
// folder. Deterministic: rerunning gives the same files.
//   node --import tsx netem/traces/generate.ts
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** opportunities per ms for a rate: 1500 B each */
const perMs = (mbps: number) => (mbps * 1e6) / 8 / 1500 / 1000;

/** Evenly spaced opportunities for `mbps` over [fromMs, toMs): the k-th at the first whole
 *  ms at or after fromMs + k / perMs. The last timestamp of the whole trace must be the
 *  period, so callers end with an opportunity at exactly the period. */
function constant(mbps: number, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  const r = perMs(mbps);
  if (r <= 0) return out;
  for (let k = 0; ; k++) {
    const t = Math.ceil(fromMs + k / r - 1e-9);
    if (t >= toMs) break;
    out.push(t);
  }
  return out;
}

/** 12 Mbit/s for 5 s, 3 Mbit/s for 5 s, 12 Mbit/s for 5 s (period 15 s). */
function step(): number[] {
  return [...constant(12, 1, 5001), ...constant(3, 5001, 10001), ...constant(12, 10001, 15001)];
}

/** A cellular-like on/off pattern: on-periods with opportunities bunched every 5 ms (a
 *  scheduler granting bursts) at 6-18 Mbit/s, separated by off-periods of 100-600 ms with
 *  nothing delivered (handover, fade). Period about 20 s. Seeded LCG, so deterministic. */
function onoffCellular(): number[] {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: number[] = [];
  let t = 1;
  while (t < 20_000) {
    const onMs = 800 + Math.floor(rnd() * 2200);
    const mbps = 6 + Math.floor(rnd() * 13);
    const perSlot = perMs(mbps) * 5;
    let carry = 0;
    for (let s = t; s < Math.min(t + onMs, 20_000); s += 5) {
      carry += perSlot;
      const n = Math.floor(carry);
      carry -= n;
      for (let i = 0; i < n; i++) out.push(s);
    }
    t += onMs + 100 + Math.floor(rnd() * 500);
  }
  out.push(Math.max(t, out[out.length - 1]! + 1)); // the period (one last opportunity)
  return out;
}

for (const [name, ms] of [
  ['step-12-3.trace', step()],
  ['onoff-cellular.trace', onoffCellular()],
] as const) {
  writeFileSync(join(HERE, name), ms.join('\n') + '\n');
  process.stdout.write(`${name}: ${ms.length} lines, period ${ms[ms.length - 1]} ms\n`);
}
