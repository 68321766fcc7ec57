// Timed outages (network.outages: a black-holed direction from from_s to to_s of the job) and
// the dead-peer detection they provoke: the time from the first outage being in force (the
// backend's change returned) to the first verdict on each side, and the mechanism that fired.
// Applies to cells with outages.
import { nowMs } from '../../contract/messages.ts';
import type { JobProbe } from './types.ts';

/** First event at or after `from` (wall ms): its delay and mechanism. */
export function firstDetection(events: readonly { atMs: number; mechanism: string }[], from: number): { ms: number | null; mech: string } {
  const e = events.filter((x) => x.atMs >= from).sort((a, b) => a.atMs - b.atMs)[0];
  return e ? { ms: Math.round((e.atMs - from) * 10) / 10, mech: e.mechanism } : { ms: null, mech: '' };
}

/** detect_ms_client, detect_mech_client, detect_ms_server, detect_mech_server */
export const outages: JobProbe = {
  name: 'outages and detection',
  applies: (ctx) => ctx.cell.profile.outages.length > 0,
  async start(ctx) {
    const deadBefore = (await ctx.server.request({ type: 'stats' }, 10_000))[ctx.plugin]?.deadPeers?.length ?? 0;
    const onAt: number[] = [];
    const timers = ctx.cell.profile.outages.flatMap((out) => [
      setTimeout(() => void ctx.backend.setBlackhole(out.direction, true).then(() => onAt.push(nowMs())), out.fromS * 1000),
      setTimeout(() => void ctx.backend.setBlackhole(out.direction, false), out.toS * 1000),
    ]);
    return {
      async finish(result) {
        timers.forEach(clearTimeout);
        await ctx.backend.setBlackhole('both', false);
        if (!onAt.length) return { columns: {} };
        const from = Math.min(...onAt);
        const dead = ((await ctx.server.request({ type: 'stats' }, 10_000))[ctx.plugin]?.deadPeers ?? []).slice(deadBefore);
        const c = firstDetection(result.messages?.dead ?? [], from);
        const s = firstDetection(dead, from);
        return { columns: { detect_ms_client: c.ms, detect_mech_client: c.mech, detect_ms_server: s.ms, detect_mech_server: s.mech } };
      },
    };
  },
};
