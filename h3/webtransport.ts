// WebTransport over HTTP/3 (draft-ietf-webtrans-http3; the draft02 wire format Chromium
// speaks, which later drafts keep for streams and datagrams) on our h3/ session:
//  - SETTINGS: ENABLE_CONNECT_PROTOCOL (RFC 9220), H3_DATAGRAM (RFC 9297), and both
//    WebTransport settings (draft02 ENABLE_WEBTRANSPORT, draft07 MAX_SESSIONS), so a peer
//    speaking either draft finds its own;
//  - a session is an extended CONNECT request (:protocol webtransport) answered 2xx; its id is
//    the CONNECT stream's id; the stream stays open for the session's life (FIN = closed);
//  - bidirectional streams begin with varint 0x41 + session id, unidirectional streams with
//    stream type 0x54 + session id;
//  - datagrams (RFC 9297) are QUIC DATAGRAM frames: varint(session id / 4) + payload. They
//    are sent once and never retransmitted; one that does not fit is dropped.
// Capsules on the CONNECT stream (CLOSE_WEBTRANSPORT_SESSION...) are skipped: they parse as
// unknown HTTP/3 frames, which the frame reader discards.
import { H3Code } from './errors.ts';
import { Setting } from './frames.ts';
import type { QuicConn } from './quic.ts';
import type { BidiHandler } from './session.ts';
import { encodeVarint, readVarint, varintLen } from './varint.ts';

export const WT_BIDI_SIGNAL = 0x41;
export const WT_UNI_STREAM_TYPE = 0x54;
/** The response header a draft02 client (Chromium) requires on the 2xx. */
export const WT_DRAFT_HEADER: [string, string] = ['sec-webtransport-http3-draft', 'draft02'];
/** Sessions one connection may carry (what we announce). */
export const WT_MAX_SESSIONS = 16;
/** WebTransport streams buffered per connection while their session is not known yet (the
 *  CONNECT may be read after a stream that refers to it). */
const MAX_PENDING_STREAMS = 64;
/** WebTransport application error codes map into this HTTP/3 range (draft section 4.4). */
const WT_APP_ERROR_FIRST = 0x52e4a40fa8db;
/** Datagrams kept per connection for a session not known yet (a client learns its session id
 *  from the 2xx, which a server's first datagrams may overtake) or before a listener is set. */
const MAX_PENDING_DATAGRAMS = 256;

/** SETTINGS an endpoint speaking WebTransport sends. */
export function wtSettings(): [number, number][] {
  return [
    [Setting.ENABLE_CONNECT_PROTOCOL, 1],
    [Setting.H3_DATAGRAM, 1],
    [Setting.WEBTRANSPORT_ENABLE_DRAFT02, 1],
    [Setting.WEBTRANSPORT_MAX_SESSIONS_DRAFT07, WT_MAX_SESSIONS],
  ];
}

/** What the peer's SETTINGS lack for WebTransport (empty: everything is there). */
export function wtMissingSettings(s: Map<number, number>): string[] {
  const miss: string[] = [];
  if (s.get(Setting.ENABLE_CONNECT_PROTOCOL) !== 1) miss.push('SETTINGS_ENABLE_CONNECT_PROTOCOL');
  if (s.get(Setting.H3_DATAGRAM) !== 1) miss.push('SETTINGS_H3_DATAGRAM');
  if (s.get(Setting.WEBTRANSPORT_ENABLE_DRAFT02) !== 1 && !(s.get(Setting.WEBTRANSPORT_MAX_SESSIONS_DRAFT07)! > 0)) miss.push('SETTINGS_ENABLE_WEBTRANSPORT / SETTINGS_WEBTRANSPORT_MAX_SESSIONS');
  return miss;
}

/** RFC 9297 datagram payload: quarter stream id + the session's payload. */
export function encodeH3Datagram(streamId: number, payload: Buffer): Buffer {
  return Buffer.concat([encodeVarint(streamId / 4), payload]);
}

/** The request stream id and payload of an HTTP/3 datagram; null when malformed. */
export function decodeH3Datagram(d: Buffer): { streamId: number; payload: Buffer } | null {
  const q = readVarint(d, 0);
  if (q < 0) return null;
  return { streamId: q * 4, payload: d.subarray(varintLen(d[0]!)) };
}

/** The first bytes of a WebTransport stream: signal/type + session id. */
export function wtStreamHeader(kind: 'bidi' | 'uni', sessionId: number): Buffer {
  return Buffer.concat([encodeVarint(kind === 'bidi' ? WT_BIDI_SIGNAL : WT_UNI_STREAM_TYPE), encodeVarint(sessionId)]);
}

/** One WebTransport stream. Data arrives on onData, then onFin (or onReset). */
export class WtStream {
  onData: ((chunk: Buffer) => void) | null = null;
  onFin: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  private ended = false;
  /** what arrived before a listener was set */
  private early: Buffer[] = [];
  private earlyEnd: { fin: true } | { reset: number } | null = null;

  constructor(
    readonly id: number,
    readonly kind: 'bidi' | 'uni',
    private readonly conn: QuicConn,
  ) {}

  /** Set the listeners; what arrived earlier is delivered now. */
  listen(l: { data?: (c: Buffer) => void; fin?: () => void; reset?: (code: number) => void }): void {
    this.onData = l.data ?? null;
    this.onFin = l.fin ?? null;
    this.onReset = l.reset ?? null;
    for (const c of this.early.splice(0)) this.onData?.(c);
    const e = this.earlyEnd;
    this.earlyEnd = null;
    if (e && 'fin' in e) this.onFin?.();
    else if (e) this.onReset?.(e.reset);
  }

  /** Queue bytes (bidi streams and our own uni streams). */
  write(data: Buffer, fin = false): void {
    if (this.ended) return;
    if (fin) this.ended = true;
    this.conn.write(this.id, [data], fin);
  }

  end(): void {
    this.write(Buffer.alloc(0), true);
  }

  /** Abort both directions (WebTransport error code 0). */
  reset(): void {
    this.ended = true;
    this.conn.resetStream(this.id, WT_APP_ERROR_FIRST);
  }

  /** @internal */
  deliver(c: Buffer): void {
    if (this.onData) this.onData(c);
    else this.early.push(c);
  }
  /** @internal */
  finished(): void {
    if (this.onData || this.onFin) this.onFin?.();
    else this.earlyEnd = { fin: true };
  }
  /** @internal */
  wasReset(code: number): void {
    if (this.onData || this.onReset) this.onReset?.(code);
    else this.earlyEnd = { reset: code };
  }
}

/** What a registry needs from its HTTP/3 session. */
export interface WtHost {
  conn: QuicConn;
  /** open our next uni stream with these bytes; null without stream credit */
  tryOpenUni(data: Buffer, fin: boolean): number | null;
  /** client: open our next bidi stream with these bytes and route it to `h`; null without credit */
  tryOpenBidi?(data: Buffer, h: BidiHandler): number | null;
}

/** One WebTransport session. */
export class WtSession {
  /** a datagram for this session arrived */
  ondatagram: ((payload: Buffer) => void) | null = null;
  /** the peer opened a stream in this session */
  onstream: ((s: WtStream) => void) | null = null;
  /** the session is over: null = closed cleanly (a FIN on the CONNECT stream) */
  onclose: ((err: Error | null) => void) | null = null;
  closed = false;
  datagramsSent = 0;
  /** datagrams that could not be queued (too large, quiche's queue full) */
  datagramsDropped = 0;
  private pending: WtStream[] = [];
  private pendingDatagrams: Buffer[] = [];
  private closer: (() => void) | null = null;

  constructor(
    readonly id: number,
    private readonly reg: WtRegistry,
  ) {}

  /** Send one datagram; false when it was dropped before leaving (never retried). */
  sendDatagram(payload: Buffer): boolean {
    if (this.closed) return false;
    const ok = this.reg.host.conn.sendQuicDatagram(encodeH3Datagram(this.id, payload));
    if (ok) this.datagramsSent++;
    else this.datagramsDropped++;
    return ok;
  }

  /** The largest payload sendDatagram can take now (null: datagrams cannot be sent). */
  maxDatagramPayload(): number | null {
    const m = this.reg.host.conn.maxDatagramPayload();
    return m === null ? null : m - encodeH3Datagram(this.id, Buffer.alloc(0)).length;
  }

  /** Send `data` on a new unidirectional stream and finish it; waits for stream credit
   *  (in order) when the peer allows no more streams right now. */
  sendUni(data: Buffer): void {
    if (this.closed) return;
    this.reg.queueUni(Buffer.concat([wtStreamHeader('uni', this.id), data]));
  }

  /** Open a bidirectional stream (client side); null without stream credit. */
  openBidi(): WtStream | null {
    const host = this.reg.host;
    if (this.closed || !host.tryOpenBidi) return null;
    let s: WtStream | null = null;
    const id = host.tryOpenBidi(wtStreamHeader('bidi', this.id), {
      chunk: (d) => s!.deliver(d),
      fin: () => s!.finished(),
      reset: (code) => s!.wasReset(code),
      abort: () => s!.wasReset(H3Code.INTERNAL_ERROR),
    });
    if (id === null) return null;
    s = new WtStream(id, 'bidi', host.conn);
    return s;
  }

  /** Close the session (FIN on the CONNECT stream). */
  close(): void {
    if (this.closed) return;
    const c = this.closer;
    if (c) c();
    else this.reg.host.conn.write(this.id, [], true);
    this.ended(null);
  }

  private acceptedFns: (() => void)[] | null = [];

  /** `fn` runs once the session's 2xx is queued for sending (server side; at once if it
   *  was). Peers drop datagrams for a session they do not know yet (Chromium does), so a
   *  server starts sending a turn after this. */
  whenAccepted(fn: () => void): void {
    if (this.acceptedFns) this.acceptedFns.push(fn);
    else queueMicrotask(fn);
  }

  /** @internal the 2xx went into the CONNECT stream */
  accepted(): void {
    const fns = this.acceptedFns ?? [];
    this.acceptedFns = null;
    for (const f of fns) f();
  }

  /** @internal how close() ends the CONNECT stream (server: its response body's end) */
  setCloser(fn: () => void): void {
    this.closer = fn;
  }

  /** @internal the session is over */
  ended(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.reg.remove(this.id);
    this.onclose?.(err);
  }

  /** @internal */
  incoming(s: WtStream): void {
    if (this.onstream) this.onstream(s);
    else this.pending.push(s);
  }

  /** @internal */
  incomingDatagram(p: Buffer): void {
    if (this.ondatagram) this.ondatagram(p);
    else if (this.pendingDatagrams.length < MAX_PENDING_DATAGRAMS) this.pendingDatagrams.push(p);
  }

  /** Set the datagram listener; datagrams that arrived earlier are delivered now. */
  listenDatagrams(fn: (payload: Buffer) => void): void {
    this.ondatagram = fn;
    for (const d of this.pendingDatagrams.splice(0)) fn(d);
  }

  /** Set the stream listener; streams that arrived earlier are delivered now. */
  listenStreams(fn: (s: WtStream) => void): void {
    this.onstream = fn;
    for (const s of this.pending.splice(0)) fn(s);
  }
}

/** The WebTransport sessions of one HTTP/3 connection, and the routing of its streams and
 *  datagrams. Created by the client or server session that turns WebTransport on. */
export class WtRegistry {
  private sessions = new Map<number, WtSession>();
  /** streams whose session is not known yet, by session id */
  private orphans = new Map<number, WtStream[]>();
  private orphanCount = 0;
  private orphanDatagrams: { sessionId: number; payload: Buffer }[] = [];
  private uniQueue: Buffer[] = [];
  /** datagrams for no known session (dropped) */
  unroutedDatagrams = 0;

  constructor(readonly host: WtHost) {}

  settings(): [number, number][] {
    return wtSettings();
  }

  create(sessionId: number): WtSession {
    const s = new WtSession(sessionId, this);
    this.sessions.set(sessionId, s);
    const early = this.orphans.get(sessionId);
    if (early) {
      this.orphans.delete(sessionId);
      this.orphanCount -= early.length;
      for (const st of early) s.incoming(st);
    }
    if (this.orphanDatagrams.length) {
      const mine = this.orphanDatagrams.filter((d) => d.sessionId === sessionId);
      this.orphanDatagrams = this.orphanDatagrams.filter((d) => d.sessionId !== sessionId);
      for (const d of mine) s.incomingDatagram(d.payload);
    }
    return s;
  }

  get(sessionId: number): WtSession | undefined {
    return this.sessions.get(sessionId);
  }

  remove(sessionId: number): void {
    this.sessions.delete(sessionId);
  }

  get size(): number {
    return this.sessions.size;
  }

  onDatagram(d: Buffer): void {
    const x = decodeH3Datagram(d);
    if (!x) return void this.unroutedDatagrams++;
    const s = this.sessions.get(x.streamId);
    if (s) return s.incomingDatagram(x.payload);
    // a session not open yet (its 2xx or CONNECT may come later): keep a bounded few
    if (this.orphanDatagrams.length >= MAX_PENDING_DATAGRAMS) return void this.unroutedDatagrams++;
    this.orphanDatagrams.push({ sessionId: x.streamId, payload: x.payload });
  }

  private route(sessionId: number, st: WtStream): void {
    const s = this.sessions.get(sessionId);
    if (s) return s.incoming(st);
    if (this.orphanCount >= MAX_PENDING_STREAMS) return st.reset();
    this.orphanCount++;
    const l = this.orphans.get(sessionId) ?? [];
    l.push(st);
    this.orphans.set(sessionId, l);
  }

  /** A new peer bidi stream: a WebTransport stream if it begins with 0x41, else whatever
   *  `other()` makes of it (a request). Buffers until the first varints are complete. */
  sniffBidi(id: number, other: () => BidiHandler): BidiHandler {
    let pre: Buffer = Buffer.alloc(0);
    let target: BidiHandler | null = null;
    const decide = (): boolean => {
      const t = readVarint(pre, 0);
      if (t < 0) return false;
      if (t !== WT_BIDI_SIGNAL) {
        target = other();
        const p = pre;
        pre = Buffer.alloc(0);
        target.chunk(p);
        return true;
      }
      const off = varintLen(pre[0]!);
      const sid = readVarint(pre, off);
      if (sid < 0) return false;
      const st = new WtStream(id, 'bidi', this.host.conn);
      target = { chunk: (d) => st.deliver(d), fin: () => st.finished(), reset: (c) => st.wasReset(c), abort: () => st.wasReset(H3Code.INTERNAL_ERROR) };
      const rest = pre.subarray(off + varintLen(pre[off]!));
      pre = Buffer.alloc(0);
      this.route(sid, st);
      if (rest.length) st.deliver(Buffer.from(rest));
      return true;
    };
    const settle = () => (target ??= other());
    return {
      chunk: (d) => {
        if (target) return target.chunk(d);
        pre = pre.length ? Buffer.concat([pre, d]) : Buffer.from(d);
        decide();
      },
      fin: () => settle().fin(),
      reset: (c) => settle().reset(c),
      abort: (e) => settle().abort(e),
    };
  }

  /** A peer uni stream of type 0x54: the session id follows, then the data. */
  acceptUni(id: number): { data: (c: Buffer) => void; fin: () => void; reset: (code: number) => void } {
    let pre: Buffer = Buffer.alloc(0);
    let st: WtStream | null = null;
    return {
      data: (c) => {
        if (st) return st.deliver(c);
        pre = pre.length ? Buffer.concat([pre, c]) : Buffer.from(c);
        const sid = readVarint(pre, 0);
        if (sid < 0) return;
        st = new WtStream(id, 'uni', this.host.conn);
        const rest = pre.subarray(varintLen(pre[0]!));
        this.route(sid, st);
        if (rest.length) st.deliver(Buffer.from(rest));
      },
      fin: () => st?.finished(),
      reset: (code) => st?.wasReset(code),
    };
  }

  /** @internal queue a complete uni stream (header + data + FIN) */
  queueUni(data: Buffer): void {
    this.uniQueue.push(data);
    this.tick();
  }

  /** Open queued uni streams as stream credit allows (called once per flush). */
  tick(): void {
    while (this.uniQueue.length > 0) {
      if (this.host.tryOpenUni(this.uniQueue[0]!, true) === null) return;
      this.uniQueue.shift();
    }
  }

  /** The connection is gone: every session ends with `err`. */
  connectionClosed(err: Error): void {
    this.uniQueue = [];
    this.orphanDatagrams = [];
    for (const s of [...this.sessions.values()]) s.ended(err);
  }
}
