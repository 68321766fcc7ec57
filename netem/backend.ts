// One interface for every impairment backend (tc-netem, the NFQUEUE helper).
// The runner owns the lifecycle: create() once per topology, apply() before the first
// cell, update() between cells (and live, mid-cell), stats() after each cell, teardown()
// exactly once (also on error and on signals). Backends install things only inside the
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
  drops: { loss: number; queue: number; outage: number; other: number };
  /** deepest the rate-limiter queue got, packets (helper only) */
  queuePeak?: number;
  /** release lateness vs the scheduled time, microseconds (helper only) */
  latenessUs?: { p50: number; p99: number; max: number };
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
  cause: 'loss' | 'queue' | 'outage';
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
  /** Black-hole a direction (true) or restore it (false). Used for timed outages. */
  setBlackhole(direction: Direction | 'both', on: boolean): Promise<void>;
  /** Counters since apply() (cumulative; callers diff two snapshots for one cell). */
  stats(): Promise<BackendStats>;
  /** Drop events since `sinceMs` (empty for backends that cannot log drops). */
  drops(sinceMs: number): Promise<DropEvent[]>;
  /** Remove everything this backend installed or started. Idempotent. */
  teardown(): Promise<void>;
}

export interface BackendFactoryOptions {
  topology: Topology;
}
