// The probes around every job, in the order they start and finish. Adding a measurement =
// a probe module + one line here (+ its columns in harness/summary.ts's SUMMARY_COLUMNS).
import { backendCounters, dropLog, queueDelay } from './backend.ts';
import { outages } from './outage.ts';
import { natRebind } from './nat.ts';
import { serverConnections } from './server.ts';
import { tcpRetransmissions } from './tcp.ts';
import { wireBytes } from './wire.ts';
import { packetCapture } from './capture.ts';
import { crossTraffic } from './crosstraffic.ts';
import type { JobProbe, ProbeContext, ProbeOutput, Running } from './types.ts';
import type { JobResult } from '../agent.ts';

/** Started in this order and finished in the reverse one (the last started sits closest to
 *  the job): the outage timers start right before the job is sent, and the outage probe
 *  lifts the black hole before the others read their counters. The capture is stopped (and
 *  analysed) before the counters are read, so its analysis time is never inside a job. */
export const JOB_PROBES: readonly JobProbe[] = [dropLog, tcpRetransmissions, serverConnections, wireBytes, backendCounters, queueDelay, packetCapture, crossTraffic, outages, natRebind];

/** Start every probe that applies; `finish` collects their columns and extra rows (probes
 *  finish in reverse start order). */
export async function startProbes(ctx: ProbeContext, probes: readonly JobProbe[] = JOB_PROBES): Promise<{ finish(result: JobResult): Promise<Required<ProbeOutput>> }> {
  const running: [string, Running][] = [];
  for (const p of probes) if (p.applies(ctx)) running.push([p.name, await p.start(ctx)]);
  return {
    async finish(result) {
      const out: Required<ProbeOutput> = { columns: {}, drops: [] };
      for (const [, r] of [...running].reverse()) {
        const o = await r.finish(result);
        Object.assign(out.columns, o.columns);
        if (o.drops) out.drops.push(...o.drops);
      }
      return out;
    },
  };
}
