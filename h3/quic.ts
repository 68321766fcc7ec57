// A thin QUIC layer over the raw quiche binding. One UDP socket per endpoint; every datagram
// goes straight into recv(); the connection's work (reading streams, writing queued data,
// draining send()) happens once per event-loop turn in flush(), scheduled with setImmediate,
// so a burst of datagrams costs one pass, not one per datagram. One timer per connection,
// armed from quiche's timeout().
//
// Throughput is bounded by per-datagram cost (one sendmsg/recvmsg, one AEAD call, one quiche
// packet each: the binding has no sendmmsg/recvmmsg and no GSO/GRO, quiche 0.18 no pacing
// from JS), so datagrams are as large as the path allows (path.ts: 16383 B on loopback,
// quiche's cap), and receive windows are what the socket buffer can hold (recvWindowFor).
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { QuicError } from './errors.ts';
import { quiche, type HostPort, type QuicheConfig, type QuicheConnection } from './binding.ts';
import { MIN_UDP_PAYLOAD, pathMaxUdpPayload, QUICHE_MAX_PACKET } from './path.ts';

import { QUIC_CC, type CcAlgorithm } from './cc.ts';
export type { CcAlgorithm };
export const CC_ALGORITHMS: readonly CcAlgorithm[] = QUIC_CC;

export interface TransportOptions {
  /** congestion control (default cubic) */
  cc?: CcAlgorithm | string;
  /** max UDP payload we send (1200..16383); default: from the path's interface MTU
   *  (path.ts), e.g. 16383 on loopback, 1472 on a 1500-byte-MTU veth */
  maxUdpPayload?: number;
  /** QUIC max_idle_timeout (default 30 s; the smaller of the two ends' values applies) */
  idleTimeoutMs?: number;
  /** send a QUIC PING every pingMs while established (keeps a quiet connection from idling
   *  out); not a quiche setting: client.ts / server.ts apply it per connection */
  pingMs?: number;
  /** bidirectional streams the peer may open concurrently (server: requests in flight) */
  maxStreamsBidi?: number;
  /** client: send requests in 0-RTT when connecting with a session whose ticket allows it
   *  (servers always accept 0-RTT from a resuming client and answer it in 0.5-RTT) */
  earlyData?: boolean;
  /** client: append the connection's TLS secrets to this file, NSS key log format (for
   *  Wireshark/tshark: `-o tls.keylog_file:FILE`) */
  keylogFile?: string;
  /** RFC 9221 QUIC DATAGRAM frames (HTTP/3 datagrams, WebTransport): advertise
   *  max_datagram_frame_size; received datagrams go to ConnHandler.datagram */
  datagrams?: boolean;
  /** unidirectional streams the peer may open concurrently (default 16; WebTransport opens
   *  one per message) */
  maxStreamsUni?: number;
}

/** Datagrams queued each way inside quiche (RFC 9221: a datagram that does not fit is dropped,
 *  never retransmitted). */
const DGRAM_QUEUE = 1024;

const SCID_LEN = 16;
/** Datagrams sent per flush before yielding to the event loop (lets ACKs in). */
const MAX_BURST = 256;
const SLAB = 256 * 1024;
/** Outgoing datagrams are carved from slabs of this size (dgram keeps each view until sent). */
const SEND_SLAB = 512 * 1024;
/** Socket buffers we ask for; the kernel caps them at net.core.{r,w}mem_max and doubles. */
const SOCKET_BUFFER = 4 << 20;
const MIB = 1024 * 1024;

export type TlsOptions = { key?: string; cert?: string; caPem?: string; insecure?: boolean };

/** What the path and the socket allow, fixed when the socket is bound. */
export interface PathParams {
  /** max_send_udp_payload_size for quiche */
  maxUdpPayload: number;
  /** receive window (stream and connection): at most what the socket buffer holds */
  recvWindow: number;
}

/**
 * The receive window a socket can back. Flow control is what makes a sender slow down for a
 * receiver that falls behind; a window larger than the UDP receive buffer lets a fast sender
 * overrun the buffer instead (drops, then a congestion backoff): seen on loopback with 16 KB
 * datagrams, 8 MB of socket buffer and a 32 MB window, 1.4% of packets lost. So the window is
 * half the socket buffer (the kernel's figure), at least 1 MiB (the bandwidth-delay product
 * of 100 Mbit/s x 80 ms) and at most 32 MiB. The kernel charges ~840 B of overhead per
 * datagram (measured: 8 MiB holds 487 datagrams of 16383 B, 3640 of 1472 B), so half the
 * buffer fits whatever datagram size the peer uses down to 1200 B (1200 / 2040 = 0.59);
 * 3/4 (6 MB) was within the noise on loopback, and a window equal to the buffer dropped packets.
 */
export function recvWindowFor(socket: dgram.Socket): number {
  let buf = 0;
  try {
    buf = socket.getRecvBufferSize();
  } catch {
    /* not bound */
  }
  return Math.min(32 * MIB, Math.max(1 * MIB, Math.floor(buf / 2)));
}

export function buildConfig(role: 'client' | 'server', tls: TlsOptions, o: TransportOptions, path: PathParams): QuicheConfig {
  const q = quiche();
  const enc = (s: string) => new Uint8Array(Buffer.from(s));
  const cfg =
    role === 'server'
      ? q.Config.withBoringSslCtx(false, false, null, [enc(tls.key!)], [enc(tls.cert!)], null)
      : q.Config.withBoringSslCtx(!tls.insecure, false, tls.caPem ? enc(tls.caPem) : null, null, null, null);
  const cc = o.cc ?? 'cubic';
  if (!CC_ALGORITHMS.includes(cc as CcAlgorithm)) throw new Error(`quic cc must be one of ${CC_ALGORITHMS.join(', ')}; got ${cc}`);
  cfg.setCcAlgorithmName(cc);
  cfg.setApplicationProtos(['h3']);
  cfg.grease(true);
  cfg.setMaxIdleTimeout(o.idleTimeoutMs ?? 30_000);
  cfg.setMaxRecvUdpPayloadSize(65527);
  cfg.setMaxSendUdpPayloadSize(path.maxUdpPayload);
  // Receive windows: the whole socket-backed window from the start (no auto-tuning needed);
  // request bodies (server side) and uni streams get less.
  const w = path.recvWindow;
  cfg.setInitialMaxData(w);
  cfg.setInitialMaxStreamDataBidiLocal(w);
  cfg.setInitialMaxStreamDataBidiRemote(Math.min(w, 1 * MIB));
  cfg.setInitialMaxStreamDataUni(Math.min(w, 1 * MIB));
  cfg.setMaxConnectionWindow(w);
  cfg.setMaxStreamWindow(w);
  cfg.setInitialMaxStreamsBidi(role === 'server' ? (o.maxStreamsBidi ?? 128) : 0);
  cfg.setInitialMaxStreamsUni(o.maxStreamsUni ?? 16);
  if (o.datagrams) cfg.enableDgram(true, DGRAM_QUEUE, DGRAM_QUEUE);
  cfg.setDisableActiveMigration(true);
  if (role === 'server' || o.earlyData) cfg.enableEarlyData();
  if (o.keylogFile) cfg.logKeys();
  return cfg;
}

/**
 * Decides the order in which queued stream data goes into quiche (a server's response
 * streams): flush() asks next() for the stream whose turn it is, writes at most allowance(id)
 * bytes of it, and reports them with charge(). Streams the scheduler does not know (control
 * and QPACK streams, small responses) are written first, unscheduled. Implemented by
 * servers/scheduler.ts (WriteScheduler).
 */
export interface StreamScheduler {
  has(id: number): boolean;
  /** the stream whose turn it is among those `skip` does not exclude; null if none */
  next(skip?: (id: number) => boolean): number | null;
  /** bytes `id` may write in its current turn */
  allowance(id: number): number;
  charge(id: number, bytes: number): void;
  remove(id: number): void;
}

/** How a writeStream() pass ended. */
type WriteEnd = 'done' | 'budget' | 'blocked' | 'idle';

export interface StreamChunk {
  data: Buffer;
  fin: boolean;
}

/** What the layer above (HTTP/3) implements. Called from flush(), never re-entrantly. */
export interface ConnHandler {
  /** once, when streams can be used: the handshake completed, or earlier, when 0-RTT data
   *  can flow (a resuming client may send, a server has accepted the client's early data) */
  established(): void;
  /** stream `id` has data or a FIN or a reset: call conn.read(id) until it returns null */
  readable(id: number): void;
  /** once per flush, before packets are sent (open queued streams, etc.) */
  tick(): void;
  /** once, when the connection is gone; err is null for a clean local close */
  closed(err: QuicError | null): void;
  /** once, when the handshake completed (after established(), in the same flush or, with
   *  0-RTT, later) */
  handshakeDone?(): void;
  /** a QUIC DATAGRAM frame's payload arrived (only with TransportOptions.datagrams) */
  datagram?(data: Buffer): void;
}

interface OutStream {
  id: number;
  queue: Buffer[];
  /** called when queue is empty; returns more buffers, or null when the stream is done */
  pull: (() => Buffer[] | null) | null;
  fin: boolean;
  /** called once if the stream can take no more (STOP_SENDING from the peer, ...) */
  onStop: ((err: QuicError) => void) | null;
}

type SendFn = (buf: Buffer, off: number, len: number, to: HostPort) => void;

function errorName(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parses quiche's "StreamReset(123)" / "StreamStopped(123)" error names. */
function codeIn(name: string, kind: string): number | null {
  const m = new RegExp(`^${kind}\\((\\d+)\\)$`).exec(name);
  return m ? Number(m[1]) : null;
}

export class QuicStreamReset extends QuicError {
  constructor(
    readonly streamId: number,
    code: number,
  ) {
    super('HOLBENCH_QUIC_RESET', `stream ${streamId} reset by peer with code 0x${code.toString(16)}`, code);
  }
}

/** The connection closed because no packet arrived for the idle timeout (RFC 9000 10.1). */
export class QuicIdleTimeout extends QuicError {
  constructor() {
    super('HOLBENCH_QUIC_TIMEOUT', 'QUIC idle timeout');
  }
}

export class QuicConn {
  readonly id: string;
  handler: ConnHandler | null = null;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private out = new Map<number, OutStream>();
  /** the order of scheduled streams' writes (a server's responses); null: map order */
  scheduler: StreamScheduler | null = null;
  private wasEstablished = false;
  private done = false;
  private slab = Buffer.allocUnsafe(SLAB);
  private slabOff = 0;
  private sendSlab = Buffer.allocUnsafe(0);
  private recvInfo: { from: HostPort; to: HostPort } | null = null;
  private sendOff = 0;
  private timerAt = 0;
  /** largest datagram we may produce; quiche never exceeds its max_send_udp_payload_size */
  private readonly maxPacket: number;
  private closeErr: QuicError | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly flushBound = () => this.flush();
  /** streams usable (handshake complete, or in 0-RTT); established() was called */
  private usable = false;
  /** performance.now() when this connection began (client: just before its first Initial) */
  readonly createdAt = performance.now();
  /** ms from createdAt to the completed handshake; null until then */
  handshakeMs: number | null = null;
  /** the handshake resumed a TLS session (known once it completed) */
  resumed = false;
  /** streams were used before the handshake completed: 0-RTT data went out (client) or was
   *  accepted and read (server) */
  earlyData = false;

  constructor(
    readonly raw: QuicheConnection,
    scid: Uint8Array,
    private readonly sendDatagram: SendFn,
    private readonly local: HostPort,
    private readonly onGone: (c: QuicConn) => void,
    maxUdpPayload: number,
  ) {
    this.maxPacket = Math.min(QUICHE_MAX_PACKET, Math.max(MIN_UDP_PAYLOAD, maxUdpPayload));
    this.id = Buffer.from(scid).toString('hex').slice(0, 16);
  }

  get closed(): boolean {
    return this.done;
  }

  /** the largest UDP payload this connection sends once established */
  get maxUdpPayload(): number {
    return this.maxPacket;
  }

  /** Feed one datagram from host:port. */
  recv(msg: Buffer, host: string, port: number): void {
    if (this.done) return;
    // The peer's address rarely changes: reuse the info object (one allocation less per datagram).
    let info = this.recvInfo;
    if (!info || info.from.port !== port || info.from.host !== host) info = this.recvInfo = { from: { host, port }, to: this.local };
    try {
      this.raw.recv(msg, info);
    } catch {
      // A recv error closes the connection inside quiche (localError set) or drops the
      // packet; either way flush() sends what is needed and notices closure.
    }
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled || this.done) return;
    this.scheduled = true;
    setImmediate(this.flushBound);
  }

  /** Read what stream `id` has now: a chunk (a view into a slab; keep it if you like), or null. */
  read(id: number): StreamChunk | null {
    if (this.slab.length - this.slabOff < 16 * 1024) {
      this.slab = Buffer.allocUnsafe(SLAB);
      this.slabOff = 0;
    }
    let r: [number, boolean] | null;
    try {
      r = this.raw.streamRecv(id, this.slab.subarray(this.slabOff));
    } catch (e) {
      const name = errorName(e);
      const code = codeIn(name, 'StreamReset');
      if (code !== null) throw new QuicStreamReset(id, code);
      if (name === 'Done' || name.startsWith('InvalidStreamState')) return null;
      throw new QuicError('HOLBENCH_QUIC_RESET', `stream ${id} read failed: ${name}`);
    }
    if (!r) return null;
    const data = this.slab.subarray(this.slabOff, this.slabOff + r[0]);
    this.slabOff += r[0];
    return { data, fin: r[1] };
  }

  /** Queue bytes on a stream; `pull` supplies more when the queue runs dry (null = no more,
   *  [] = nothing right now: call schedule() when there is). `onStop` hears once if the
   *  stream stops taking data (the peer's STOP_SENDING, a reset); not on connection close. */
  write(id: number, bufs: Buffer[], fin: boolean, pull: (() => Buffer[] | null) | null = null, onStop: ((err: QuicError) => void) | null = null): void {
    let s = this.out.get(id);
    if (!s) {
      s = { id, queue: [], pull: null, fin: false, onStop: null };
      this.out.set(id, s);
    }
    for (const b of bufs) s.queue.push(b);
    if (pull) s.pull = pull;
    if (onStop) s.onStop = onStop;
    if (fin) s.fin = true;
    this.schedule();
  }

  /** Open stream `id` by writing its first bytes now. False when the peer's MAX_STREAMS
   *  does not allow it yet (nothing happened; try again later). */
  tryOpen(id: number, data: Buffer, fin: boolean): boolean {
    let n: number | null;
    try {
      n = this.raw.streamSend(id, data, fin);
    } catch (e) {
      const name = errorName(e);
      if (name === 'StreamLimit') return false;
      if (name !== 'Done') throw new QuicError('HOLBENCH_QUIC_RESET', `cannot open stream ${id}: ${name}`);
      n = null;
    }
    // quiche creates the stream before checking capacity, so Done still means "opened".
    const written = n ?? 0;
    if (written < data.length) this.write(id, [data.subarray(written)], fin);
    else this.schedule();
    return true;
  }

  /** quiche's RFC 9218 priority for stream `id` (its packet scheduler: lower urgency first,
   *  non-incremental by stream id, incremental in rotation one STREAM frame at a time). */
  setPriority(id: number, urgency: number, incremental: boolean): void {
    try {
      this.raw.streamPriority(id, urgency, incremental);
    } catch {
      /* the stream is gone (finished or reset): nothing to order */
    }
  }

  /** Abort both directions of a stream with an application error code. */
  resetStream(id: number, code: number): void {
    this.dropOut(id);
    const q = quiche();
    try {
      this.raw.streamShutdown(id, q.Shutdown.Read, code);
    } catch {
      /* direction may not exist (uni stream) or already closed */
    }
    try {
      this.raw.streamShutdown(id, q.Shutdown.Write, code);
    } catch {
      /* same */
    }
    this.schedule();
  }

  /** Stop reading a stream (STOP_SENDING) without touching its write side. */
  stopReading(id: number, code: number): void {
    try {
      this.raw.streamShutdown(id, quiche().Shutdown.Read, code);
    } catch {
      /* already finished */
    }
    this.schedule();
  }

  /** Queue one QUIC DATAGRAM frame (RFC 9221; never retransmitted). False when it cannot go: too
   *  large for a packet, quiche's send queue full, datagrams not enabled by the peer. */
  sendQuicDatagram(data: Buffer): boolean {
    if (this.done) return false;
    try {
      this.raw.dgramSend(data);
    } catch {
      return false;
    }
    this.schedule();
    return true;
  }

  /** The largest DATAGRAM payload that fits now, null when datagrams cannot be sent. */
  maxDatagramPayload(): number | null {
    try {
      return this.raw.dgramMaxWritableLen();
    } catch {
      return null;
    }
  }

  private dgramBuf: Buffer | null = null;

  private readDatagrams(h: ConnHandler): void {
    this.dgramBuf ??= Buffer.allocUnsafe(65536);
    for (let i = 0; i < DGRAM_QUEUE; i++) {
      let n: number | null;
      try {
        n = this.raw.dgramRecv(this.dgramBuf);
      } catch {
        return; // Done: queue empty
      }
      if (n === null) return;
      h.datagram!(Buffer.from(this.dgramBuf.subarray(0, n)));
    }
  }

  peerStreamsLeftUni(): number {
    try {
      return this.raw.peerStreamsLeftUni();
    } catch {
      return 0;
    }
  }

  peerStreamsLeftBidi(): number {
    try {
      return this.raw.peerStreamsLeftBidi();
    } catch {
      return 0;
    }
  }

  established(): boolean {
    return this.wasEstablished;
  }

  /** streams can be used: the handshake completed, or 0-RTT data can flow */
  streamsUsable(): boolean {
    return this.usable;
  }

  /** The TLS session to resume with (ticket and the server's transport parameters), once the
   *  server sent a NewSessionTicket (after the handshake); null before. */
  session(): Buffer | null {
    try {
      const s = this.raw.session();
      return s && s.length ? Buffer.from(s) : null;
    } catch {
      return null;
    }
  }

  /** Send a QUIC PING every `ms` while established (0/undefined: stop). The peer's ACK restarts
   *  our idle timer and the PING restarts the peer's, so a quiet but live path never idles out;
   *  a dead one still does (nothing comes back). */
  pingEvery(ms: number | undefined): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (!ms || ms <= 0 || this.done) return;
    this.pingTimer = setInterval(() => this.ping(), ms);
    this.pingTimer.unref();
  }

  /** Make the next packet ack-eliciting (a PING if nothing else is) and send it now. False
   *  before the handshake completed or once closed. */
  ping(): boolean {
    if (this.done || !this.wasEstablished) return false;
    try {
      this.raw.sendAckEliciting();
    } catch {
      return false;
    }
    this.flush();
    return true;
  }

  /** Close with an application (HTTP/3) error code; closed() fires once quiche is done. */
  close(code: number, reason = ''): void {
    if (this.done) return;
    try {
      this.raw.close(true, code, Buffer.from(reason));
    } catch {
      /* already closing */
    }
    this.schedule();
  }

  /** Drop the connection now without telling the peer (endpoint shutdown). */
  destroy(err: QuicError | null): void {
    if (this.done) return;
    this.closeErr = err;
    this.finish();
  }

  /** Write what stream `s` has, at most `budget` bytes; returns the bytes written and why it stopped. */
  private writeStream(s: OutStream, budget = Infinity): { bytes: number; end: WriteEnd } {
    let bytes = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      if (s.queue.length === 0 && s.pull) {
        const more = s.pull();
        if (more === null) {
          s.pull = null;
          s.fin = true;
        } else {
          for (const b of more) s.queue.push(b);
          if (more.length === 0) {
            // Source has nothing right now. An idle stream would only learn of the peer's
            // STOP_SENDING at its next write; a listener wants to know now.
            if (s.onStop) this.checkStopped(s);
            return { bytes, end: 'idle' };
          }
        }
      }
      if (bytes >= budget) return { bytes, end: 'budget' };
      let head = s.queue[0];
      let whole = true;
      if (head && head.length > budget - bytes) {
        head = head.subarray(0, budget - bytes);
        whole = false;
      }
      const last = whole && s.queue.length <= 1 && !s.pull;
      const fin = last && s.fin;
      if (!head && !fin) return { bytes, end: 'idle' };
      let n: number | null;
      try {
        n = this.raw.streamSend(s.id, head ?? Buffer.alloc(0), fin);
      } catch (e) {
        const name = errorName(e);
        if (name === 'Done') return { bytes, end: 'blocked' };
        // StreamStopped(code), FinalSize, InvalidStreamState: the stream is gone for us.
        this.streamFailed(s, name);
        return { bytes, end: 'done' };
      }
      if (n === null) return { bytes, end: 'blocked' }; // no capacity now
      if (!head) {
        this.dropOut(s.id); // empty FIN written
        return { bytes, end: 'done' };
      }
      bytes += n;
      if (n < head.length) {
        s.queue[0] = s.queue[0]!.subarray(n);
        return { bytes, end: 'blocked' }; // flow control or send buffer full
      }
      if (whole) s.queue.shift();
      else s.queue[0] = s.queue[0]!.subarray(n);
      if (fin) {
        this.dropOut(s.id);
        return { bytes, end: 'done' };
      }
    }
    return { bytes, end: 'budget' };
  }

  /** Write the scheduled streams in the scheduler's order until none can write more. */
  private writeScheduled(sched: StreamScheduler): void {
    const stuck = new Set<number>();
    const skip = (id: number) => stuck.has(id) || !this.out.has(id);
    for (let guard = 0; guard < 1_000_000; guard++) {
      const id = sched.next(skip);
      if (id === null) return;
      const r = this.writeStream(this.out.get(id)!, sched.allowance(id));
      sched.charge(id, r.bytes);
      if (r.end === 'blocked' || r.end === 'idle') stuck.add(id);
      // Out of connection capacity (congestion window or connection flow control): quiche
      // reports no writable stream at all, and trying every other stream would only fail.
      if (r.end === 'blocked' && r.bytes === 0 && this.noneWritable()) return;
    }
  }

  /** quiche's writable() is empty when the connection has no send capacity left. */
  private noneWritable(): boolean {
    try {
      return this.raw.writable()[Symbol.iterator]().next().done === true;
    } catch {
      return false;
    }
  }

  private dropOut(id: number): void {
    this.out.delete(id);
    this.scheduler?.remove(id);
  }

  private checkStopped(s: OutStream): void {
    try {
      this.raw.streamCapacity(s.id);
    } catch (e) {
      this.streamFailed(s, errorName(e));
    }
  }

  /** The stream takes no more data: drop it and tell its listener. */
  private streamFailed(s: OutStream, name: string): void {
    this.dropOut(s.id);
    if (s.onStop) {
      const code = codeIn(name, 'StreamStopped');
      s.onStop(new QuicError('HOLBENCH_QUIC_RESET', code !== null ? `stream ${s.id} stopped by peer with code 0x${code.toString(16)}` : `stream ${s.id} write failed: ${name}`, code ?? undefined));
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.done) return;
    const h = this.handler;
    let handshakeDone = false;
    if (!this.wasEstablished && this.raw.isEstablished()) {
      handshakeDone = true;
      this.wasEstablished = true;
      this.handshakeMs = performance.now() - this.createdAt;
      this.resumed = this.raw.isResumed();
    }
    if (!this.usable && (this.wasEstablished || this.raw.isInEarlyData())) {
      this.usable = true;
      this.earlyData = !this.wasEstablished;
      h?.established();
    }
    if (handshakeDone) h?.handshakeDone?.();
    if (h && this.usable) {
      for (const id of this.raw.readable()) h.readable(id);
      if (h.datagram) this.readDatagrams(h);
      h.tick();
    }
    const sched = this.scheduler;
    if (sched) {
      for (const s of this.out.values()) if (!sched.has(s.id)) this.writeStream(s);
      this.writeScheduled(sched);
    } else for (const s of this.out.values()) this.writeStream(s);
    let sent = 0;
    for (; sent < MAX_BURST; sent++) {
      // quiche writes straight into a view of a slab that dgram then holds until sent: no
      // copy, and no allocation per datagram. Views never overlap (the offset moves past
      // each datagram), so a datagram still queued in libuv is never overwritten.
      if (this.sendSlab.length - this.sendOff < this.maxPacket) {
        this.sendSlab = Buffer.allocUnsafe(Math.max(SEND_SLAB, this.maxPacket));
        this.sendOff = 0;
      }
      const off = this.sendOff;
      let r: [number, { to: HostPort }] | null;
      try {
        r = this.raw.send(this.sendSlab.subarray(off, off + this.maxPacket));
      } catch {
        break;
      }
      if (!r) break;
      this.sendOff = off + ((r[0] + 7) & ~7);
      this.sendDatagram(this.sendSlab, off, r[0], r[1].to);
    }
    // A resuming client can send 0-RTT once its ClientHello went out (in the send() above):
    // come back at once to let the layer above open its streams.
    if (sent >= MAX_BURST || (!this.usable && this.raw.isInEarlyData())) this.schedule();
    if (this.raw.isClosed()) {
      this.finish();
      return;
    }
    this.armTimer();
  }

  /** Keep one timer at (or before) quiche's deadline. A timer that fires early is harmless:
   *  onTimeout() only acts on timers that are due, and flush() re-arms. Re-arming only when the
   *  deadline moves earlier saves a clearTimeout/setTimeout pair on almost every flush. */
  private armTimer(): void {
    const t = this.raw.timeout();
    if (t === null) return;
    const deadline = performance.now() + t;
    if (this.timer && this.timerAt <= deadline + 1) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(t)));
  }

  private readonly onTimer = () => {
    this.timer = null;
    if (this.done) return;
    this.raw.onTimeout();
    this.flush();
  };

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.out.clear();
    const err = this.closeErr ?? this.describeClose();
    this.onGone(this);
    this.handler?.closed(err);
  }

  private describeClose(): QuicError | null {
    const local = this.raw.localError();
    const peer = this.raw.peerError();
    if (this.raw.isTimedOut() && !local && !peer) return new QuicIdleTimeout();
    const e = peer ?? local;
    if (!e) return null;
    const who = peer ? 'peer' : 'local';
    const reason = Buffer.from(e.reason).toString('utf8');
    if (!e.isApp && e.errorCode >= 0x100 && e.errorCode <= 0x1ff)
      return new QuicError('HOLBENCH_QUIC_HANDSHAKE', `TLS failure (${who}): alert ${e.errorCode - 0x100}${reason ? ` ${reason}` : ''}`, e.errorCode);
    if (e.isApp && e.errorCode === 0x100 && !local) return new QuicError('HOLBENCH_QUIC_CLOSED', `connection closed by peer (H3_NO_ERROR)`, e.errorCode);
    if (!e.isApp && e.errorCode === 0 && !local) return new QuicError('HOLBENCH_QUIC_CLOSED', 'connection closed by peer', 0);
    if (local && local.isApp && local.errorCode === 0x100) return null;
    return new QuicError('HOLBENCH_QUIC_CLOSED', `connection closed (${who}, ${e.isApp ? 'app' : 'transport'} error 0x${e.errorCode.toString(16)}${reason ? `: ${reason}` : ''})`, e.errorCode);
  }
}

function udpType(host: string): 'udp4' | 'udp6' {
  return net.isIPv6(host) ? 'udp6' : 'udp4';
}

function tuneSocket(s: dgram.Socket): void {
  for (const f of [() => s.setRecvBufferSize(SOCKET_BUFFER), () => s.setSendBufferSize(SOCKET_BUFFER)]) {
    try {
      f();
    } catch {
      /* capped by the system; not fatal */
    }
  }
}

function bindSocket(s: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error) => reject(new QuicError('HOLBENCH_QUIC_SOCKET', `bind ${host}:${port}: ${e.message}`));
    s.once('error', onErr);
    s.bind(port, host, () => {
      s.off('error', onErr);
      resolve();
    });
  });
}

/** ICMP errors reported on a connected UDP socket (port unreachable etc.): unauthenticated
 *  and transient, so treated like packet loss (quiche's timers decide), as on an unconnected
 *  socket, which never sees them. */
const ICMP_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** Client side: one socket, connected to the server, one connection. The socket is
 *  connected so the kernel picks the source address (which tells the interface and MTU)
 *  and sends skip dgram's per-datagram address lookup. */
export async function quicConnect(
  host: string,
  port: number,
  makeConfig: (p: PathParams) => QuicheConfig,
  serverName: string | null,
  maxUdpPayload?: number,
  /** a session from an earlier connection's QuicConn.session(): resume it (and send 0-RTT if
   *  the config enables early data) */
  session?: Uint8Array,
  /** NSS key log file for this connection's secrets (buildConfig must have had keylogFile) */
  keylogFile?: string,
): Promise<{ conn: QuicConn; socket: dgram.Socket; path: PathParams }> {
  const q = quiche();
  const socket = dgram.createSocket(udpType(host));
  await bindSocket(socket, 0, net.isIPv6(host) ? '::' : '0.0.0.0');
  tuneSocket(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    socket.close();
    throw new QuicError('HOLBENCH_QUIC_SOCKET', `connect ${host}:${port}: ${(e as Error).message}`);
  }
  const la = socket.address();
  const local: HostPort = { host: la.address, port: la.port };
  const remote: HostPort = { host, port };
  const path: PathParams = { maxUdpPayload: maxUdpPayload ?? pathMaxUdpPayload(la.address, host), recvWindow: recvWindowFor(socket) };
  let cfg: QuicheConfig;
  try {
    cfg = makeConfig(path);
  } catch (e) {
    socket.close();
    throw e;
  }
  const scid = randomBytes(SCID_LEN);
  const raw = q.Connection.connect(serverName, scid, local, remote, cfg);
  if (keylogFile) raw.setKeylog(keylogFile);
  if (session) {
    try {
      raw.setSession(session);
    } catch (e) {
      socket.close();
      throw new QuicError('HOLBENCH_QUIC_HANDSHAKE', `cannot resume: the session is not usable (${errorName(e)})`);
    }
  }
  const send: SendFn = (buf, off, len) => socket.send(buf, off, len);
  const conn = new QuicConn(raw, scid, send, local, () => socket.close(), path.maxUdpPayload);
  socket.on('message', (msg, rinfo) => conn.recv(msg, rinfo.address, rinfo.port));
  socket.on('error', (e: NodeJS.ErrnoException) => {
    if (!ICMP_ERRORS.has(e.code ?? '')) conn.destroy(new QuicError('HOLBENCH_QUIC_SOCKET', `socket error: ${e.message}`));
  });
  conn.schedule();
  return { conn, socket, path };
}

/** Server side: one socket, connections routed by destination connection id. */
export class QuicListener {
  private conns = new Map<string, QuicConn>();
  private closing = false;
  readonly local: HostPort;
  private count = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly makeConfig: (p: PathParams) => QuicheConfig,
    private readonly onConn: (c: QuicConn) => void,
    private readonly maxConns: number,
    private readonly maxUdpPayload: number | undefined,
  ) {
    const a = socket.address();
    this.local = { host: a.address, port: a.port };
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', () => {
      /* per-datagram errors (ICMP unreachable etc.) are not fatal for a server */
    });
  }

  /** makeConfig is called once per distinct PathParams (peers on different interfaces may
   *  get different datagram sizes); maxUdpPayload overrides the MTU-derived size. */
  static async listen(host: string, port: number, makeConfig: (p: PathParams) => QuicheConfig, onConn: (c: QuicConn) => void, maxUdpPayload?: number, maxConns = 10_000): Promise<QuicListener> {
    const socket = dgram.createSocket(udpType(host));
    await bindSocket(socket, port, host);
    tuneSocket(socket);
    const l = new QuicListener(socket, makeConfig, onConn, maxConns, maxUdpPayload);
    try {
      l.configFor(l.pathTo(null)); // build (and check) the config for the common case now
    } catch (e) {
      socket.close();
      throw e;
    }
    return l;
  }

  private configs = new Map<number, QuicheConfig>();
  private recvWindow = 0;

  /** Path parameters for a peer (null: what most peers of this bound address get). */
  pathTo(peer: string | null): PathParams {
    this.recvWindow ||= recvWindowFor(this.socket);
    return { maxUdpPayload: this.maxUdpPayload ?? pathMaxUdpPayload(this.local.host, peer), recvWindow: this.recvWindow };
  }

  private configFor(p: PathParams): QuicheConfig {
    let c = this.configs.get(p.maxUdpPayload);
    if (!c) {
      c = this.makeConfig(p);
      this.configs.set(p.maxUdpPayload, c);
    }
    return c;
  }

  get port(): number {
    return this.local.port;
  }

  /** connections accepted since start */
  get accepted(): number {
    return this.count;
  }

  openConnections(): QuicConn[] {
    return [...new Set(this.conns.values())];
  }

  private send: SendFn = (buf, off, len, to) => {
    if (!this.closing) this.socket.send(buf, off, len, to.port, to.host);
  };

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closing || msg.length < 1) return;
    let key: string;
    let hdr: { ty: number; version: number; dcid: Uint8Array; scid: Uint8Array } | null = null;
    if ((msg[0]! & 0x80) === 0) {
      if (msg.length < 1 + SCID_LEN) return;
      key = msg.toString('latin1', 1, 1 + SCID_LEN);
    } else {
      try {
        hdr = quiche().Header.fromSlice(msg, SCID_LEN);
      } catch {
        return; // not QUIC
      }
      key = Buffer.from(hdr.dcid).toString('latin1');
    }
    let conn = this.conns.get(key);
    if (!conn) {
      const q = quiche();
      const from = { host: rinfo.address, port: rinfo.port };
      if (!hdr) return; // short header for an unknown connection
      if (!q.versionIsSupported(hdr.version)) {
        const out = Buffer.allocUnsafe(1350);
        try {
          const n = q.negotiateVersion(hdr.scid, hdr.dcid, out);
          this.socket.send(out, 0, n, rinfo.port, rinfo.address);
        } catch {
          /* ignore */
        }
        return;
      }
      if (hdr.ty !== q.Type.Initial || msg.length < q.MIN_CLIENT_INITIAL_LEN) return;
      if (this.conns.size >= 2 * this.maxConns) return;
      const scid = randomBytes(SCID_LEN);
      // No Retry round trip: accept directly with no original DCID.
      const path = this.pathTo(from.host);
      const raw = q.Connection.accept(scid, null, this.local, from, this.configFor(path));
      const odcidKey = key;
      const scidKey = scid.toString('latin1');
      const c = new QuicConn(raw, scid, this.send, this.local, () => {
        this.conns.delete(odcidKey);
        this.conns.delete(scidKey);
      }, path.maxUdpPayload);
      conn = c;
      this.conns.set(odcidKey, c);
      this.conns.set(scidKey, c);
      this.count++;
      this.onConn(c);
    }
    conn.recv(msg, rinfo.address, rinfo.port);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    for (const c of this.openConnections()) c.destroy(null);
    this.closing = true;
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}
