// The `netem` backend: Linux tc-netem as the root qdisc on the router's two egress
// interfaces (uplink leaves on `to-server`, downlink on `to-client`), inside the router
// namespace only. Deleting the namespace removes everything this backend installed.
//
// How a LinkImpairment maps onto netem (checked against sch_netem.c netem_enqueue and
// iproute2 q_netem.c, kernel 6.1 / iproute2 6.1):
// - delay D [J]: without a `distribution` keyword netem's tabledist() draws uniformly from
//   [D-J, D+J); with `distribution normal` J is the standard deviation (table spans ~±4σ).
//   This matches profile.ts (uniform: ±jitter, normal: sigma).
// - Ordering. netem keeps packets in a "tfifo" sorted by time_to_send, so with jitter and
//   NO rate, a packet drawn a shorter delay overtakes its predecessor: jitter reorders.
//   With `rate` set, netem computes time_to_send = max(now + delay, last.time_to_send) +
//   serialization time, i.e. no packet leaves before the one ahead of it ("release in
//   arrival order", the same semantics as our NFQUEUE helper). Putting a pfifo child
//   under netem does NOT help on modern kernels: tfifo still sorts before the child sees
//   packets. So when jitter > 0, reorder is false and the profile has no rate, we add
//   `rate 100gbit` (0.12 us per 1500 B packet; never the bottleneck on a veth path) purely
//   to get in-order release. With reorder: true we leave the rate out and netem reorders
//   as it always has. A profile with a real rate can never reorder in netem (documented
//   limitation; the helper backend does the same).
// - loss random P%: independent loss. loss gemodel p r 1-h 1-k (percent): always all four
//   given explicitly, because iproute2's defaults for omitted ones changed across versions
//   (r = 1 or 1-p). tc turns the user's 1-h into h for the kernel.
// - limit: netem's single limit counts EVERY packet it holds, both those waiting for the
//   rate and those sitting in the delay line. So limit = queuePackets + the packets a full
//   delay line holds (rate × max delay in MTU-size packets), and the delay line itself
//   never tail-drops for MTU-size traffic. Without a rate we assume a 1 Gbit/s line.
//   Caveat: a delay line full of small packets borrows room from the queue.
// - seed: iproute2 >= 6.5 (kernel TCA_NETEM_PRNG_SEED, 6.5+) takes `seed N`; we pass it
//   only when the installed tc's help lists it. Uplink and downlink get different seeds
//   (2s and 2s+1) so the two directions do not lose the same packet indices.
// - reseed (paired repetitions; checked against sch_netem.c netem_change/netem_enqueue with
//   the seeded PRNG): EVERY netem_change restarts the qdisc's one PRNG, from
//   TCA_NETEM_PRNG_SEED when given, else from a random seed; a change that carries the loss
//   model also resets the GE state to good; queued packets stay. So reseed(s) is a `change`
//   with the installed settings plus `seed`, and every later change (live update, outage
//   on/off) re-sends the current seed. One PRNG per direction serves loss (random: one draw
//   per packet when loss > 0; GE: two) and jitter (one draw per packet that passed loss and
//   the limit, when jitter > 0): decision k depends only on (seed, k) as long as no packet
//   is dropped by `limit` while jitter is on (that packet skips its jitter draw). We check
//   that the kernel took the seed by reading it back (`tc -j qdisc show`: options.seed);
//   kernels without TCA_NETEM_PRNG_SEED ignore the attribute and do not echo it.
// - reorder_pct P / reorder_gap G: netem's own `reorder P% gap G` (netem_enqueue: once G-1
//   packets took the normal path, the next one is sent at once with probability P; tc needs
//   a delay, as profile.ts does). Native, so faithful WITHOUT a rate. With a rate netem puts
//   the reordered packet at the head of its queue, so it skips the rate queue too, where
//   the helper's waits its turn and skips only the delay: UNSUPPORTED (see netemUnsupported).
//   It takes one more PRNG draw per packet (reordering decision) when set. tc sends no
//   reorder attribute unless one is named, and a `change` keeps what the message leaves out
//   (seen in the VM: reorder 0.25 stayed, with gap 0, so inert): a change without the knob
//   names `reorder 0%`, so the qdisc shows what the profile says.
// - UNSUPPORTED on netem (netemUnsupported gives the reason; the runner marks the cell's
//   jobs UNSUPPORTED instead of running something else):
//   trace: netem has no trace replay; its `rate` is one constant and `slot` only bunches
//     packets into fixed or distributed slots; re-issuing `tc change rate` per step from user
//     space would be an approximation paced by tc round trips, not the trace.
//   loss_burst: netem's loss models (random, gemodel, 4-state) all change state per packet;
//     none runs on a clock, which is the point of the time-based model.
//   queue_bytes / queue_ms: netem's one limit counts packets, and it counts the delay line
//     too; a bfifo child would sit after the delay line, not in front of the rate.
//   aqm codel: the codel qdisc has to be where the queue builds, i.e. under the qdisc that
//     does the rate limiting, while netem's rate queue is netem's own tfifo (no child can
//     see its sojourn times). A faithful tree (netem for delay/loss, then tbf rate + codel)
//     changes where the delay sits relative to the rate and is not built here.
import { run } from '../../proc/exec.ts';
import { onCleanup } from '../../proc/lifecycle.ts';
import type { BackendStats, DirectionStats, DropEvent, ImpairmentBackend, ReseedResult } from '../backend.ts';
import type { Direction, LinkImpairment, NetworkProfile } from '../profile.ts';
import { checkSeed } from '../seed.ts';
import type { Topology } from '../topology.ts';

const MTU_BYTES = 1500;
/** line rate assumed for sizing the delay line when the profile sets no rate, bit/s */
export const ASSUMED_LINE_BPS = 1e9;
/** rate added only to keep jittered packets in order (see the header comment), bit/s */
export const ORDERING_RATE_BPS = 100e9;
/** cap on the delay-line allowance, packets (a 1 Gbit/s line × 2.4 s of delay) */
export const MAX_DELAY_LINE_PACKETS = 200_000;

export interface NetemArgOptions {
  /** PRNG seed for this qdisc; omitted from the arguments when undefined */
  seed?: number;
}

function fmtMs(ms: number): string {
  return Number.isInteger(ms) ? `${ms}ms` : `${Math.round(ms * 1000)}us`;
}

/** Percent with up to 6 decimals and no float noise: 0.1 -> "10%", 0.123456789 -> "12.345679%". */
export function fmtPct(fraction: number): string {
  return `${+(fraction * 100).toFixed(6)}%`;
}

/** Packets a full delay line holds: rate × the longest delay netem can draw, in MTU-size packets. */
export function delayLinePackets(link: LinkImpairment): number {
  const spread = link.jitterDist === 'normal' ? 4 : 1; // netem's normal table spans about ±4σ
  const maxDelayMs = link.delayMs + spread * link.jitterMs;
  const bps = link.rateBps ?? ASSUMED_LINE_BPS;
  return Math.min(MAX_DELAY_LINE_PACKETS, Math.ceil((bps * maxDelayMs) / 1000 / 8 / MTU_BYTES));
}

/** netem's `limit`: the queue in front of the rate plus room for the delay line. */
export function netemLimit(link: LinkImpairment): number {
  return link.queuePackets + delayLinePackets(link);
}

/** Why netem cannot emulate this direction faithfully (one line per field), [] = it can. Pure. */
export function netemUnsupported(link: LinkImpairment): string[] {
  const out: string[] = [];
  if (link.trace) out.push(`trace: netem has no trace replay (its rate is one constant; slot only bunches packets), so ${link.trace.name} cannot be followed; use the helper backend`);
  if (link.loss.kind === 'burst') out.push("loss_burst: netem's loss models (random, gemodel, 4-state) change state per packet, never on a clock; use loss_ge for per-packet bursts or the helper backend");
  if (link.queueBytes) out.push('queue_bytes: netem limits its queue in packets only (and counts the delay line in it)');
  if (link.queueMs) out.push('queue_ms: netem has no time-limited queue');
  if (link.aqm) out.push("aqm: codel cannot see netem's rate queue (netem's own tfifo); a tbf + codel tree would move the delay relative to the rate and is not built");
  if ((link.reorderPct ?? 0) > 0 && link.rateBps !== null) out.push("reorder_pct with rate_bps: netem's reordered packet also skips the rate queue, the helper's only skips the delay");
  return out;
}

/** netemUnsupported for both directions, as one message (null = supported). Pure. */
export function netemUnsupportedProfile(p: NetworkProfile): string | null {
  const lines = (['uplink', 'downlink'] as const).flatMap((d) => netemUnsupported(p[d]).map((m) => `${d}: ${m}`));
  return lines.length ? `UNSUPPORTED on netem: ${[...new Set(lines)].join('; ')}` : null;
}

/** The options after `netem` for one direction. Pure. */
export function netemArgs(link: LinkImpairment, opts: NetemArgOptions = {}): string[] {
  const a: string[] = ['limit', String(netemLimit(link)), 'delay', fmtMs(link.delayMs)];
  if (link.jitterMs > 0) {
    a.push(fmtMs(link.jitterMs));
    // uniform is netem's behaviour without a table; there is no uniform.dist to name
    if (link.jitterDist === 'normal') a.push('distribution', 'normal');
  }
  if (link.loss.kind === 'random') a.push('loss', 'random', fmtPct(link.loss.pct / 100));
  if (link.loss.kind === 'ge') {
    const g = link.loss;
    a.push('loss', 'gemodel', fmtPct(g.p), fmtPct(g.r), fmtPct(g.oneMinusH), fmtPct(g.oneMinusK));
  }
  if ((link.reorderPct ?? 0) > 0) a.push('reorder', fmtPct((link.reorderPct ?? 0) / 100), 'gap', String(link.reorderGap ?? 1));
  if (link.rateBps !== null) a.push('rate', `${Math.round(link.rateBps)}bit`);
  else if (link.jitterMs > 0 && !link.reorder) a.push('rate', `${ORDERING_RATE_BPS}bit`);
  if (opts.seed !== undefined) a.push('seed', String(opts.seed));
  return a;
}

/** Full `tc` argv (without the `tc` itself) for `qdisc add|change dev X root netem ...`. */
export function netemQdiscArgv(verb: 'add' | 'change', dev: string, link: LinkImpairment, opts: NetemArgOptions = {}): string[] {
  const args = netemArgs(link, opts);
  // `change` leaves attributes the message does not carry untouched, and tc only sends a
  // rate when one is named: to remove a rate on change, say `rate 0bit` explicitly.
  if (verb === 'change' && !args.includes('rate')) args.push('rate', '0bit');
  // likewise the reorder probability (see the header)
  if (verb === 'change' && !args.includes('reorder')) args.push('reorder', '0%');
  return ['qdisc', verb, 'dev', dev, 'root', 'netem', ...args];
}

/** Per-direction PRNG seeds derived from the profile seed (distinct, deterministic). */
export function directionSeed(seed: number, dir: Direction): number {
  return dir === 'uplink' ? 2 * seed : 2 * seed + 1;
}

/** A copy of `link` that drops every packet (timed outages). Delay etc. stay as they were. */
export function blackholed(link: LinkImpairment): LinkImpairment {
  return { ...link, loss: { kind: 'random', pct: 100 } };
}

/** `change` cannot express this transition: the kernel keeps the old distribution table
 *  when none is sent, and no uniform table exists to send. Needs delete + add. */
export function needsReAdd(prev: LinkImpairment, next: LinkImpairment): boolean {
  return prev.jitterDist === 'normal' && prev.jitterMs > 0 && next.jitterMs > 0 && next.jitterDist === 'uniform';
}

export interface NetemQdiscCounters {
  /** packets netem has released (dequeued) */
  sent: number;
  /** netem's one drop counter: random/GE loss AND limit overflow, not separable */
  drops: number;
  /** packets held right now (queue + delay line) */
  qlen: number;
}

/** The netem qdisc in `tc -j qdisc show dev X` output (the root one, else the first), as
 *  parsed; undefined when the output is not a JSON list or holds no netem qdisc. */
function findNetemQdisc(json: string): any {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  return list.find((x: any) => x && x.kind === 'netem' && x.root === true) ?? list.find((x: any) => x && x.kind === 'netem');
}

/** Parse `tc -s -j qdisc show dev X` output; returns the root netem qdisc's counters or null. */
export function parseQdiscStats(json: string): NetemQdiscCounters | null {
  const q = findNetemQdisc(json);
  if (!q) return null;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return { sent: n(q.packets), drops: n(q.drops), qlen: n(q.qlen) };
}

/** The `tc` argv of reseed(): a `change` to the installed settings plus this direction's
 *  seed (netem restarts its PRNG and GE state on every change; queued packets stay). */
export function netemReseedArgv(dev: string, installed: LinkImpairment, seed: number, dir: Direction): string[] {
  checkSeed(seed);
  return netemQdiscArgv('change', dev, installed, { seed: directionSeed(seed, dir) });
}

/** The PRNG seed the kernel reports for the netem qdisc in `tc -j qdisc show dev X` output
 *  (options.seed), or null when absent (tc or kernel without TCA_NETEM_PRNG_SEED). */
export function parseQdiscSeed(json: string): number | null {
  const seed = findNetemQdisc(json)?.options?.seed;
  return typeof seed === 'number' && Number.isFinite(seed) ? seed : null;
}

/** reseed()'s note when tc cannot pass a seed. `tcVersion` is `tc -V`'s first line. */
export function seedUnsupportedNote(tcVersion: string): string {
  return `netem: not paired: ${tcVersion.trim() || 'this tc'} has no netem "seed" option (needs iproute2 >= 6.5 and a kernel with TCA_NETEM_PRNG_SEED), so netem draws losses from an unseeded kernel PRNG and repetitions meet different loss sequences`;
}

let seedSupport: Promise<boolean> | undefined;

/** Does the installed tc know netem's `seed`? (Its help text lists it from iproute2 6.5 on.) */
export function tcSupportsSeed(): Promise<boolean> {
  seedSupport ??= run('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'help'], { allowFail: true, timeoutMs: 5000 })
    .then((r) => /\bseed\b/i.test(r.stdout + r.stderr))
    .catch(() => false);
  return seedSupport;
}

/** Is tc-netem usable here? Tries it in a throwaway namespace, which is always deleted.
 *  The name fits cleanup.ts's pattern (holbench-<id>-r), so a SIGKILLed probe's namespace
 *  is reaped by the next `holbench cleanup`. */
export async function netemAvailable(): Promise<{ ok: boolean; reason: string }> {
  const tcv = await run('tc', ['-V'], { allowFail: true, timeoutMs: 5000 }).catch(() => null);
  if (!tcv || tcv.exitCode !== 0) return { ok: false, reason: 'tc (iproute2) is not installed' };
  const ns = `holbench-np${process.pid}-r`;
  try {
    const add = await run('ip', ['netns', 'add', ns], { allowFail: true, timeoutMs: 10_000 });
    if (add.exitCode !== 0) return { ok: false, reason: `cannot create a network namespace: ${add.stderr.trim()}` };
    const veth = await run('ip', ['-n', ns, 'link', 'add', 'name', 'np0', 'type', 'veth', 'peer', 'name', 'np1'], { allowFail: true, timeoutMs: 10_000 });
    if (veth.exitCode !== 0) return { ok: false, reason: `cannot create a veth pair: ${veth.stderr.trim()}` };
    const r = await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'np0', 'root', 'netem', 'delay', '1ms'], { allowFail: true, timeoutMs: 10_000 });
    if (r.exitCode !== 0) {
      const msg = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).join('; ');
      return { ok: false, reason: `tc-netem does not work in this kernel: ${msg || `tc exited ${r.exitCode}`}` };
    }
    return { ok: true, reason: 'tc qdisc add ... netem succeeded in a probe namespace' };
  } finally {
    await run('ip', ['netns', 'del', ns], { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
  }
}

const DIRS: Direction[] = ['uplink', 'downlink'];

interface DirState {
  dev: string;
  /** what is installed now, before blackholing */
  link: LinkImpairment | null;
  blackhole: boolean;
  /** counters of qdiscs that were replaced (delete + add), so stats stay cumulative */
  carried: NetemQdiscCounters;
  /** netem's drop counter when the current blackhole started */
  blackholeStartDrops: number;
  /** drops attributed to finished blackholes */
  outageDrops: number;
}

class NetemBackend implements ImpairmentBackend {
  readonly name = 'netem' as const;
  private readonly ns: string;
  private readonly dirs: Record<Direction, DirState>;
  /** the seed passed with every tc change while withSeed (a profile's, or reseed()'s) */
  private seed: number | null = null;
  /** the last profile's seed: update() moves `seed` only when this changes */
  private profileSeed: number | null = null;
  private withSeed = false;
  private unregister: (() => void) | null = null;
  private torn = false;

  constructor(private readonly topo: Topology) {
    this.ns = topo.ns.router;
    const st = (dev: string): DirState => ({ dev, link: null, blackhole: false, carried: { sent: 0, drops: 0, qlen: 0 }, blackholeStartDrops: 0, outageDrops: 0 });
    this.dirs = { uplink: st(topo.egress.uplink), downlink: st(topo.egress.downlink) };
  }

  private tc(args: string[], allowFail = false) {
    return run('tc', ['-n', this.ns, ...args], { allowFail, timeoutMs: 15_000 });
  }

  private argOpts(dir: Direction): NetemArgOptions {
    return this.withSeed && this.seed !== null ? { seed: directionSeed(this.seed, dir) } : {};
  }

  private effective(d: DirState): LinkImpairment {
    return d.blackhole ? blackholed(d.link!) : d.link!;
  }

  unsupported(profile: NetworkProfile): string | null {
    return netemUnsupportedProfile(profile);
  }

  async apply(profile: NetworkProfile): Promise<void> {
    if (this.torn) throw new Error('netem backend: apply() after teardown()');
    const why = netemUnsupportedProfile(profile);
    if (why) throw new Error(why);
    this.withSeed = await tcSupportsSeed();
    this.seed = this.profileSeed = profile.seed;
    this.unregister ??= onCleanup(() => this.teardown());
    try {
      for (const dir of DIRS) {
        const d = this.dirs[dir];
        await this.tc(netemQdiscArgv('add', d.dev, profile[dir], this.argOpts(dir)));
        d.link = profile[dir];
      }
    } catch (err) {
      await this.teardown();
      throw err;
    }
  }

  async update(profile: NetworkProfile): Promise<void> {
    const why = netemUnsupportedProfile(profile);
    if (why) throw new Error(why);
    // netem restarts its PRNG on every change anyway; keep a job's reseed() seed unless
    // the profile asks for another one
    if (profile.seed !== this.profileSeed) this.seed = this.profileSeed = profile.seed;
    for (const dir of DIRS) {
      const d = this.dirs[dir];
      if (!d.link) throw new Error('netem backend: update() before apply()');
      const prev = this.effective(d);
      d.link = profile[dir];
      await this.install(dir, prev);
    }
  }

  /** Bring direction `dir` to its effective state, by `change` where netem allows it. */
  private async install(dir: Direction, prev: LinkImpairment): Promise<void> {
    const d = this.dirs[dir];
    const next = this.effective(d);
    if (needsReAdd(prev, next)) {
      // queued packets are lost here; keep the counters cumulative across the new qdisc
      const c = await this.counters(d);
      if (c) {
        d.carried = { sent: d.carried.sent + c.sent, drops: d.carried.drops + c.drops, qlen: 0 };
      }
      await this.tc(['qdisc', 'del', 'dev', d.dev, 'root'], true);
      await this.tc(netemQdiscArgv('add', d.dev, next, this.argOpts(dir)));
    } else {
      await this.tc(netemQdiscArgv('change', d.dev, next, this.argOpts(dir)));
    }
  }

  async reseed(seed: number): Promise<ReseedResult> {
    checkSeed(seed);
    if (this.torn) throw new Error('netem backend: reseed() after teardown()');
    for (const dir of DIRS) if (!this.dirs[dir].link) throw new Error('netem backend: reseed() before apply()');
    if (!this.withSeed) {
      const v = await run('tc', ['-V'], { allowFail: true, timeoutMs: 5000 }).catch(() => null);
      return { exact: false, note: seedUnsupportedNote(v?.stdout.split('\n')[0] ?? '') };
    }
    this.seed = seed;
    const echoed: string[] = [];
    for (const dir of DIRS) {
      const d = this.dirs[dir];
      await this.tc(netemReseedArgv(d.dev, this.effective(d), seed, dir));
      const shown = await this.tc(['-j', 'qdisc', 'show', 'dev', d.dev], true);
      const got = shown.exitCode === 0 ? parseQdiscSeed(shown.stdout) : null;
      if (got !== directionSeed(seed, dir)) echoed.push(`${dir}: asked ${directionSeed(seed, dir)}, kernel reports ${got ?? 'none'}`);
    }
    if (echoed.length) {
      return { exact: false, note: `netem: not paired: the kernel did not take the PRNG seed (${echoed.join('; ')}); it lacks TCA_NETEM_PRNG_SEED, so losses come from an unseeded PRNG` };
    }
    return {
      exact: true,
      note: `netem: PRNG of each direction restarted from seed ${seed} (uplink ${directionSeed(seed, 'uplink')}, downlink ${directionSeed(seed, 'downlink')}), GE state reset; the k-th packet in each direction meets the same loss decision for the same seed, except after a packet dropped by netem's limit while jitter is on (it skips its jitter draw)`,
    };
  }

  async setBlackhole(direction: Direction | 'both', on: boolean): Promise<void> {
    for (const dir of direction === 'both' ? DIRS : [direction]) {
      const d = this.dirs[dir];
      if (!d.link) throw new Error('netem backend: setBlackhole() before apply()');
      if (d.blackhole === on) continue;
      const prev = this.effective(d);
      const before = (await this.counters(d))?.drops ?? 0;
      d.blackhole = on;
      if (on) d.blackholeStartDrops = before + d.carried.drops;
      await this.install(dir, prev);
      if (!on) {
        const after = (await this.counters(d))?.drops ?? before;
        d.outageDrops += Math.max(0, after + d.carried.drops - d.blackholeStartDrops);
      }
    }
  }

  private async counters(d: DirState): Promise<NetemQdiscCounters | null> {
    const r = await this.tc(['-s', '-j', 'qdisc', 'show', 'dev', d.dev], true);
    return r.exitCode === 0 ? parseQdiscStats(r.stdout) : null;
  }

  private async dirStats(d: DirState): Promise<DirectionStats> {
    const c = (await this.counters(d)) ?? { sent: 0, drops: 0, qlen: 0 };
    const sent = d.carried.sent + c.sent;
    const drops = d.carried.drops + c.drops;
    // While a blackhole is on, every drop since it started is the outage's.
    const outage = d.outageDrops + (d.blackhole ? Math.max(0, drops - d.blackholeStartDrops) : 0);
    return {
      packets: sent + drops + c.qlen,
      delivered: sent,
      // netem keeps ONE drop counter for random/GE loss and for `limit` overflow; it cannot
      // tell them apart, so both land in `loss` (`limit` is sized so the delay line does not
      // overflow; queue drops only happen when the rate-limited queue is full). Outage drops
      // are split off by diffing the counter around blackholes.
      drops: { loss: Math.max(0, drops - outage), queue: 0, outage, other: 0 },
    };
  }

  async stats(): Promise<BackendStats> {
    return { backend: 'netem', uplink: await this.dirStats(this.dirs.uplink), downlink: await this.dirStats(this.dirs.downlink) };
  }

  /** netem has no per-packet drop log. */
  async drops(_sinceMs: number): Promise<DropEvent[]> {
    return [];
  }

  async teardown(): Promise<void> {
    if (this.torn) return;
    this.torn = true;
    for (const dir of DIRS) {
      // fails harmlessly when the qdisc or the whole namespace is already gone
      await this.tc(['qdisc', 'del', 'dev', this.dirs[dir].dev, 'root'], true).catch(() => undefined);
      this.dirs[dir].link = null;
    }
    this.unregister?.();
    this.unregister = null;
  }
}

export function createNetemBackend(topo: Topology): ImpairmentBackend {
  return new NetemBackend(topo);
}
