// WebTransport over HTTP/3 (`webtransport-stream`, `webtransport-uni`, `webtransport-datagram`)
// on our h3/ client: one session (extended CONNECT to the h3 plugin's /wt) on one QUIC
// connection at a time; messages travel as contract/webtransport.ts says:
//   stream    lines on one bidirectional stream (ordered, retransmitted: a loss holds the
//             messages behind it)
//   uni       one unidirectional stream per message (retransmitted, but a loss holds only its
//             own message)
//   datagram  one HTTP/3 datagram per message (RFC 9297): never retransmitted, so a lost
//             packet is a lost message (the workload counts it in msgs_lost)
// Dead peer: as sse-h3, QUIC's idle timeout (keepalive.quicIdleTimeoutMs) with PINGs every
// keepalive.pingMs keeping a quiet connection open: onDead('quic-idle'); 'closed' when the
// server ended the session, else 'error:<code>'. With resume (stream and uni only; the
// protocol table refuses resume for datagrams), a new connection and session follow after
// retryMs, push asking for the messages after the highest seq seen. An echo sent while no
// session is live waits for the next one (HeldSends); without resume, or a datagram dropped
// before leaving, it is onLost('not-sent').
import { decodeMessage, encodeMessage } from '../../contract/messages.ts';
import { LineSplitter, wtPath, type WtVia } from '../../contract/webtransport.ts';
import { h3Support } from '../../h3/binding.ts';
import { H3UnsupportedError } from '../../h3/errors.ts';
import type { H3Client } from '../../h3/client.ts';
import type { WtSession, WtStream } from '../../h3/webtransport.ts';
import { HeldSends, type MessageDriver, type MessageDriverFactory, type MessageEvents, type OpenParams } from './messages.ts';
import { QuicWireTally } from './quic-wire.ts';
import { quicConnectOptions } from './quic-conn.ts';

export function createWebTransportDriver(via: WtVia): MessageDriverFactory {
  const protocol = `webtransport-${via}`;
  return async (opts) => {
    const support = h3Support();
    if (!support.ok) throw new H3UnsupportedError(`${protocol} unsupported: ${support.reason}`);
    const [{ connect }, { QuicIdleTimeout }] = await Promise.all([import('../../h3/client.ts'), import('../../h3/quic.ts')]);
    const { host, port } = opts.target;
    const ka = opts.keepalive;
    const retryMs = ka.retryMs ?? 1000;
    let client: H3Client | null = null;
    let session: WtSession | null = null;
    let bidi: WtStream | null = null;
    let params: OpenParams | null = null;
    let events: MessageEvents | null = null;
    let highest = 0;
    let opened = 0;
    let reconnects = 0;
    let closed = false;
    let retryTimer: NodeJS.Timeout | undefined;
    const wire = new QuicWireTally();

    const deliver = (text: Buffer | string) => {
      const m = decodeMessage(text);
      if (!m || closed) return;
      if (m.seq > highest) highest = m.seq;
      events!.onMessage(m.seq, m.tMs, m.bytes);
    };
    const done = () => params!.pattern === 'push' && highest >= params!.count;
    /** echo: sent while reconnecting, written once the next session is up */
    const held = new HeldSends();
    const write = (s: WtSession, seq: number) => {
      const m = encodeMessage(seq, params!.bytes);
      if (via === 'datagram') {
        if (!s.sendDatagram(Buffer.from(m, 'latin1'))) events!.onLost(seq, 'not-sent'); // dropped before leaving
      } else if (via === 'uni') s.sendUni(Buffer.from(`${m}\n`, 'latin1'));
      else bidi!.write(Buffer.from(`${m}\n`, 'latin1'));
    };

    /** One connection + session; resolves once messages can flow. */
    const connectOnce = async (): Promise<void> => {
      const p = params!;
      const c = await connect(host, port, { ...quicConnectOptions({ target: opts.target, keepalive: ka, handshakeTimeoutMs: opts.requestTimeoutMs }), webtransport: true });
      opened++;
      wire.add(c);
      client = c;
      if (closed) return void (await c.close());
      let s: WtSession;
      // the table gives WebTransport echo and push only (load.ts refuses upload before a job)
      if (p.pattern === 'upload') throw new Error(`${protocol} cannot carry pattern upload`);
      try {
        s = await c.webtransport(wtPath(p.pattern, via, { stream: p.stream, count: p.count, intervalMs: p.intervalMs, bytes: p.bytes, after: highest }), {}, opts.requestTimeoutMs);
        if (via === 'datagram') {
          const max = s.maxDatagramPayload();
          if (max === null || max < p.bytes) throw new Error(`${protocol}: a ${p.bytes}-byte message does not fit one datagram (at most ${max ?? 0} B on this path); use message_bytes <= ${max ?? 0}`);
        }
      } catch (e) {
        await c.close();
        throw e;
      }
      session = s;
      if (via === 'datagram') s.listenDatagrams(deliver);
      if (via === 'uni') {
        s.listenStreams((st) => {
          const lines = new LineSplitter();
          st.listen({ data: (d) => lines.push(d, deliver) });
        });
      }
      if (via === 'stream') {
        const b = s.openBidi();
        if (!b) throw new Error(`${protocol}: the server allows no bidirectional stream`);
        bidi = b;
        const lines = new LineSplitter();
        b.listen({ data: (d) => lines.push(d, deliver) });
      }
      s.onclose = (err) => {
        if (session === s) (session = null), (bidi = null);
        if (closed) return;
        if (err instanceof QuicIdleTimeout) events!.onDead('quic-idle', `${err.message} (${ka.quicIdleTimeoutMs ?? 30_000} ms${ka.pingMs ? `, PING every ${ka.pingMs} ms` : ''})`);
        else if (!err) events!.onDead('closed', 'the server ended the WebTransport session');
        else events!.onDead(`error:${(err as Error & { code?: string }).code ?? err.name}`, err.message);
        void c.close();
        scheduleReconnect();
      };
      held.flush((seq) => write(s, seq));
    };

    const scheduleReconnect = () => {
      if (closed || !params!.resume || via === 'datagram' || done()) return;
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        if (closed) return;
        connectOnce().then(
          () => void reconnects++,
          () => scheduleReconnect(),
        );
      }, retryMs);
    };

    const driver: MessageDriver & { wireBytes(): { read: number; written: number } } = {
      protocol,
      patterns: ['echo', 'push'],
      async open(p, ev) {
        if (params) throw new Error(`${protocol} driver: open() called twice`);
        params = p;
        events = ev;
        await connectOnce();
      },
      send(seq) {
        const s = session;
        if (s && !s.closed && params && (via !== 'stream' || bidi)) return write(s, seq);
        // no live session: wait for the next one (resume), else lost now, not after request_ms
        if (!closed && params?.resume && via !== 'datagram') held.hold(seq);
        else events?.onLost(seq, 'not-sent');
      },
      connectionsOpened: () => opened,
      reconnects: () => reconnects,
      wireBytes: () => wire.total(),
      async close() {
        closed = true;
        clearTimeout(retryTimer);
        session?.close();
        await client?.close();
      },
    };
    return driver;
  };
}
