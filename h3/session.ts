// The HTTP/3 connection core shared by client and server (RFC 9114 section 6): our control
// stream with SETTINGS and the two QPACK streams, opened as soon as the handshake completes
// and never closed; the peer's unidirectional streams by type; control-stream frames; error
// propagation (stream errors reset one stream, connection errors close the connection).
import { connErr, H3Code, H3Error, QuicError } from './errors.ts';
import { decodeSettings, decodeSingleVarint, encodeFrame, encodeSettings, Frame, FrameReader, greaseValue, Setting, StreamType } from './frames.ts';
import { DecoderStreamReader, EncoderStreamReader, type HeaderList } from './qpack.ts';
import { QuicStreamReset, type ConnHandler, type QuicConn, type StreamChunk } from './quic.ts';
import { encodeVarint, readVarint, varintLen } from './varint.ts';
import { WT_UNI_STREAM_TYPE, type WtRegistry } from './webtransport.ts';

export const MAX_FIELD_SECTION_SIZE = 64 * 1024;

interface UniState {
  type: number; // -1 until the type varint is complete
  pre: Buffer;
  sink: ((chunk: Buffer) => void) | null;
  ignored: boolean;
  /** extension streams (WebTransport) want to hear the end */
  onFin?: () => void;
  onReset?: (code: number) => void;
}

/** A request stream's handler, implemented by client and server. */
export interface BidiHandler {
  chunk(data: Buffer): void;
  fin(): void;
  /** peer reset the stream */
  reset(code: number): void;
  /** we are abandoning the stream (stream or connection error, or connection gone) */
  abort(err: Error): void;
}

export abstract class H3Session implements ConnHandler {
  protected uni = new Map<number, UniState>();
  protected bidi = new Map<number, BidiHandler>();
  private nextUni: number;
  private peerCritical = new Map<number, number>(); // stream type -> stream id
  protected peerSettings: Map<number, number> | null = null;
  protected closedErr: Error | null = null;
  /** WebTransport sessions on this connection (h3/webtransport.ts); null: WebTransport off */
  wt: WtRegistry | null = null;
  private settingsWaiters: ((s: Map<number, number> | Error) => void)[] = [];

  constructor(
    readonly conn: QuicConn,
    readonly role: 'client' | 'server',
  ) {
    this.nextUni = role === 'client' ? 2 : 3;
    conn.handler = this;
  }

  get connId(): string {
    return this.conn.id;
  }

  // ---- ConnHandler ----

  established(): void {
    const settings = encodeSettings([
      [Setting.QPACK_MAX_TABLE_CAPACITY, 0],
      [Setting.QPACK_BLOCKED_STREAMS, 0],
      [Setting.MAX_FIELD_SECTION_SIZE, MAX_FIELD_SECTION_SIZE],
      [greaseValue(Math.floor(Math.random() * 1000)), 0], // reserved setting: peers must ignore it
      ...(this.wt?.settings() ?? []),
    ]);
    // Control stream, never closed (closing it is H3_CLOSED_CRITICAL_STREAM for the peer).
    const uni = [
      [this.openUni(), [Buffer.from([StreamType.CONTROL]), settings]],
      [this.openUni(), [Buffer.from([StreamType.QPACK_ENCODER])]],
      [this.openUni(), [Buffer.from([StreamType.QPACK_DECODER])]],
    ] as const;
    for (const [id, bufs] of uni) {
      this.conn.write(id, [...bufs], false);
      // Before any response in quiche's packet scheduler (its default urgency for streams
      // nobody set is 127, after every RFC 9218 urgency a response gets).
      this.conn.setPriority(id, 0, false);
    }
    this.onEstablished();
  }

  readable(id: number): void {
    try {
      if (id & 2) this.readUni(id);
      else this.readBidi(id);
    } catch (e) {
      this.handleError(e, id);
    }
  }

  tick(): void {
    this.wt?.tick();
    this.onTick();
  }

  /** ConnHandler.datagram: set by enableWebTransport (QuicConn reads datagrams only then) */
  datagram?: (data: Buffer) => void;

  /** Turn WebTransport on (before the handshake completes: it adds SETTINGS). The transport
   *  must have datagrams on (TransportOptions.datagrams). */
  enableWebTransport(reg: WtRegistry): void {
    this.wt = reg;
    this.datagram = (d) => reg.onDatagram(d);
  }

  /** The peer's SETTINGS, once its control stream delivered them (rejects on close/timeout). */
  peerSettingsReady(timeoutMs: number): Promise<Map<number, number>> {
    if (this.peerSettings) return Promise.resolve(this.peerSettings);
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      const done = (s: Map<number, number> | Error) => (clearTimeout(t), s instanceof Error ? reject(s) : resolve(s));
      const t = setTimeout(() => {
        this.settingsWaiters = this.settingsWaiters.filter((w) => w !== done);
        reject(new QuicError('HOLBENCH_QUIC_TIMEOUT', `no SETTINGS from the peer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.settingsWaiters.push(done);
    });
  }

  closed(err: QuicError | null): void {
    const e = err ?? new QuicError('HOLBENCH_QUIC_CLOSED', 'connection closed');
    this.closedErr = e;
    for (const h of [...this.bidi.values()]) h.abort(e);
    this.bidi.clear();
    for (const w of this.settingsWaiters.splice(0)) w(e);
    this.wt?.connectionClosed(e);
    this.onClosed(err);
  }

  // ---- for subclasses ----

  protected abstract onEstablished(): void;
  protected abstract onTick(): void;
  protected abstract onClosed(err: QuicError | null): void;
  /** a bidirectional stream we have no handler for yet (server: a new request) */
  protected abstract acceptBidi(id: number): BidiHandler;
  protected abstract onGoaway(id: number): void;

  /** Close the connection with an HTTP/3 error code. */
  connectionError(code: number, msg: string): void {
    if (this.closedErr) return;
    this.conn.close(code, msg.slice(0, 200));
  }

  /** Reset one request stream (both directions) with an HTTP/3 error code. */
  streamError(id: number, code: number, err: Error): void {
    const h = this.bidi.get(id);
    this.bidi.delete(id);
    this.conn.resetStream(id, code);
    h?.abort(err);
  }

  protected handleError(e: unknown, id: number): void {
    if (e instanceof H3Error) {
      if (e.scope === 'stream' && !(id & 2)) this.streamError(id, e.h3Code, e);
      else this.connectionError(e.h3Code, e.message);
      return;
    }
    if (e instanceof QuicStreamReset) return;
    // Anything else is a bug on our side: fail safe by closing the connection.
    this.connectionError(H3Code.INTERNAL_ERROR, e instanceof Error ? e.message : String(e));
  }

  private openUni(): number {
    const id = this.nextUni;
    this.nextUni += 4;
    return id;
  }

  /** Open our next unidirectional stream with its first bytes (extension streams such as
   *  WebTransport's); null when the peer's MAX_STREAMS does not allow one now (no id burnt). */
  tryOpenUni(data: Buffer, fin: boolean): number | null {
    if (this.conn.peerStreamsLeftUni() <= 0) return null;
    const id = this.nextUni;
    if (!this.conn.tryOpen(id, data, fin)) return null;
    this.nextUni += 4;
    return id;
  }

  /** conn.read(id), with the peer's RESET_STREAM returned as { reset: code } instead of thrown. */
  private readOrReset(id: number): StreamChunk | { reset: number } | null {
    try {
      return this.conn.read(id);
    } catch (e) {
      if (e instanceof QuicStreamReset) return { reset: e.wireCode ?? 0 };
      throw e;
    }
  }

  private readBidi(id: number): void {
    let h = this.bidi.get(id);
    if (!h) {
      const peerInitiated = (id & 1) === (this.role === 'client' ? 1 : 0);
      if (!peerInitiated) {
        // Ours, already finished or abandoned: drain and drop.
        for (let i = 0; i < 1000 && this.conn.read(id); i++);
        return;
      }
      if (this.role === 'client') throw connErr(H3Code.STREAM_CREATION_ERROR, 'server opened a bidirectional stream');
      // With WebTransport on, a stream may be a WebTransport stream (it begins with 0x41):
      // the registry looks at its first bytes before it becomes a request.
      h = this.wt ? this.wt.sniffBidi(id, () => this.acceptBidi(id)) : this.acceptBidi(id);
      this.bidi.set(id, h);
    }
    for (let i = 0; i < 100_000; i++) {
      const c = this.readOrReset(id);
      if (!c) return;
      if ('reset' in c) {
        this.bidi.delete(id);
        h.reset(c.reset);
        return;
      }
      if (c.data.length) h.chunk(c.data);
      if (c.fin) {
        this.bidi.delete(id);
        h.fin();
        return;
      }
      if (!this.bidi.has(id)) return; // handler errored the stream
    }
  }

  private readUni(id: number): void {
    const peerInitiated = (id & 1) === (this.role === 'client' ? 1 : 0);
    if (!peerInitiated) return; // our own uni streams are send-only
    let st = this.uni.get(id);
    if (!st) {
      st = { type: -1, pre: Buffer.alloc(0), sink: null, ignored: false };
      this.uni.set(id, st);
    }
    for (let i = 0; i < 100_000; i++) {
      const c = this.readOrReset(id);
      if (!c) return;
      if ('reset' in c) {
        if (this.isCritical(st.type)) throw connErr(H3Code.CLOSED_CRITICAL_STREAM, `critical stream ${id} reset`);
        this.uni.delete(id);
        st.onReset?.(c.reset);
        return;
      }
      let data = c.data;
      if (st.type < 0 && data.length) {
        const pre = st.pre.length ? Buffer.concat([st.pre, data]) : data;
        const t = readVarint(pre, 0);
        if (t < 0) {
          st.pre = Buffer.from(pre);
          data = Buffer.alloc(0);
        } else {
          st.type = t;
          data = pre.subarray(varintLen(pre[0]!));
          st.pre = Buffer.alloc(0);
          this.bindUni(id, st);
        }
      }
      if (data.length && st.sink && !st.ignored) st.sink(data);
      if (c.fin) {
        if (this.isCritical(st.type)) throw connErr(H3Code.CLOSED_CRITICAL_STREAM, `critical stream ${id} closed`);
        this.uni.delete(id);
        st.onFin?.();
        return;
      }
      if (st.ignored) return;
    }
  }

  private isCritical(type: number): boolean {
    return type === StreamType.CONTROL || type === StreamType.QPACK_ENCODER || type === StreamType.QPACK_DECODER;
  }

  private bindUni(id: number, st: UniState): void {
    const t = st.type;
    if (this.isCritical(t)) {
      if (this.peerCritical.has(t)) throw connErr(H3Code.STREAM_CREATION_ERROR, `second peer stream of type ${t}`);
      this.peerCritical.set(t, id);
      if (t === StreamType.CONTROL) {
        const reader = new FrameReader(16 * 1024);
        const sink = {
          frame: (type: number, p: Buffer) => this.controlFrame(type, p),
          data: () => {},
          dataHeader: () => {
            throw connErr(H3Code.FRAME_UNEXPECTED, 'DATA on control stream');
          },
        };
        st.sink = (chunk) => reader.push(chunk, sink);
      } else if (t === StreamType.QPACK_ENCODER) {
        const r = new EncoderStreamReader();
        st.sink = (chunk) => r.push(chunk);
      } else {
        const r = new DecoderStreamReader();
        st.sink = (chunk) => r.push(chunk);
      }
      return;
    }
    if (t === StreamType.PUSH) {
      // We never send MAX_PUSH_ID, so a push stream is a push ID error (client) or not
      // something a client may open (server).
      if (this.role === 'client') throw connErr(H3Code.ID_ERROR, 'push stream without MAX_PUSH_ID');
      throw connErr(H3Code.STREAM_CREATION_ERROR, 'client opened a push stream');
    }
    if (this.wt && t === WT_UNI_STREAM_TYPE) {
      const u = this.wt.acceptUni(id);
      st.sink = u.data;
      st.onFin = u.fin;
      st.onReset = u.reset;
      return;
    }
    // Unknown or reserved stream type: abort reading and ignore (RFC 9114 section 6.2).
    st.ignored = true;
    this.conn.stopReading(id, H3Code.STREAM_CREATION_ERROR);
  }

  private controlFrame(type: number, p: Buffer): void {
    if (!this.peerSettings) {
      if (type !== Frame.SETTINGS) throw connErr(H3Code.MISSING_SETTINGS, `first control frame is 0x${type.toString(16)}, not SETTINGS`);
      this.peerSettings = decodeSettings(p);
      for (const w of this.settingsWaiters.splice(0)) w(this.peerSettings);
      return;
    }
    switch (type) {
      case Frame.SETTINGS:
        throw connErr(H3Code.FRAME_UNEXPECTED, 'second SETTINGS frame');
      case Frame.GOAWAY:
        this.onGoaway(decodeSingleVarint(p, 'GOAWAY'));
        return;
      case Frame.MAX_PUSH_ID:
        if (this.role === 'client') throw connErr(H3Code.FRAME_UNEXPECTED, 'MAX_PUSH_ID from server');
        decodeSingleVarint(p, 'MAX_PUSH_ID');
        return;
      case Frame.CANCEL_PUSH:
        decodeSingleVarint(p, 'CANCEL_PUSH');
        if (this.role === 'client') throw connErr(H3Code.ID_ERROR, 'CANCEL_PUSH for a push we never allowed');
        return;
      case Frame.PRIORITY_UPDATE_REQUEST:
      case Frame.PRIORITY_UPDATE_PUSH: {
        // RFC 9218 section 7.2: only on the client's control stream
        if (this.role === 'client') throw connErr(H3Code.FRAME_UNEXPECTED, 'PRIORITY_UPDATE from server');
        const id = readVarint(p, 0);
        if (id < 0) throw connErr(H3Code.FRAME_ERROR, 'malformed PRIORITY_UPDATE frame');
        // We never send MAX_PUSH_ID, so any push id is beyond it.
        if (type === Frame.PRIORITY_UPDATE_PUSH) throw connErr(H3Code.ID_ERROR, 'PRIORITY_UPDATE for a push we never allowed');
        if (id % 4 !== 0) throw connErr(H3Code.ID_ERROR, `PRIORITY_UPDATE for ${id}, not a client bidirectional stream`);
        this.onPriorityUpdate(id, p.subarray(varintLen(p[0]!)).toString('latin1'));
        return;
      }
      case Frame.HEADERS:
      case Frame.PUSH_PROMISE:
        throw connErr(H3Code.FRAME_UNEXPECTED, `frame 0x${type.toString(16)} on control stream`);
      default:
        return; // unknown frames were already skipped by the reader
    }
  }

  /** The client reprioritized request stream `id` (RFC 9218 PRIORITY_UPDATE; `value` is a
   *  Priority field value). The stream may not be open yet: clients send the frame before
   *  the request's HEADERS. Servers override this. */
  protected onPriorityUpdate(_id: number, _value: string): void {}

  /** Send PRIORITY_UPDATE for request stream `id` on our control stream (clients only). */
  sendPriorityUpdate(id: number, value: string): void {
    const v = Buffer.from(value, 'latin1');
    this.conn.write(this.role === 'client' ? 2 : 3, [encodeFrame(Frame.PRIORITY_UPDATE_REQUEST, Buffer.concat([encodeVarint(id), v]))], false);
  }

  /** Send GOAWAY on our control stream (stream 2 or 3: the first uni stream we opened). */
  protected sendGoaway(id: number): void {
    this.conn.write(this.role === 'client' ? 2 : 3, [encodeFrame(Frame.GOAWAY, encodeVarint(id))], false);
  }
}

// ---- field validation (RFC 9114 section 4.3) ----

export interface ParsedFields {
  pseudo: Map<string, string>;
  headers: Record<string, string>;
  contentLength: number | null;
}

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);

/** Validate a decoded field section; throws a stream error H3_MESSAGE_ERROR if malformed. */
export function parseFields(list: HeaderList, kind: 'request' | 'response' | 'trailers'): ParsedFields {
  const pseudo = new Map<string, string>();
  const headers: Record<string, string> = {};
  let regularSeen = false;
  const bad = (m: string) => new H3Error(H3Code.MESSAGE_ERROR, 'stream', `malformed ${kind}: ${m}`);
  for (const [name, value] of list) {
    if (name.length === 0) throw bad('empty field name');
    if (name !== name.toLowerCase()) throw bad(`uppercase field name ${name}`);
    if (name[0] === ':') {
      if (regularSeen) throw bad('pseudo-header after regular header');
      if (kind === 'trailers') throw bad('pseudo-header in trailers');
      const ok = kind === 'request' ? REQUEST_PSEUDO.has(name) : name === ':status';
      if (!ok) throw bad(`pseudo-header ${name} not allowed`);
      if (pseudo.has(name)) throw bad(`duplicate ${name}`);
      pseudo.set(name, value);
      continue;
    }
    regularSeen = true;
    if (name === 'connection' || name === 'keep-alive' || name === 'proxy-connection' || name === 'transfer-encoding' || name === 'upgrade') throw bad(`connection-specific header ${name}`);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  if (kind === 'response') {
    const s = pseudo.get(':status');
    if (!s || !/^\d{3}$/.test(s)) throw bad('missing or invalid :status');
  }
  if (kind === 'request') {
    const m = pseudo.get(':method');
    if (!m) throw bad('missing :method');
    if (m !== 'CONNECT' && (!pseudo.get(':scheme') || !pseudo.get(':path'))) throw bad('missing :scheme or :path');
  }
  let contentLength: number | null = null;
  const cl = headers['content-length'];
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) throw bad('invalid content-length');
    contentLength = Number(cl);
  }
  return { pseudo, headers, contentLength };
}

/** Frame sink for request streams; DATA before HEADERS etc. are caught by the caller's state. */
export interface RequestFrameSink {
  frame(type: number, payload: Buffer): void;
  data(chunk: Buffer): void;
  dataHeader(len: number): void;
}
