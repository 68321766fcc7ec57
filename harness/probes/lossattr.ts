// Loss -> stall attribution (README "Which loss stalled which streams"), transport-neutral
// arithmetic over holcore's per-byte times (hol.ts feeds it from a capture).
//
// 1. Holes. In a transport byte space (TCP: a connection's server-to-client bytes; QUIC: one
//    stream's offsets) a byte is late when some byte after it arrived earlier: its first
//    transmission never reached the client. A run of consecutive late bytes that arrived
//    together (one repair packet) is a hole: [from, to), filled at fillMs, visible from
//    gapMs (the first arrival of any byte after it: the packet that overtook the loss).
// 2. Waits -> holes (exact). Every wait holcore counts ends at s (self) or o (cross), the
//    arrival of one byte (sBy / oBy): the wait is blamed on the hole holding that byte, or
//    on no loss when that byte is not late (the rest of a TLS record still in flight).
// 3. Holes -> drops (heuristic; the drop log names the connection, not the bytes). The
//    packet that revealed the gap entered the router after the dropped one, then queued
//    (0..maxQueueMs), crossed the delay (delayMs +- jitterMs) and arrived at gapMs. So the
//    drop lies in [gapMs - delay - jitter - maxQueue, gapMs - delay + jitter] on the same
//    client port; per connection, holes in gap order (nearest-to-the-gap first within one
//    gap: a burst) take the latest unused drop in their window. A hole without one keeps its
//    own estimated loss time (gapMs - delayMs): the netem backend has no drop log, and then
//    every loss row comes from the capture. Drops that match no hole (uplink: requests and
//    ACKs; lost retransmissions; tail losses nothing overtook) are rows with 0 streams.
import { unionMs, type StreamTimes } from './holcore.ts';

export interface Hole {
  space: string;
  from: number;
  to: number;
  fillMs: number;
  gapMs: number;
}

/** Holes of one byte space from its per-byte first arrival (wall ms; Infinity = never). */
export function findHoles(space: string, arr: Float64Array): Hole[] {
  const n = arr.length;
  // sm[q] = earliest arrival among bytes after q
  const sm = new Float64Array(n);
  let m = Infinity;
  for (let q = n - 1; q >= 0; q--) {
    sm[q] = m;
    m = Math.min(m, arr[q]!);
  }
  const holes: Hole[] = [];
  for (let q = 0; q < n; ) {
    if (!(arr[q]! > sm[q]!)) {
      q++;
      continue;
    }
    const from = q;
    const t = arr[q]!;
    while (q < n && arr[q] === t && arr[q]! > sm[q]!) q++;
    holes.push({ space, from, to: q, fillMs: t, gapMs: sm[q - 1]! });
  }
  return holes;
}

/** The hole of `space` containing position `pos`, by binary search over holes sorted by from. */
function holeAt(sorted: Hole[], pos: number): Hole | undefined {
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const h = sorted[mid]!;
    if (pos < h.from) hi = mid - 1;
    else if (pos >= h.to) lo = mid + 1;
    else return h;
  }
  return undefined;
}

/** What each hole blocked: per stream key, the wait intervals (self and cross) it caused. */
export interface Blocked {
  self: Map<string, [number, number][]>;
  cross: Map<string, [number, number][]>;
}

/** Blame every wait of every stream on the hole holding the byte it waited for (header, 2). */
export function blame(streams: StreamTimes[], holes: Hole[]): Map<Hole, Blocked> {
  const bySpace = new Map<string, Hole[]>();
  for (const h of holes) (bySpace.get(h.space) ?? bySpace.set(h.space, []).get(h.space)!).push(h);
  for (const l of bySpace.values()) l.sort((x, y) => x.from - y.from);
  const out = new Map<Hole, Blocked>();
  const add = (h: Hole | undefined, kind: 'self' | 'cross', key: string, iv: [number, number]) => {
    if (!h) return;
    let b = out.get(h);
    if (!b) out.set(h, (b = { self: new Map(), cross: new Map() }));
    (b[kind].get(key) ?? b[kind].set(key, []).get(key)!).push(iv);
  };
  for (const st of streams) {
    const list = st.space === undefined ? undefined : bySpace.get(st.space);
    if (!list || !st.sBy || !st.oBy) continue;
    let last = '';
    for (let i = 0; i < st.a.length; i++) {
      const a = st.a[i]!, s = st.s[i]!, o = st.o[i]!, d = st.d[i]!;
      if (!Number.isFinite(d) || !Number.isFinite(a)) continue;
      const sig = `${a}|${s}|${o}|${d}|${st.sBy[i]}|${st.oBy[i]}`;
      if (sig === last) continue;
      last = sig;
      const selfEnd = Math.min(s, d);
      if (selfEnd > a) add(holeAt(list, st.sBy[i]!), 'self', st.key, [a, selfEnd]);
      const crossStart = Math.max(a, s);
      const crossEnd = Math.min(o, d);
      if (crossEnd > crossStart) add(holeAt(list, st.oBy[i]!), 'cross', st.key, [crossStart, crossEnd]);
    }
  }
  return out;
}

export interface DropIn {
  /** wall ms at the router */
  tMs: number;
  direction: 'uplink' | 'downlink';
  /** the client's port of the dropped packet's connection */
  clientPort: number;
}

export interface LinkOptions {
  delayMs: number;
  jitterMs: number;
  /** the longest a packet can wait in the router's queue before the delay, ms */
  maxQueueMs: number;
}

/** Link each hole to a downlink drop on its connection (header, 3); undefined = no drop in
 *  its window. `portOf(space)` is the client port of the space's connection. */
export function linkDrops(holes: Hole[], portOf: (space: string) => number, drops: DropIn[], o: LinkOptions): Map<Hole, number | undefined> {
  const link = new Map<Hole, number | undefined>();
  const used = new Set<number>();
  const byPort = new Map<number, number[]>();
  drops.forEach((d, i) => {
    if (d.direction !== 'downlink') return;
    (byPort.get(d.clientPort) ?? byPort.set(d.clientPort, []).get(d.clientPort)!).push(i);
  });
  for (const l of byPort.values()) l.sort((x, y) => drops[x]!.tMs - drops[y]!.tMs);
  const order = [...holes].sort((x, y) => x.gapMs - y.gapMs || y.from - x.from);
  for (const h of order) {
    const cand = byPort.get(portOf(h.space)) ?? [];
    const hi = h.gapMs - o.delayMs + o.jitterMs;
    const lo = h.gapMs - o.delayMs - o.jitterMs - o.maxQueueMs;
    let pick: number | undefined;
    for (const i of cand) {
      const t = drops[i]!.tMs;
      if (t > hi) break;
      if (t >= lo && !used.has(i)) pick = i;
    }
    if (pick !== undefined) used.add(pick);
    link.set(h, pick);
  }
  return link;
}

/** One loss: a drop (with the holes linked to it) or a hole no drop explains. */
export interface LossRow {
  source: 'drop' | 'capture';
  /** wall ms: the drop's time at the router, or (capture) gapMs - delayMs */
  tMs: number;
  direction: 'uplink' | 'downlink';
  clientPort: number;
  holes: number;
  streams_stalled: number;
  /** per stream: the union of the time it held received bytes because of this loss */
  blocked_ms_total: number;
  blocked_ms_max: number;
  /** the part of blocked_ms_total spent waiting for another stream's bytes */
  cross_ms_total: number;
  /** streams held (for at least a moment) by another stream's missing bytes */
  cross_streams: number;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Per-stream blocked time of a set of holes: union of self and cross waits per stream. */
function sumBlocked(list: Blocked[]): Omit<LossRow, 'source' | 'tMs' | 'direction' | 'clientPort' | 'holes'> {
  const all = new Map<string, [number, number][]>();
  const cross = new Map<string, [number, number][]>();
  for (const b of list) {
    for (const [k, iv] of b.self) (all.get(k) ?? all.set(k, []).get(k)!).push(...iv);
    for (const [k, iv] of b.cross) {
      (all.get(k) ?? all.set(k, []).get(k)!).push(...iv);
      (cross.get(k) ?? cross.set(k, []).get(k)!).push(...iv);
    }
  }
  let total = 0, max = 0, crossTotal = 0, streams = 0;
  for (const iv of all.values()) {
    const u = unionMs(iv.map((x) => [x[0], x[1]] as [number, number]));
    if (u <= 0) continue;
    streams++;
    total += u;
    max = Math.max(max, u);
  }
  for (const iv of cross.values()) crossTotal += unionMs(iv.map((x) => [x[0], x[1]] as [number, number]));
  return { streams_stalled: streams, blocked_ms_total: r3(total), blocked_ms_max: r3(max), cross_ms_total: r3(crossTotal), cross_streams: [...cross.values()].filter((iv) => unionMs([...iv]) > 0).length };
}

/** Every loss of a job with what it blocked: one row per drop (time order), then one per
 *  hole no drop explains. */
export function lossRows(streams: StreamTimes[], holes: Hole[], portOf: (space: string) => number, drops: DropIn[], o: LinkOptions): LossRow[] {
  const blocked = blame(streams, holes);
  const link = linkDrops(holes, portOf, drops, o);
  const perDrop = new Map<number, Hole[]>();
  const orphan: Hole[] = [];
  for (const h of holes) {
    const i = link.get(h);
    if (i === undefined) orphan.push(h);
    else (perDrop.get(i) ?? perDrop.set(i, []).get(i)!).push(h);
  }
  const none: Blocked = { self: new Map(), cross: new Map() };
  const rows: LossRow[] = drops
    .map((d, i) => ({ d, hs: perDrop.get(i) ?? [] }))
    .sort((x, y) => x.d.tMs - y.d.tMs)
    .map(({ d, hs }) => ({ source: 'drop' as const, tMs: d.tMs, direction: d.direction, clientPort: d.clientPort, holes: hs.length, ...sumBlocked(hs.map((h) => blocked.get(h) ?? none)) }));
  for (const h of orphan.sort((x, y) => x.gapMs - y.gapMs)) {
    rows.push({ source: 'capture', tMs: h.gapMs - o.delayMs, direction: 'downlink', clientPort: portOf(h.space), holes: 1, ...sumBlocked([blocked.get(h) ?? none]) });
  }
  return rows;
}

/** How much of a job's waiting the holes explain: per stream, the union of all its waits
 *  (self and cross) and of those blamed on a hole, summed over streams, ms. */
export function coverage(streams: StreamTimes[], holes: Hole[]): { waited_ms: number; blamed_ms: number } {
  const per = new Map<string, [number, number][]>();
  for (const b of blame(streams, holes).values()) {
    for (const m of [b.self, b.cross]) for (const [k, iv] of m) (per.get(k) ?? per.set(k, []).get(k)!).push(...iv);
  }
  let blamed = 0;
  for (const iv of per.values()) blamed += unionMs(iv);
  let waited = 0;
  for (const st of streams) {
    const iv: [number, number][] = [];
    let last = '';
    for (let i = 0; i < st.a.length; i++) {
      const a = st.a[i]!, s = st.s[i]!, o = st.o[i]!, d = st.d[i]!;
      if (!Number.isFinite(d) || !Number.isFinite(a)) continue;
      const sig = `${a}|${s}|${o}|${d}`;
      if (sig === last) continue;
      last = sig;
      if (Math.min(s, d) > a) iv.push([a, Math.min(s, d)]);
      if (Math.min(o, d) > Math.max(a, s)) iv.push([Math.max(a, s), Math.min(o, d)]);
    }
    waited += unionMs(iv);
  }
  return { waited_ms: r3(waited), blamed_ms: r3(blamed) };
}
