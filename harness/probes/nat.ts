// NAT middlebox (scenario nat:, netem/nat.ts) around each job: every job starts from the
// first mapping with none of the client's flows mapped (so no job inherits the previous
// one's mappings), rebinds fire at nat.rebind_at_s after the job was sent, and the job's
// recovery from the first rebind is measured: the longest silence in what the client received
// (body bytes of any request, or messages) after it and when it ended, and for page workloads
// the body bytes that never arrived.
import type { JobResult } from '../agent.ts';
import type { RebindResult } from '../../netem/nat.ts';
import type { JobProbe } from './types.ts';

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Wall-clock times (epoch ms) at which the client received data: chunks and messages. */
export function deliveryTimes(result: JobResult): number[] {
  const out: number[] = [];
  if (result.t0WallMs !== undefined) for (const c of result.chunks) if (c.bytes > 0) out.push(result.t0WallMs + c.t_ms);
  const t0 = result.messages?.t0Wall;
  if (t0 !== undefined) for (const m of result.messageRows ?? []) if (Number.isFinite(m.recv_ms)) out.push(t0 + m.recv_ms); // not the rows of messages settled lost
  return out;
}

/** Body bytes that never arrived: each /bytes/<n> request's n less what it received. */
export function bytesMissing(result: JobResult): number | null {
  if (!result.requests.length) return null;
  let missing = 0;
  for (const r of result.requests) {
    const n = /\/bytes\/(\d+)/.exec(r.path);
    if (n) missing += Math.max(0, Number(n[1]) - r.bytes);
  }
  return missing;
}

/** Silences that start later than this after a rebind are not blamed on it. */
export const REBIND_WINDOW_MS = 10_000;

/** The longest silence in deliveries that begins within REBIND_WINDOW_MS of the rebind at
 *  `fromMs` (the rebind instant counts as a delivery; bytes already in flight arrive right after
 *  it, so "first delivery after" would say 0). `endMs` is the job's end: when the silence
 *  running into it is the longest, the transfer never resumed (null). */
export function recovery(times: readonly number[], fromMs: number, endMs: number): { recoverMs: number; stallMs: number } | null {
  const pts = [fromMs, ...times.filter((t) => t >= fromMs).sort((a, b) => a - b)];
  let best = { start: fromMs, end: fromMs };
  for (let i = 1; i < pts.length; i++) {
    if (pts[i - 1]! - fromMs <= REBIND_WINDOW_MS && pts[i]! - pts[i - 1]! > best.end - best.start) best = { start: pts[i - 1]!, end: pts[i]! };
  }
  const last = pts[pts.length - 1]!;
  if (last - fromMs <= REBIND_WINDOW_MS && endMs - last > best.end - best.start) return null;
  return { recoverMs: r1(best.end - fromMs), stallMs: r1(best.end - best.start) };
}

/** nat_rebinds, rebind_recover_ms, rebind_stall_ms, rebind_bytes_missing */
export const natRebind: JobProbe = {
  name: 'NAT mappings and rebinding',
  applies: (ctx) => !!ctx.nat,
  async start(ctx) {
    const nat = ctx.nat!;
    await nat.reset();
    const done: RebindResult[] = [];
    const pending: Promise<void>[] = [];
    const timers = nat.config.rebind_at_s.map((s) =>
      setTimeout(() => pending.push(nat.rebind().then((r) => void done.push(r), () => {})), s * 1000),
    );
    return {
      async finish(result) {
        timers.forEach(clearTimeout);
        await Promise.all(pending);
        if (!nat.config.rebind_at_s.length) return { columns: {} };
        const first = done.length ? Math.min(...done.map((d) => d.atMs)) : null;
        const startMs = result.messages?.t0Wall ?? result.t0WallMs ?? null;
        const rec = first === null || startMs === null ? null : recovery(deliveryTimes(result), first, startMs + result.elapsedMs);
        return {
          columns: {
            nat_rebinds: done.length,
            rebind_recover_ms: rec?.recoverMs ?? null,
            rebind_stall_ms: rec?.stallMs ?? null,
            rebind_bytes_missing: result.page || result.requests.length ? bytesMissing(result) : null,
          },
        };
      },
    };
  },
};
