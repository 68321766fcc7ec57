// The impairment backend's own counters around a job: packets that entered each direction and
// what it dropped (loss model vs tail-drop queue), and its drop log for stream timelines.
import type { DirectionStats } from '../../netem/backend.ts';
import type { JobProbe } from './types.ts';

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function diffDir(a: DirectionStats, b: DirectionStats) {
  return { packets: b.packets - a.packets, loss: b.drops.loss - a.drops.loss, queue: b.drops.queue - a.drops.queue };
}

/** loss_measured_pct, drops_loss, drops_queue */
export const backendCounters: JobProbe = {
  name: 'backend counters',
  applies: () => true,
  async start(ctx) {
    const before = await ctx.backend.stats();
    return {
      async finish() {
        const after = await ctx.backend.stats();
        const up = diffDir(before.uplink, after.uplink);
        const down = diffDir(before.downlink, after.downlink);
        const packets = up.packets + down.packets;
        const loss = up.loss + down.loss;
        return { columns: { drops_loss: loss, drops_queue: up.queue + down.queue, loss_measured_pct: packets ? r3((100 * loss) / packets) : null } };
      },
    };
  },
};

/** drops.csv: every packet the backend dropped during the job, on the job's clock */
export const dropLog: JobProbe = {
  name: 'drop log',
  applies: () => true,
  async start(ctx) {
    return {
      async finish() {
        const drops = await ctx.backend.drops(ctx.t0);
        return {
          columns: {},
          drops: drops.map((d) => ({ cell: ctx.cell.id, rep: ctx.rep, protocol: ctx.protocol, t_ms: d.tMs - ctx.t0, direction: d.direction, cause: d.cause, proto: d.proto, src_port: d.srcPort, dst_port: d.dstPort })),
        };
      },
    };
  },
};
