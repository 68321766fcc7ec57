// Per-job impairment seeds for paired repetitions (common random numbers).
//
// The runner reseeds the impairment before every job with jobSeed(scenario seed, cell id,
// repetition). The protocol is deliberately NOT an input: every protocol of repetition r
// in cell c meets the same seed, hence (with a backend that reseeds exactly, see
// ImpairmentBackend.reseed) the same loss decision for its k-th packet in each direction.
// Different repetitions and cells get different seeds, so repetitions stay independent
// samples of the path.
//
// Definition (stable: no Math.random, no locale, no platform or Node-version dependence):
//   key  = `holbench-job-seed-v1:${scenarioSeed}:${rep}:${utf8ByteLength(cellId)}:${cellId}`
//   seed = first 4 bytes of SHA-256(utf8(key)), big-endian, with the top bit cleared
// i.e. a 31-bit integer in [0, 2^31 - 1], the range the scenario's `seed` field accepts.
// The length prefix makes the key unambiguous whatever characters a cell id contains.
// Recompute by hand: printf '%s' "$key" | sha256sum, take 8 hex digits, AND 0x7fffffff.
import { createHash } from 'node:crypto';

/** Largest seed: jobSeed's range, the scenario `seed` field's range, what reseed() takes. */
export const JOB_SEED_MAX = 2 ** 31 - 1;
const KEY_PREFIX = 'holbench-job-seed-v1';

/** Throws a RangeError unless `seed` is an integer in [0, JOB_SEED_MAX] (reseed()'s contract). */
export function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > JOB_SEED_MAX) throw new RangeError(`reseed: seed must be an integer in [0, ${JOB_SEED_MAX}], got ${seed}`);
}

/** The canonical string jobSeed hashes (exported for the documentation and the tests). */
export function jobSeedKey(scenarioSeed: number, cellId: string, rep: number): string {
  if (!Number.isSafeInteger(scenarioSeed) || scenarioSeed < 0) throw new RangeError(`jobSeed: scenarioSeed must be a non-negative integer, got ${scenarioSeed}`);
  if (!Number.isSafeInteger(rep) || rep < 0) throw new RangeError(`jobSeed: rep must be a non-negative integer, got ${rep}`);
  if (typeof cellId !== 'string') throw new TypeError('jobSeed: cellId must be a string');
  return `${KEY_PREFIX}:${scenarioSeed}:${rep}:${Buffer.byteLength(cellId, 'utf8')}:${cellId}`;
}

/** The impairment seed for repetition `rep` (the runner's 1-based index; any non-negative
 *  integer works) of cell `cellId` in a run whose scenario seed is `scenarioSeed`.
 *  Pure; an integer in [0, JOB_SEED_MAX]. Same inputs, same seed, on every machine. */
export function jobSeed(scenarioSeed: number, cellId: string, rep: number): number {
  const digest = createHash('sha256').update(jobSeedKey(scenarioSeed, cellId, rep), 'utf8').digest();
  return digest.readUInt32BE(0) & JOB_SEED_MAX;
}
