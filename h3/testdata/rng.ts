// mulberry32: a small seedable 32-bit PRNG for h3's own tests (h3 imports nothing from the
// harness, which has its own copy in harness/metrics.ts). Same seed -> same sequence.

export interface Rng {
  /** next 32-bit unsigned integer */
  next(): number;
  /** integer in [0, n) */
  int(n: number): number;
  /** n random bytes */
  bytes(n: number): Buffer;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    next,
    int: (n: number) => Math.floor((next() / 4294967296) * n),
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => next() & 0xff)),
  };
}
