// The impairment backend's own counters around a job: packets that entered each direction and
// what it dropped (loss model vs tail-drop queue), and its drop log for stream timelines.
import type { DirectionStats } from '../../netem/backend.ts';
import type { JobProbe } from './types.ts';

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function diffDir(a: DirectionStats, b: DirectionStats) {
  return { packets: b.packets - a.packets, loss: b.drops.loss - a.drops.loss, queue: b.drops.queue - a.drops.queue, aqm: a.drops.aqm === undefined || b.drops.aqm === undefined ? null : b.drops.aqm - a.drops.aqm };
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
        const aqm = up.aqm === null || down.aqm === null ? null : up.aqm + down.aqm;
        return { columns: { drops_loss: loss, drops_queue: up.queue + down.queue, loss_measured_pct: packets ? r3((100 * loss) / packets) : null, aqm_drops: aqm } };
      },
    };
  },
};

/** queue_delay_p50_ms, queue_delay_p99_ms: the bottleneck queue's delay during the job, from
 *  the backend's own clock (helper: enqueue -> dequeue per packet), in the direction with the
 *  larger p99 (where the queue built). Backends that cannot measure it leave them empty. */
export const queueDelay: JobProbe = {
  name: 'queue delay',
  applies: (ctx) => typeof ctx.backend.queueDelay === 'function',
  async start(ctx) {
    await ctx.backend.queueDelay!(); // starts the job's window
    return {
      async finish() {
        const q = await ctx.backend.queueDelay!();
        const worst = q.uplink.p99_ms >= q.downlink.p99_ms ? q.uplink : q.downlink;
        if (!worst.n) return { columns: { queue_delay_p50_ms: null, queue_delay_p99_ms: null } };
        return { columns: { queue_delay_p50_ms: r3(worst.p50_ms), queue_delay_p99_ms: r3(worst.p99_ms) } };
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
