// WebSocket over the `ws` package (RFC 6455, no compression: we measure wire bytes), against
// the msg plugin's /ws endpoint. echo: send() writes a text frame that comes back unchanged;
// push: the server follows its schedule (?mode=push&<push params>).
//
// Liveness: keepalive.pingMs sends a ping every pingMs and declares the peer dead when no
// pong arrives within pingTimeoutMs (default pingMs): onDead('ws-ping'), terminate.
// tcpKeepaliveMs turns on TCP keepalive on the socket (a connection it kills is reported as
// 'tcp-keepalive'). Any other loss of an open channel is onDead('error:<code>' | 'closed').
// With resume, the driver then reconnects after retryMs (default 1000) and, for push, asks
// for the messages after the highest seq it has seen; a failed attempt (each bounded by
// requestTimeoutMs) is retried after retryMs until close(). reconnects() counts reconnections
// that succeeded; connectionsOpened() counts TCP connections established. An echo sent while
// no connection is open waits for the next one (HeldSends), or without resume is
// onLost('not-sent').
import net from 'node:net';
import WebSocket from 'ws';
import { decodeMessage, encodeMessage, pushQuery } from '../../contract/messages.ts';
import { HeldSends, type MessageDriver, type MessageDriverFactory, type MessageEvents, type OpenParams } from './messages.ts';

export const createWsDriver: MessageDriverFactory = async (opts) => {
  const ka = opts.keepalive;
  const retryMs = ka.retryMs ?? 1000;
  let opened = 0;
  let closedRead = 0;
  let closedWritten = 0;
  const live = new Set<net.Socket>();
  let reconnects = 0;
  let closed = false;
  let ws: WebSocket | null = null;
  let params: OpenParams | null = null;
  let events: MessageEvents | null = null;
  let highest = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  /** stops the current connection's timers */
  let stopTimers = () => {};

  const url = () => {
    const p = params!;
    const q = p.pattern === 'push' ? `mode=push&${pushQuery({ stream: p.stream, count: p.count, intervalMs: p.intervalMs, bytes: p.bytes, after: highest })}` : 'mode=echo';
    return `ws://${opts.target.host}:${opts.target.port}/ws?${q}`;
  };

  /** One connection attempt; resolves once open, rejects if it cannot be opened. */
  const connect = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let sockErr: NodeJS.ErrnoException | null = null;
      let isOpen = false;
      let dead = false; // onDead already reported for this connection
      let pingTimer: NodeJS.Timeout | undefined;
      let pongTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        clearInterval(pingTimer);
        clearTimeout(pongTimer);
      };
      const sock = new WebSocket(url(), {
        perMessageDeflate: false,
        handshakeTimeout: opts.requestTimeoutMs,
        maxPayload: (1 << 20) + 1024,
        createConnection: (o: net.NetConnectOpts) => {
          const s = net.connect(o);
          s.setNoDelay(true);
          if (ka.tcpKeepaliveMs) s.setKeepAlive(true, ka.tcpKeepaliveMs);
          s.once('connect', () => void opened++);
          live.add(s);
          s.once('close', () => {
            live.delete(s);
            closedRead += s.bytesRead;
            closedWritten += s.bytesWritten;
          });
          s.on('error', (e: NodeJS.ErrnoException) => void (sockErr ??= e));
          return s;
        },
      } as WebSocket.ClientOptions);
      ws = sock;
      const declareDead = (mechanism: string, detail: string) => {
        if (dead) return;
        dead = true;
        stop();
        if (!closed) events!.onDead(mechanism, detail);
      };
      sock.on('open', () => {
        isOpen = true;
        stopTimers = stop;
        held.flush((seq) => write(sock, seq));
        if (ka.pingMs) {
          const timeout = ka.pingTimeoutMs ?? ka.pingMs;
          pingTimer = setInterval(() => {
            if (pongTimer || sock.readyState !== WebSocket.OPEN) return;
            sock.ping();
            pongTimer = setTimeout(() => {
              declareDead('ws-ping', `no pong within ${timeout} ms`);
              sock.terminate();
            }, timeout);
          }, ka.pingMs);
        }
        resolve();
      });
      sock.on('pong', () => {
        clearTimeout(pongTimer);
        pongTimer = undefined;
      });
      sock.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        const m = decodeMessage(buf);
        if (!m || closed) return;
        if (m.seq > highest) highest = m.seq;
        events!.onMessage(m.seq, m.tMs, m.bytes);
      });
      let wsErr: Error | null = null;
      sock.on('error', (e) => void (wsErr ??= e));
      sock.on('close', (code: number, reason: Buffer) => {
        stop();
        if (ws === sock) ws = null;
        if (!isOpen) {
          const e = sockErr ?? wsErr;
          return reject(new Error(`ws connect to ${opts.target.host}:${opts.target.port} failed: ${e?.message ?? `closed (${code})`}`));
        }
        if (closed) return;
        if (sockErr) {
          const mech = sockErr.code === 'ETIMEDOUT' && ka.tcpKeepaliveMs ? 'tcp-keepalive' : `error:${sockErr.code ?? 'socket'}`;
          declareDead(mech, sockErr.message);
        } else if (wsErr) {
          declareDead(`error:${(wsErr as NodeJS.ErrnoException).code ?? 'ws'}`, wsErr.message);
        } else {
          declareDead('closed', `close code ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
        }
        scheduleReconnect();
      });
    });

  const done = () => params!.pattern === 'push' && highest >= params!.count;

  /** echo: sent while reconnecting, written once the next connection is open */
  const held = new HeldSends();
  const write = (s: WebSocket, seq: number) => {
    try {
      s.send(encodeMessage(seq, params!.bytes));
    } catch {
      events!.onLost(seq, 'not-sent');
    }
  };

  const scheduleReconnect = () => {
    if (closed || !params!.resume || done()) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (closed) return;
      connect().then(
        () => {
          if (closed) return void ws?.terminate();
          reconnects++;
        },
        () => scheduleReconnect(),
      );
    }, retryMs);
  };

  const driver: MessageDriver & { wireBytes(): { read: number; written: number } } = {
    protocol: 'ws',
    patterns: ['echo', 'push'],
    async open(p, ev) {
      if (closed) throw new Error('ws driver closed');
      if (params) throw new Error('ws driver: open() called twice');
      params = p;
      events = ev;
      highest = 0;
      await connect();
    },
    send(seq) {
      const s = ws;
      if (!closed && params && s?.readyState === WebSocket.OPEN) return write(s, seq);
      // no open connection: wait for the next one (resume), else lost now, not after request_ms
      if (!closed && params?.resume) held.hold(seq);
      else events?.onLost(seq, 'not-sent');
    },
    connectionsOpened: () => opened,
    reconnects: () => reconnects,
    /** bytes read/written on every socket so far (TCP payload: handshake and framing included) */
    wireBytes: () => {
      let read = closedRead;
      let written = closedWritten;
      for (const s of live) (read += s.bytesRead), (written += s.bytesWritten);
      return { read, written };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retryTimer);
      stopTimers();
      const s = ws;
      ws = null;
      if (!s || s.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.terminate();
      });
    },
  };
  return driver;
};
