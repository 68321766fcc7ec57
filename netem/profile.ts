// The network profile: what the emulated path between client and server does to packets.
// One zod schema serves the scenario files (strict, snake_case, units in names) and the
// backends, which only ever see the normalized `NetworkProfile` below.
import { z } from 'zod';
import { PRESET_NAMES, PRESET_TABLE, presetNetwork, type PresetName } from './presets.ts';
import { loadTrace, TraceError, type Trace } from './trace.ts';

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

/** Time-based burst loss: a two-state chain whose good and bad periods last exponential
 *  times (means in ms). Unlike Gilbert-Elliott, the state changes on a clock, not per packet,
 *  so a burst lasts about mean_bad_ms however few packets flow (e.g. during a handshake). */
export const BurstLossSchema = z
  .object({
    mean_good_ms: z.number().min(0.1).max(3_600_000).describe('mean length of a good period, ms'),
    mean_bad_ms: z.number().min(0.1).max(3_600_000).describe('mean length of a bad period (a burst), ms'),
    loss_in_bad_pct: z.number().min(0).max(100).optional().describe('loss probability during a burst, percent (default 100)'),
    loss_in_good_pct: z.number().min(0).max(100).optional().describe('loss probability between bursts, percent (default 0)'),
  })
  .strict();

/** Active queue management at the queue's dequeue. CoDel (RFC 8289): drop at dequeue when
 *  the sojourn time stayed above target for an interval. */
export const AqmSchema = z.union([
  z.enum(['none', 'codel']),
  z
    .object({
      kind: z.literal('codel'),
      target_ms: z.number().min(0.1).max(10_000).optional().describe('acceptable standing queue delay, ms (default 5)'),
      interval_ms: z.number().min(1).max(60_000).optional().describe('window over which the delay must stay above target, ms (default 100)'),
    })
    .strict(),
]);

/** Slowest rate a path may have: 1 kB/s, one MTU packet in 1.5 s (slower and every
 *  protocol's handshake times out; below 1 bit/s the helper would round it to "unlimited"). */
export const MIN_RATE_BPS = 8_000;
/** Fastest rate: 100 Gbit/s, within what tc-netem and the helper (1 Tbit/s) both apply and
 *  beyond any veth path here. */
export const MAX_RATE_BPS = 100e9;
const RATE_HELP = 'expected a rate from 8kbit to 100gbit: bit/s as a number (20000000) or a string such as "20mbit", "1.5gbit", "800kbit"';

/** Parses "20mbit", "1.5Gbit", "800kbit", "20000000" or a number (bit/s), within
 *  MIN_RATE_BPS..MAX_RATE_BPS (so never Infinity, never a rate that rounds to "unlimited"). */
export const RateSchema = z.union([z.number(), z.string()], { error: RATE_HELP }).transform((x, ctx) => {
  let v = NaN;
  if (typeof x === 'number') v = x;
  else {
    const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(bit|kbit|mbit|gbit)?(?:\/s|ps)?\s*$/i.exec(x);
    const mult: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
    if (m) v = Number(m[1]) * mult[(m[2] ?? 'bit').toLowerCase()]!;
  }
  if (!(Number.isFinite(v) && v >= MIN_RATE_BPS && v <= MAX_RATE_BPS)) {
    ctx.addIssue({ code: 'custom', message: `${RATE_HELP}; got ${typeof x === 'number' ? x : JSON.stringify(x)}` });
    return z.NEVER;
  }
  return v;
});

/** Per-direction settings; every key is optional so uplink/downlink can override the shared ones. */
export const LinkSchema = z
  .object({
    delay_ms: z.number().min(0).max(60_000).optional().describe('one-way delay added in this direction, ms'),
    jitter_ms: z.number().min(0).max(60_000).optional().describe('delay variation, ms (uniform: +-jitter; normal: sigma)'),
    jitter_distribution: z.enum(['uniform', 'normal']).optional(),
    loss_pct: z.number().min(0).max(100).optional().describe('independent random loss, percent'),
    loss_ge: GeLossSchema.optional().describe('Gilbert-Elliott burst loss (netem gemodel semantics)'),
    rate_bps: RateSchema.optional().describe('bottleneck rate, bit/s, 8kbit to 100gbit (number or "20mbit")'),
    queue_packets: z.number().int().min(1).max(1_000_000).optional().describe('tail-drop queue limit in packets in front of the rate limiter'),
    reorder: z.boolean().optional().describe('allow jitter to reorder packets (default false: release in arrival order)'),
    trace: z
      .string()
      .min(1)
      .max(400)
      .optional()
      .describe('packet-delivery trace instead of rate_bps (Mahimahi format: one line per 1500-byte delivery opportunity, a whole number of ms, non-decreasing; loops with period = the last line). A path relative to the scenario file, else a file in netem/traces/ (e.g. step-12-3.trace)'),
    queue_bytes: z.number().int().min(1500).max(10_000_000_000).optional().describe('tail-drop queue limit in bytes (IP bytes queued in front of the rate limiter or trace); needs rate_bps or trace'),
    queue_ms: z.number().positive().max(60_000).optional().describe('tail-drop queue limit in time: an arriving packet is dropped when it would wait longer than this before the link takes it; needs rate_bps or trace'),
    aqm: AqmSchema.optional().describe('active queue management at the queue: none (tail drop, default) or codel (target 5 ms, interval 100 ms unless given as {kind: codel, target_ms, interval_ms}); needs rate_bps or trace'),
    reorder_pct: z.number().min(0).max(100).optional().describe('reordering knob (netem "reorder P gap G"): percent of packets that skip the delay line and so overtake packets sent up to delay_ms before them; needs delay_ms > 0'),
    reorder_gap: z.number().int().min(1).max(1_000_000).optional().describe('with reorder_pct: only a packet after gap-1 normally delayed ones may skip (default 1: any packet)'),
    loss_burst: BurstLossSchema.optional().describe('time-based burst loss: bursts in ms (mean good and bad durations), not in packets'),
  })
  .strict();

/** Latest outage start/end, s: a cell lasts at most an hour (timeouts.cell_s). */
export const MAX_OUTAGE_S = 3600;

export const OutageSchema = z
  .object({
    // at most a cell's longest duration (timeouts.cell_s <= 3600); the runner's timers
    // cannot take more than 2^31 ms and would fire at once
    from_s: z.number().min(0).max(MAX_OUTAGE_S).describe('seconds after the cell starts'),
    to_s: z.number().positive().max(MAX_OUTAGE_S),
    direction: z.enum(['uplink', 'downlink', 'both']).default('both'),
  })
  .strict()
  .refine((o) => o.to_s > o.from_s, { message: 'to_s must be greater than from_s', path: ['to_s'] });

/** A preset name (netem/presets.ts); anything else is answered with the list of names. */
export const PresetNameSchema = z.enum(PRESET_NAMES, {
  error: (iss) => `unknown preset ${JSON.stringify(iss.input)}: expected one of ${PRESET_NAMES.join(', ')} (holbench presets shows their values and sources)`,
});

export const NetworkSchema = LinkSchema.extend({
  preset: PresetNameSchema.optional().describe('a published connectivity profile (holbench presets lists them); the fields set here override it'),
  uplink: LinkSchema.optional().describe('client -> server overrides'),
  downlink: LinkSchema.optional().describe('server -> client overrides'),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  outages: z.array(OutageSchema).optional(),
}).strict();

export type NetworkInput = z.input<typeof NetworkSchema>;

export type LossModel =
  | { kind: 'none' }
  | { kind: 'random'; pct: number }
  | { kind: 'ge'; p: number; r: number; oneMinusH: number; oneMinusK: number }
  | { kind: 'burst'; meanGoodMs: number; meanBadMs: number; lossInBadPct: number; lossInGoodPct: number };

export interface Codel {
  kind: 'codel';
  targetMs: number;
  intervalMs: number;
}

/** CoDel's defaults (RFC 8289 section 4.2) */
export const CODEL_TARGET_MS = 5;
export const CODEL_INTERVAL_MS = 100;

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
  // The fields below are optional so that hand-built links (tests, reports) stay valid;
  // normalizeProfile always sets them. Absent = off.
  /** delivery trace replacing rateBps (null = none) */
  trace?: Trace | null;
  /** tail-drop limit in bytes, null = none */
  queueBytes?: number | null;
  /** tail-drop limit in predicted wait, ms, null = none */
  queueMs?: number | null;
  /** AQM at dequeue, null = tail drop only */
  aqm?: Codel | null;
  /** reorder knob: percent of packets that skip the delay line (0 = off), and netem's gap (default 1) */
  reorderPct?: number;
  reorderGap?: number;
}

export type Direction = 'uplink' | 'downlink';

export interface Outage {
  fromS: number;
  toS: number;
  direction: Direction | 'both';
}

/** Which preset a profile started from (provenance: netem/presets.ts). */
export interface PresetRef {
  name: PresetName;
  tool: string;
  url: string;
  retrieved: string;
}

export interface NetworkProfile {
  /** set when the profile started from `network.preset` */
  preset?: PresetRef;
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
  if (l.loss_burst !== undefined && (l.loss_pct !== undefined || l.loss_ge !== undefined)) {
    issues.push({ path: `${path}.loss_burst`, message: `set one loss model: loss_burst, or ${l.loss_pct !== undefined ? 'loss_pct' : 'loss_ge'}, not both` });
  }
  if (l.loss_burst) {
    const b = l.loss_burst;
    return { kind: 'burst', meanGoodMs: b.mean_good_ms, meanBadMs: b.mean_bad_ms, lossInBadPct: b.loss_in_bad_pct ?? 100, lossInGoodPct: b.loss_in_good_pct ?? 0 };
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
export function normalizeProfile(input: z.output<typeof NetworkSchema>, pathPrefix = 'network', opts: ProfileOptions = {}): NetworkProfile {
  const issues: { path: string; message: string }[] = [];
  const { uplink, downlink, seed, outages: given, preset, ...shared } = input;
  // a preset is the bottom layer: its per-direction values, then the shared fields, then the
  // uplink/downlink fields of the scenario (a loss kind given above replaces the preset's)
  const base = preset ? presetNetwork(preset) : null;
  const outages = given ?? base?.outages;
  const merged = (dir: Direction, over: LinkInput | undefined): LinkImpairment => {
    const fromPreset: LinkInput = base ? { ...base[dir] } : {};
    if ((shared.loss_ge ?? over?.loss_ge) !== undefined) delete fromPreset.loss_pct;
    const l: LinkInput = { ...fromPreset, ...shared, ...(over ?? {}) };
    // an override of one loss kind replaces the other shared kind
    if (over?.loss_ge !== undefined && over.loss_pct === undefined) delete l.loss_pct;
    if (over?.loss_pct !== undefined && over.loss_ge === undefined) delete l.loss_ge;
    if ((over?.loss_ge !== undefined || over?.loss_pct !== undefined) && over.loss_burst === undefined) delete l.loss_burst;
    if (over?.loss_burst !== undefined) {
      if (over.loss_pct === undefined) delete l.loss_pct;
      if (over.loss_ge === undefined) delete l.loss_ge;
    }
    // and a rate replaces a shared trace (and the other way round)
    if (over?.rate_bps !== undefined && over.trace === undefined) delete l.trace;
    if (over?.trace !== undefined && over.rate_bps === undefined) delete l.rate_bps;
    const at = (key: string) => `${over && key in over ? `${pathPrefix}.${dir}` : pathPrefix}.${key}`;
    return {
      delayMs: l.delay_ms ?? 0,
      jitterMs: l.jitter_ms ?? 0,
      jitterDist: l.jitter_distribution ?? 'uniform',
      loss: lossOf(l, over ? `${pathPrefix}.${dir}` : pathPrefix, issues),
      rateBps: l.rate_bps ?? null,
      queuePackets: l.queue_packets ?? 0, // 0 = fill in below
      reorder: l.reorder ?? false,
      ...queueAndTrace(l, at, issues, opts),
    };
  };
  const up = merged('uplink', uplink);
  const down = merged('downlink', downlink);
  const rttMs = up.delayMs + down.delayMs + up.jitterMs + down.jitterMs;
  for (const l of [up, down]) {
    if (l.queuePackets === 0) {
      // Default queue: at least the path's BDP (so the queue never caps throughput), never under 100.
      const bps = l.rateBps ?? l.trace?.meanRateBps ?? null;
      l.queuePackets = bps ? Math.max(100, 2 * bdpPackets(bps, Math.max(rttMs, 1))) : 1000;
    }
  }
  // a shared problem (both loss kinds in `network`) shows up once per direction: report it once
  if (issues.length) throw new ProfileError(issues.filter((i, n) => issues.findIndex((j) => j.path === i.path && j.message === i.message) === n));
  const ref = preset ? { preset: { name: preset, tool: PRESET_TABLE[preset].source.tool, url: PRESET_TABLE[preset].source.url, retrieved: PRESET_TABLE[preset].source.retrieved } } : {};
  return { ...ref, uplink: up, downlink: down, seed: seed ?? 1, outages: (outages ?? []).map((o) => ({ fromS: o.from_s, toS: o.to_s, direction: o.direction })) };
}

export interface ProfileOptions {
  /** folder that relative trace paths are resolved against first (the scenario file's) */
  baseDir?: string;
}

/** The trace, queue-limit, AQM and reorder-knob fields of one direction, checked together. */
function queueAndTrace(l: LinkInput, at: (key: string) => string, issues: { path: string; message: string }[], opts: ProfileOptions) {
  let trace: Trace | null = null;
  if (l.trace !== undefined) {
    if (l.rate_bps !== undefined) issues.push({ path: at('trace'), message: 'set either rate_bps or trace, not both (a trace sets the rate)' });
    try {
      trace = loadTrace(l.trace, opts.baseDir);
    } catch (e) {
      if (!(e instanceof TraceError)) throw e;
      issues.push({ path: at('trace'), message: e.message });
    }
  }
  const link = l.rate_bps !== undefined || l.trace !== undefined;
  for (const key of ['queue_bytes', 'queue_ms', 'aqm'] as const) {
    if (l[key] !== undefined && l[key] !== 'none' && !link) {
      issues.push({ path: at(key), message: `${key} needs rate_bps or trace: without a bottleneck nothing queues` });
    }
  }
  let aqm: Codel | null = null;
  if (l.aqm !== undefined && l.aqm !== 'none') {
    const a: { target_ms?: number; interval_ms?: number } = typeof l.aqm === 'string' ? {} : l.aqm;
    aqm = { kind: 'codel', targetMs: a.target_ms ?? CODEL_TARGET_MS, intervalMs: a.interval_ms ?? CODEL_INTERVAL_MS };
    if (aqm.targetMs >= aqm.intervalMs) issues.push({ path: at('aqm'), message: `codel target_ms (${aqm.targetMs}) must be below interval_ms (${aqm.intervalMs})` });
  }
  const reorderPct = l.reorder_pct ?? 0;
  if (reorderPct > 0 && !(l.delay_ms && l.delay_ms > 0)) {
    issues.push({ path: at('reorder_pct'), message: 'reorder_pct needs delay_ms > 0: a reordered packet skips the delay line, so without a delay nothing can be overtaken' });
  }
  return { trace, queueBytes: l.queue_bytes ?? null, queueMs: l.queue_ms ?? null, aqm, reorderPct, reorderGap: l.reorder_gap ?? 1 };
}

type Issue = z.core.$ZodIssue;

/** zod issues as {path, message}, with unknown keys reported at their own path and a
 *  union's failure reported by the branch that got furthest (see unionIssues). */
export function issuesOf(err: z.ZodError | { issues: Issue[] }, prefix: (string | number)[]): { path: (string | number)[]; message: string }[] {
  return flatIssues(err.issues, prefix);
}

function flatIssues(issues: readonly Issue[], prefix: (string | number)[]): { path: (string | number)[]; message: string }[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path.map((k) => (typeof k === 'symbol' ? String(k) : k))];
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: [...path, k], message: 'unknown key' }));
    if (i.code === 'invalid_union') return unionIssues(i, path);
    return [{ path, message: i.message }];
  });
}

/** A union that no branch accepted. zod answers a bare "Invalid input"; instead: a branch
 *  whose type matched failed on something specific (a range, a pattern, a key), so report
 *  that branch's issues (the deepest; a custom message before "Invalid option"); if no
 *  branch's type matched, the union's own message when it has one, else every type it takes. */
function unionIssues(i: Extract<Issue, { code: 'invalid_union' }>, path: (string | number)[]): { path: (string | number)[]; message: string }[] {
  const branches = i.errors.filter((b) => b.length && !b.every((x) => x.code === 'invalid_type' && x.path.length === 0));
  const score = (b: readonly Issue[]) => Math.max(...b.map((x) => x.path.length)) * 2 + (b.some((x) => x.code !== 'invalid_value') ? 1 : 0);
  const best = branches.reduce<readonly Issue[] | null>((a, b) => (a === null || score(b) > score(a) ? b : a), null);
  if (best) return flatIssues(best, path);
  if (i.message !== 'Invalid input' || !i.errors.length) return [{ path, message: i.message }];
  const expected = [...new Set(i.errors.flat().map((x) => (x.code === 'invalid_type' ? x.expected : null)).filter(Boolean))];
  const received = /received (.+)$/.exec(i.errors[0]?.[0]?.message ?? '')?.[1];
  return [{ path, message: `Invalid input: expected ${expected.join(' or ')}${received ? `, received ${received}` : ''}` }];
}

/** Validate + normalize in one step; throws ProfileError naming every bad field. */
export function parseProfile(raw: unknown, pathPrefix = 'network', opts: ProfileOptions = {}): NetworkProfile {
  const r = NetworkSchema.safeParse(raw);
  if (!r.success) {
    throw new ProfileError(issuesOf(r.error, [pathPrefix]).map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return normalizeProfile(r.data, pathPrefix, opts);
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
  if (l.kind === 'burst') {
    const piBad = l.meanBadMs / (l.meanBadMs + l.meanGoodMs);
    return (piBad * l.lossInBadPct + (1 - piBad) * l.lossInGoodPct) / 100;
  }
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
    if (l.loss.kind === 'burst') parts.push(`burst loss ${l.loss.meanBadMs}ms every ~${l.loss.meanGoodMs}ms`);
    if (l.rateBps) parts.push(`${+(l.rateBps / 1e6).toFixed(3)} Mbit/s`);
    if (l.trace) parts.push(`trace ${l.trace.name} (mean ${+(l.trace.meanRateBps / 1e6).toFixed(3)} Mbit/s)`);
    if (l.aqm) parts.push('codel');
    if (l.reorderPct) parts.push(`${l.reorderPct}% reorder`);
    return parts.join(', ');
  };
  const u = d(p.uplink);
  const dn = d(p.downlink);
  const from = p.preset ? `preset ${p.preset.name}: ` : '';
  return from + (u === dn ? `${u} each way (RTT ${baseRttMs(p)} ms)` : `up ${u}; down ${dn} (RTT ${baseRttMs(p)} ms)`);
}
