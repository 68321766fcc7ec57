// One interface for every impairment backend (tc-netem, the NFQUEUE helper).
// The runner owns the lifecycle: create() once per topology, apply() before the first
// cell, update() between cells (and live, mid-cell), stats() after each cell, teardown()
// exactly once (also on error and on signals); reseed() before every job (paired
// repetitions, see reseed below and netem/seed.ts). Backends install things only inside the
// topology's router namespace, so deleting that namespace removes all of it.
import type { Direction, NetworkProfile } from './profile.ts';
import type { Topology } from './topology.ts';

/** Names come from the backend table (netem/backends/index.ts). */
export type { BackendName, BackendChoice } from './backends/index.ts';
import type { BackendName } from './backends/index.ts';

export interface DirectionStats {
  /** packets that entered the impairment in this direction */
  packets: number;
  /** packets released towards the receiver */
  delivered: number;
  /** aqm: dropped at dequeue by CoDel (helper only; absent = 0) */
  drops: { loss: number; queue: number; outage: number; aqm?: number; other: number };
  /** deepest the rate-limiter queue got, packets (helper only) */
  queuePeak?: number;
  /** release lateness vs the scheduled time, microseconds (helper only) */
  latenessUs?: { p50: number; p99: number; max: number };
  /** packets that entered this direction since the last reseed (or apply), i.e. the index
   *  the next loss decision will have (helper only). Read right after reseed() it should be
   *  0: anything else is stray traffic that shifted the paired decision sequence. */
  sinceReseed?: number;
}

/** What reseed() achieved. */
export interface ReseedResult {
  /** true: the k-th packet in each direction now meets the decision that `seed` fixes for
   *  index k, whatever came before (see the backend's note for the exact scope) */
  exact: boolean;
  /** one line for run.json: what was paired, or why it could not be */
  note: string;
}

/** Queue delay over a window, ms (n = packets dequeued in it). */
export interface QueueDelayStats {
  n: number;
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface BackendStats {
  backend: BackendName;
  uplink: DirectionStats;
  downlink: DirectionStats;
}

/** One dropped packet, for timelines (helper only). tMs is wall-clock ms (Date.now() scale). */
export interface DropEvent {
  tMs: number;
  direction: Direction;
  cause: 'loss' | 'queue' | 'outage' | 'aqm';
  proto: 'tcp' | 'udp' | 'other';
  srcPort: number;
  dstPort: number;
}

export interface ImpairmentBackend {
  readonly name: BackendName;
  /** Install the impairment for `profile`. Called once. */
  apply(profile: NetworkProfile): Promise<void>;
  /** Change the impairment in place, without dropping queued packets where the backend allows. */
  update(profile: NetworkProfile): Promise<void>;
  /**
   * Restart the random decisions of BOTH directions from `seed` (an integer in
   * [0, 2^31 - 1], normally jobSeed(...) from netem/seed.ts): the loss PRNG, the
   * Gilbert-Elliott state (back to good) and the jitter PRNG. Afterwards the loss decision
   * for the k-th packet entering a direction depends only on (seed, direction, k) and the
   * configuration, so two jobs started after reseed(s) meet the same decision sequence by
   * packet index (common random numbers). Packets already queued or in the delay line are
   * not dropped, delayed or reordered by a reseed.
   *
   * Who calls: the runner, before every job, while the path is idle (a packet that crosses
   * the router between reseed() and the job's first packet takes index 0 away from it).
   * A backend that cannot seed its randomness returns exact: false with the reason and
   * changes nothing; it never throws for that. Rejects on a bad seed or a dead backend.
   */
  reseed(seed: number): Promise<ReseedResult>;
  /** Black-hole a direction (true) or restore it (false). Used for timed outages. */
  setBlackhole(direction: Direction | 'both', on: boolean): Promise<void>;
  /** Counters since apply() (cumulative; callers diff two snapshots for one cell). */
  stats(): Promise<BackendStats>;
  /** Drop events since `sinceMs` (empty for backends that cannot log drops). */
  drops(sinceMs: number): Promise<DropEvent[]>;
  /** Why this backend cannot emulate `profile` faithfully (null = it can). The runner marks
   *  such a cell's jobs UNSUPPORTED with this reason. Absent = supports everything. */
  unsupported?(profile: NetworkProfile): string | null;
  /** Queue delay (enqueue -> dequeue at the bottleneck) per direction since the previous
   *  call; each call starts a new window. Absent: the backend cannot measure it (netem). */
  queueDelay?(): Promise<Record<Direction, QueueDelayStats>>;
  /** Remove everything this backend installed or started. Idempotent. */
  teardown(): Promise<void>;
}

export interface BackendFactoryOptions {
  topology: Topology;
}
