// Competing traffic (scenario `cross_traffic`): bulk TCP flows and constant-rate UDP flows
// through the same bottleneck as the job, run by iperf3 between the client and server
// namespaces (harness/probes/crosstraffic.ts). This file is the scenario part: the schema
// and the normalized flow the probe runs.
import { z } from 'zod';
import { RateSchema } from '../../netem/profile.ts';
import { TCP_CC, type TcpCc } from '../../netem/cc.ts';

/** Earliest start: a flow may start up to a minute before the job (the probe waits that long
 *  before the job is sent, so the flow is past slow start when the job begins). */
export const MIN_START_S = -60;
/** Latest stop: a cell lasts at most an hour (timeouts.cell_s). */
export const MAX_STOP_S = 3600;
/** Entries per scenario, and TCP flows per entry (iperf3 -P). */
export const MAX_CROSS_ENTRIES = 8;
export const MAX_TCP_FLOWS = 16;

// iperf3 3.12 reads -t as whole seconds: start and stop are whole seconds so the flow's
// duration is exactly what is asked
const timing = {
  direction: z.enum(['downlink', 'uplink']).default('downlink').describe('downlink: server namespace -> client namespace (the direction a page travels); uplink: the reverse'),
  start_s: z.number().int().min(MIN_START_S).max(MAX_STOP_S - 1).default(0).describe('whole seconds from the job\'s start (negative: that long before the job; the job waits)'),
  stop_s: z.number().int().min(MIN_START_S + 1).max(MAX_STOP_S).describe('whole seconds from the job\'s start; the job\'s probes wait for it (a job lasts at least this long)'),
};
const stopAfterStart = { message: 'stop_s must be greater than start_s', path: ['stop_s'] };

const TcpFlow = z
  .object({
    kind: z.literal('tcp'),
    flows: z.number().int().min(1).max(MAX_TCP_FLOWS).default(1).describe('parallel bulk TCP connections (iperf3 -P)'),
    cc: z.enum(TCP_CC).optional().describe('congestion control of the sending side (iperf3 -C; default: the scenario\'s tcp_cc)'),
    ...timing,
  })
  .strict()
  .refine((f) => f.stop_s > f.start_s, stopAfterStart);

const UdpFlow = z
  .object({
    kind: z.literal('udp'),
    rate_bps: RateSchema.describe('constant sending rate, bit/s (iperf3 -u -b)'),
    ...timing,
  })
  .strict()
  .refine((f) => f.stop_s > f.start_s, stopAfterStart);

export const CrossTrafficSchema = z
  .array(z.discriminatedUnion('kind', [TcpFlow, UdpFlow]))
  .max(MAX_CROSS_ENTRIES)
  .describe('competing flows through the same bottleneck, per job (iperf3 between the client and server namespaces); sweep cross_traffic: [off, on] to compare');

export type CrossTrafficInput = z.output<typeof CrossTrafficSchema>;

/** One entry as the probe runs it. */
export interface CrossFlow {
  kind: 'tcp' | 'udp';
  /** TCP: parallel connections; UDP: 1 */
  flows: number;
  /** TCP: the sender's congestion control; UDP: null */
  cc: TcpCc | null;
  /** UDP: sending rate; TCP: null */
  rateBps: number | null;
  direction: 'downlink' | 'uplink';
  startS: number;
  stopS: number;
}

export function crossFlows(input: CrossTrafficInput | undefined, tcpCc: TcpCc): CrossFlow[] {
  return (input ?? []).map((f) =>
    f.kind === 'tcp'
      ? { kind: 'tcp', flows: f.flows, cc: f.cc ?? tcpCc, rateBps: null, direction: f.direction, startS: f.start_s, stopS: f.stop_s }
      : { kind: 'udp', flows: 1, cc: null, rateBps: f.rate_bps, direction: f.direction, startS: f.start_s, stopS: f.stop_s },
  );
}

/** "tcp x2 cubic down 0-8s; udp 2Mbit/s down 1-5s" */
export function describeCross(flows: readonly CrossFlow[]): string {
  return flows
    .map((f) => {
      const what = f.kind === 'tcp' ? `tcp x${f.flows} ${f.cc}` : `udp ${+(f.rateBps! / 1e6).toFixed(3)}Mbit/s`;
      return `${what} ${f.direction === 'downlink' ? 'down' : 'up'} ${f.startS}..${f.stopS}s`;
    })
    .join('; ');
}
