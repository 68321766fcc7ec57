// How a server shares one connection among the responses in flight: the scenario's
// `scheduling` (one discipline per cell), the RFC 9218 priority a response gets under it, and
// the write scheduler both multiplexing servers use to decide which response writes next.
//
//   sequential   one response at a time, in request (stream id) order: every response is
//                {urgency 3, non-incremental}
//   round-robin  fair interleaving: every response is {urgency 3, incremental}, so each one
//                writes one turn (TURN_BYTES, about one packet) and goes to the back
//   browser      what the client signals (RFC 9218): its Priority request header, overridden
//                by the last PRIORITY_UPDATE frame; absent or unparsable: {urgency 3,
//                non-incremental} (RFC 9218 section 4). The default: it is what a browser meets.
//
// The order among responses is RFC 9218's as quiche implements it (quiche 0.18,
// StreamPriorityKey): lower urgency first; at equal urgency non-incremental responses before
// incremental ones, non-incremental ones one after another by stream id, incremental ones in
// rotation. The h2 server (servers/h2-writer.ts) writes through a WriteScheduler one turn at a
// time; the h3 server feeds quiche through one (h3/quic.ts) and gives quiche the same
// priorities (streamPriority), so quiche's packet scheduler agrees with the feed.
import type { StreamScheduler } from '../h3/quic.ts';

export const SCHEDULINGS = ['sequential', 'round-robin', 'browser'] as const;
export type Scheduling = (typeof SCHEDULINGS)[number];
/** What a browser meets: servers honour the client's RFC 9218 signals. */
export const DEFAULT_SCHEDULING: Scheduling = 'browser';

export function isScheduling(s: unknown): s is Scheduling {
  return typeof s === 'string' && (SCHEDULINGS as readonly string[]).includes(s);
}

/** RFC 9218 priority parameters. */
export interface Priority {
  /** 0 (most urgent) .. 7 */
  urgency: number;
  /** may share bandwidth with other incremental responses of its urgency */
  incremental: boolean;
}

/** RFC 9218 section 4: u=3, not incremental. */
export const DEFAULT_PRIORITY: Readonly<Priority> = Object.freeze({ urgency: 3, incremental: false });

/**
 * Bytes a response writes per turn in rotation (incremental responses). About one packet's
 * payload on a 1500-byte-MTU path: quiche rotates incremental streams one STREAM frame (one
 * packet) at a time, and the h2 server writes DATA frames of this size, so a turn is the same
 * size on both.
 */
export const TURN_BYTES = 1400;

/**
 * Parse an RFC 9218 Priority field value (a Structured Fields dictionary: `u=1, i`). Members
 * other than u and i, parameters, and values out of range are ignored, as section 4 says; the
 * result starts from `base` (the defaults, or the header's value for a PRIORITY_UPDATE).
 */
export function parsePriority(value: string | undefined | null, base: Priority = DEFAULT_PRIORITY): Priority {
  const p = { ...base };
  if (!value) return p;
  for (const member of value.split(',')) {
    const [kv] = member.split(';', 1);
    const m = /^\s*([a-z*][a-z0-9_.*-]*)(?:=(\S*))?\s*$/.exec(kv ?? '');
    if (!m) continue;
    const [, key, v] = m;
    if (key === 'u') {
      if (v !== undefined && /^\d$/.test(v) && Number(v) <= 7) p.urgency = Number(v);
    } else if (key === 'i') {
      if (v === undefined || v === '?1') p.incremental = true;
      else if (v === '?0') p.incremental = false;
    }
  }
  return p;
}

/** Serialize like Chromium (quiche SerializePriorityFieldValue): defaults omitted; '' for the default. */
export function formatPriority(p: Priority): string {
  const parts: string[] = [];
  if (p.urgency !== DEFAULT_PRIORITY.urgency) parts.push(`u=${p.urgency}`);
  if (p.incremental !== DEFAULT_PRIORITY.incremental) parts.push('i');
  return parts.join(', ');
}

/**
 * The priority a response gets under `scheduling`. `header` is the request's Priority header,
 * `update` the last PRIORITY_UPDATE for its stream (null if none); both are used by `browser`
 * only. RFC 9218 section 7: a PRIORITY_UPDATE replaces what the header said.
 */
export function priorityFor(scheduling: Scheduling, header: string | undefined, update: string | null): Priority {
  switch (scheduling) {
    case 'sequential':
      return { urgency: DEFAULT_PRIORITY.urgency, incremental: false };
    case 'round-robin':
      return { urgency: DEFAULT_PRIORITY.urgency, incremental: true };
    case 'browser':
      return update !== null ? parsePriority(update) : parsePriority(header);
  }
}

interface Entry {
  id: number;
  p: Priority;
  /** position in the rotation of incremental responses (smaller goes first) */
  turn: number;
  /** bytes written in the current turn */
  used: number;
}

/**
 * Which response writes next on one connection. Not thread-aware, not timed: the caller asks
 * next() whenever it may write, writes at most allowance(id) bytes of that response, and
 * reports them with charge(). Cost is O(responses) per call (a connection has at most a few
 * hundred in flight).
 */
export class WriteScheduler implements StreamScheduler {
  private entries = new Map<number, Entry>();
  private turns = 0;

  constructor(readonly turnBytes = TURN_BYTES) {}

  get size(): number {
    return this.entries.size;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** A response with data to write (stream ids increase in request order). */
  add(id: number, p: Priority): void {
    if (this.entries.has(id)) return this.setPriority(id, p);
    this.entries.set(id, { id, p: { ...p }, turn: ++this.turns, used: 0 });
  }

  /** Reprioritize (PRIORITY_UPDATE); an incremental response joins the back of its rotation. */
  setPriority(id: number, p: Priority): void {
    const e = this.entries.get(id);
    if (!e || (e.p.urgency === p.urgency && e.p.incremental === p.incremental)) return;
    e.p = { ...p };
    e.turn = ++this.turns;
    e.used = 0;
  }

  priorityOf(id: number): Priority | null {
    const e = this.entries.get(id);
    return e ? { ...e.p } : null;
  }

  remove(id: number): void {
    this.entries.delete(id);
  }

  /** The response whose turn it is, among those `skip` does not exclude; null if none. */
  next(skip?: (id: number) => boolean): number | null {
    let best: Entry | null = null;
    for (const e of this.entries.values()) {
      if (skip?.(e.id)) continue;
      if (!best || before(e, best)) best = e;
    }
    return best ? best.id : null;
  }

  /** Bytes `id` may write in this turn: the rest of its turn if incremental, else unbounded. */
  allowance(id: number): number {
    const e = this.entries.get(id);
    if (!e) return 0;
    return e.p.incremental ? Math.max(1, this.turnBytes - e.used) : Infinity;
  }

  /** `id` wrote `bytes`; an incremental response whose turn is used up goes to the back. */
  charge(id: number, bytes: number): void {
    const e = this.entries.get(id);
    if (!e || !e.p.incremental) return;
    e.used += bytes;
    if (e.used >= this.turnBytes) {
      e.used = 0;
      e.turn = ++this.turns;
    }
  }
}

/** RFC 9218 order as quiche applies it. */
function before(a: Entry, b: Entry): boolean {
  if (a.p.urgency !== b.p.urgency) return a.p.urgency < b.p.urgency;
  if (a.p.incremental !== b.p.incremental) return !a.p.incremental;
  return a.p.incremental ? a.turn < b.turn : a.id < b.id;
}
