// The network profile: what the emulated path between client and server does to packets.
// One zod schema serves the scenario files (strict, snake_case, units in names) and the
// backends, which only ever see the normalized `NetworkProfile` below.
import { z } from 'zod';

const MTU_BYTES = 1500;

/** Loss in netem's Gilbert-Elliott ("gemodel") terms, all probabilities in [0, 1]:
 *  p = P(good -> bad), r = P(bad -> good), one_minus_h = P(loss | bad),
 *  one_minus_k = P(loss | good). netem takes the same four as percentages. */
export const GeLossSchema = z
  .object({
    p: z.number().min(0).max(1),
    r: z.number().min(0).max(1).optional(),
    one_minus_h: z.number().min(0).max(1).optional(),
    one_minus_k: z.number().min(0).max(1).optional(),
  })
  .strict();

/** Parses "20mbit", "1.5Gbit", "800kbit", "20000000" or a number (bit/s). */
export const RateSchema = z.union([
  z.number().positive(),
  z.string().transform((s, ctx) => {
    const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(bit|kbit|mbit|gbit)?(?:\/s|ps)?\s*$/i.exec(s);
    const mult: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
    const v = m ? Number(m[1]) * mult[(m[2] ?? 'bit').toLowerCase()]! : NaN;
    if (!(v > 0)) {
      ctx.addIssue({ code: 'custom', message: `expected a positive rate such as 20000000 or "20mbit", got "${s}"` });
      return z.NEVER;
    }
    return v;
  }),
]);

/** Per-direction settings; every key is optional so uplink/downlink can override the shared ones. */
export const LinkSchema = z
  .object({
    delay_ms: z.number().min(0).max(60_000).optional().describe('one-way delay added in this direction, ms'),
    jitter_ms: z.number().min(0).max(60_000).optional().describe('delay variation, ms (uniform: +-jitter; normal: sigma)'),
    jitter_distribution: z.enum(['uniform', 'normal']).optional(),
    loss_pct: z.number().min(0).max(100).optional().describe('independent random loss, percent'),
    loss_ge: GeLossSchema.optional().describe('Gilbert-Elliott burst loss (netem gemodel semantics)'),
    rate_bps: RateSchema.optional().describe('bottleneck rate, bit/s (number or "20mbit")'),
    queue_packets: z.number().int().min(1).max(1_000_000).optional().describe('tail-drop queue limit in packets in front of the rate limiter'),
    reorder: z.boolean().optional().describe('allow jitter to reorder packets (default false: release in arrival order)'),
  })
  .strict();

export const OutageSchema = z
  .object({
    from_s: z.number().min(0).describe('seconds after the cell starts'),
    to_s: z.number().positive(),
    direction: z.enum(['uplink', 'downlink', 'both']).default('both'),
  })
  .strict()
  .refine((o) => o.to_s > o.from_s, { message: 'to_s must be greater than from_s', path: ['to_s'] });

export const NetworkSchema = LinkSchema.extend({
  uplink: LinkSchema.optional().describe('client -> server overrides'),
  downlink: LinkSchema.optional().describe('server -> client overrides'),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  outages: z.array(OutageSchema).optional(),
}).strict();

export type NetworkInput = z.input<typeof NetworkSchema>;

export type LossModel =
  | { kind: 'none' }
  | { kind: 'random'; pct: number }
  | { kind: 'ge'; p: number; r: number; oneMinusH: number; oneMinusK: number };

export interface LinkImpairment {
  delayMs: number;
  jitterMs: number;
  jitterDist: 'uniform' | 'normal';
  loss: LossModel;
  /** null = no rate limit */
  rateBps: number | null;
  /** tail-drop queue in front of the rate limiter, packets */
  queuePackets: number;
  reorder: boolean;
}

export type Direction = 'uplink' | 'downlink';

export interface Outage {
  fromS: number;
  toS: number;
  direction: Direction | 'both';
}

export interface NetworkProfile {
  uplink: LinkImpairment;
  downlink: LinkImpairment;
  seed: number;
  outages: Outage[];
}

export class ProfileError extends Error {
  readonly code = 'HOLBENCH_BAD_PROFILE';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  }
}

type LinkInput = z.output<typeof LinkSchema>;

/** Bandwidth-delay product of the whole path in packets of MTU size. */
export function bdpPackets(rateBps: number, rttMs: number): number {
  return Math.ceil((rateBps * rttMs) / 1000 / 8 / MTU_BYTES);
}

function lossOf(l: LinkInput, path: string, issues: { path: string; message: string }[]): LossModel {
  if (l.loss_pct !== undefined && l.loss_ge !== undefined) {
    issues.push({ path, message: 'set either loss_pct or loss_ge, not both' });
  }
  if (l.loss_ge) {
    const g = l.loss_ge;
    // netem's defaults when only some are given: r = 1 - p, 1-h = 1 (all loss in bad), 1-k = 0.
    return { kind: 'ge', p: g.p, r: g.r ?? 1 - g.p, oneMinusH: g.one_minus_h ?? 1, oneMinusK: g.one_minus_k ?? 0 };
  }
  if (l.loss_pct) return { kind: 'random', pct: l.loss_pct };
  return { kind: 'none' };
}

/** Turn validated YAML input into the normalized profile the backends use.
 *  `base` lets a sweep override keys of a scenario's profile (e.g. loss_pct). */
export function normalizeProfile(input: z.output<typeof NetworkSchema>, pathPrefix = 'network'): NetworkProfile {
  const issues: { path: string; message: string }[] = [];
  const { uplink, downlink, seed, outages, ...shared } = input;
  const merged = (dir: Direction, over: LinkInput | undefined): LinkImpairment => {
    const l: LinkInput = { ...shared, ...(over ?? {}) };
    // an override of one loss kind replaces the other shared kind
    if (over?.loss_ge !== undefined && over.loss_pct === undefined) delete l.loss_pct;
    if (over?.loss_pct !== undefined && over.loss_ge === undefined) delete l.loss_ge;
    return {
      delayMs: l.delay_ms ?? 0,
      jitterMs: l.jitter_ms ?? 0,
      jitterDist: l.jitter_distribution ?? 'uniform',
      loss: lossOf(l, over ? `${pathPrefix}.${dir}` : pathPrefix, issues),
      rateBps: l.rate_bps ?? null,
      queuePackets: l.queue_packets ?? 0, // 0 = fill in below
      reorder: l.reorder ?? false,
    };
  };
  const up = merged('uplink', uplink);
  const down = merged('downlink', downlink);
  const rttMs = up.delayMs + down.delayMs + up.jitterMs + down.jitterMs;
  for (const l of [up, down]) {
    if (l.queuePackets === 0) {
      // Default queue: at least the path's BDP (so the queue never caps throughput), never under 100.
      l.queuePackets = l.rateBps ? Math.max(100, 2 * bdpPackets(l.rateBps, Math.max(rttMs, 1))) : 1000;
    }
  }
  if (issues.length) throw new ProfileError(issues);
  return { uplink: up, downlink: down, seed: seed ?? 1, outages: (outages ?? []).map((o) => ({ fromS: o.from_s, toS: o.to_s, direction: o.direction })) };
}

/** zod issues as {path, message}, with unknown keys reported at their own path. */
export function issuesOf(err: z.ZodError, prefix: (string | number)[]): { path: (string | number)[]; message: string }[] {
  return err.issues.flatMap((i) => {
    const path = [...prefix, ...i.path.map((k) => (typeof k === 'symbol' ? String(k) : k))];
    return i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ path: [...path, k], message: 'unknown key' })) : [{ path, message: i.message }];
  });
}

/** Validate + normalize in one step; throws ProfileError naming every bad field. */
export function parseProfile(raw: unknown, pathPrefix = 'network'): NetworkProfile {
  const r = NetworkSchema.safeParse(raw);
  if (!r.success) {
    throw new ProfileError(issuesOf(r.error, [pathPrefix]).map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return normalizeProfile(r.data, pathPrefix);
}

/** A profile that does nothing (the unimpaired baseline). */
export function passThrough(seed = 1): NetworkProfile {
  return parseProfile({ seed });
}

/** Configured round-trip time (base, no jitter), ms. */
export function baseRttMs(p: NetworkProfile): number {
  return p.uplink.delayMs + p.downlink.delayMs;
}

/** Expected probability that a packet is lost in one direction (stationary GE loss rate). */
export function expectedLossFraction(l: LossModel): number {
  if (l.kind === 'none') return 0;
  if (l.kind === 'random') return l.pct / 100;
  const piBad = l.p + l.r === 0 ? 0 : l.p / (l.p + l.r);
  return piBad * l.oneMinusH + (1 - piBad) * l.oneMinusK;
}

/** One-line human description, used in chart titles and progress lines. */
export function describeProfile(p: NetworkProfile): string {
  const d = (l: LinkImpairment) => {
    const parts = [`${l.delayMs}ms`];
    if (l.jitterMs) parts.push(`±${l.jitterMs}ms ${l.jitterDist}`);
    if (l.loss.kind === 'random') parts.push(`${l.loss.pct}% loss`);
    if (l.loss.kind === 'ge') parts.push(`GE loss p=${l.loss.p} r=${l.loss.r}`);
    if (l.rateBps) parts.push(`${+(l.rateBps / 1e6).toFixed(3)} Mbit/s`);
    return parts.join(', ');
  };
  const u = d(p.uplink);
  const dn = d(p.downlink);
  return u === dn ? `${u} each way (RTT ${baseRttMs(p)} ms)` : `up ${u}; down ${dn} (RTT ${baseRttMs(p)} ms)`;
}
