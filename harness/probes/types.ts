// Job probes: every measurement taken around a job is one small module that starts before
// the job and finishes after it, returning summary columns (and, for some, rows of an extra
// output). The runner's job loop is a list of probes around one agent request.
//
// Contract: start() is called before the job is sent to the agent, in list order; finish()
// after its result arrived (or it failed), in reverse list order. A probe decides
// whether it applies from the transport the server reported (ctx.transport), never from a
// protocol name. A probe must not throw for a missing counter: it returns null columns.
import type { ImpairmentBackend } from '../../netem/backend.ts';
import type { Topology } from '../../netem/topology.ts';
import type { Cell } from '../scenario/load.ts';
import type { ChildChannel } from '../../proc/channel.ts';
import type { ServerControl } from '../../servers/main.ts';
import type { PluginName } from '../../servers/registry.ts';
import type { JobResult } from '../agent.ts';
import type { SummaryRow } from '../summary.ts';

export interface ProbeContext {
  topo: Topology;
  backend: ImpairmentBackend;
  server: ChildChannel<ServerControl>;
  /** the server plugin serving this job, and the transport it listens on */
  plugin: PluginName;
  transport: 'tcp' | 'udp';
  /** the job goes to an external server (caddy, nginx, the user's; its name): the holbench
   *  server's counters say nothing about it */
  external?: string;
  cell: Cell;
  rep: number;
  /** the protocol's output label */
  protocol: string;
  /** packet capture for this job (scenario capture: true or run --capture), else null */
  capture: CaptureOptions | null;
  /** set by the capture probe: the key log file the job's drivers append TLS/QUIC secrets to */
  keylogFile?: string;
  /** the run's NAT middlebox (scenario nat:), else null */
  nat?: import('../../netem/nat.ts').Nat | null;
  /** wall clock (Date.now()) right before the job was sent (set by the runner once the
   *  probes started): the job's time zero for drop times */
  t0: number;
}

export interface CaptureOptions {
  /** results/<run>/capture */
  dir: string;
  snaplenBytes: number;
  maxBytes: number;
}

/** One dropped packet on the job's clock (drops.csv). */
export interface DropRow { cell: string; rep: number; protocol: string; t_ms: number; direction: string; cause: string; proto: string; src_port: number; dst_port: number }
export const DROP_COLUMNS: (keyof DropRow)[] = ['cell', 'rep', 'protocol', 't_ms', 'direction', 'cause', 'proto', 'src_port', 'dst_port'];

export interface ProbeOutput {
  columns: Partial<SummaryRow>;
  drops?: DropRow[];
}

export interface Running {
  finish(result: JobResult): Promise<ProbeOutput>;
}

export interface JobProbe {
  readonly name: string;
  applies(ctx: ProbeContext): boolean;
  start(ctx: ProbeContext): Promise<Running>;
}
