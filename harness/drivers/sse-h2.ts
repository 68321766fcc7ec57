// `sse-h2`: the event stream (servers/eventstream.ts) on one HTTP/2 connection over TLS,
// node:http2. The SSE logic is createEventStreamDriver's (sse.ts); this file is the
// transport: one session at a time, a new one when a request finds the last one gone.
//
// Liveness is HTTP/2's own: with keepalive.pingMs the session sends a PING every pingMs and
// destroys itself when the ACK is pingTimeoutMs late (onDead 'h2-ping'), the way browsers
// and gRPC detect a silent path on a multiplexed connection. tcpKeepaliveMs applies to the
// TLS socket (created here, so the socket options are ours to set).
import http2 from 'node:http2';
import tls from 'node:tls';
import { h2PingKeepalive } from '../../contract/messages.ts';
import { errorMechanism, createEventStreamDriver, type StreamTransport } from './sse.ts';
import type { MessageDriverFactory } from './messages.ts';
import { logKeysTo } from './keylog.ts';

export const createSseH2Driver: MessageDriverFactory = async (opts) => {
  const { host, port, caPem, servername, insecure } = opts.target;
  const ka = opts.keepalive;
  let opened = 0;
  let session: http2.ClientHttp2Session | undefined;
  let connecting: Promise<http2.ClientHttp2Session> | undefined;
  /** sessions our PING keepalive declared dead */
  const pingDead = new WeakSet<http2.ClientHttp2Session>();
  let sockErr: NodeJS.ErrnoException | null = null;
  let closed = false;

  const connect = (): Promise<http2.ClientHttp2Session> =>
    (connecting ??= new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      const s = http2.connect(`https://${host}:${port}`, {
        settings: { enablePush: false },
        createConnection: () => {
          const sock = tls.connect({ host, port, servername: servername ?? host, ca: caPem, rejectUnauthorized: !insecure, ALPNProtocols: ['h2'] });
          sock.setNoDelay(true);
          logKeysTo(sock, opts.target.keylogFile);
          if (ka.tcpKeepaliveMs) sock.setKeepAlive(true, ka.tcpKeepaliveMs);
          sock.on('error', (e: NodeJS.ErrnoException) => void (sockErr = e));
          return sock;
        },
      });
      const timer = setTimeout(() => s.destroy(Object.assign(new Error(`connect timed out after ${opts.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })), opts.requestTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        opened++;
        session = s;
        connecting = undefined;
        if (ka.pingMs) h2PingKeepalive(s, ka.pingMs, ka.pingTimeoutMs ?? ka.pingMs, () => pingDead.add(s));
        resolve(s);
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        if (connecting && session !== s) (connecting = undefined), reject(e);
      });
      s.once('close', () => {
        clearTimeout(timer);
        if (session === s) session = undefined;
        if (connecting && session !== s) (connecting = undefined), reject(new Error('HTTP/2 session closed before it connected'));
      });
    }));

  const t: StreamTransport = {
    async request(path, headers, signal) {
      if (closed) throw new Error('sse-h2 driver closed');
      sockErr = null;
      const s = session && !session.closed && !session.destroyed ? session : await connect();
      const st = s.request({ ':method': 'GET', ':path': path, ...headers }, { endStream: true });
      const cancel = () => st.close(http2.constants.NGHTTP2_CANCEL);
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
      st.once('close', () => signal.removeEventListener('abort', cancel));
      const head = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const timer = setTimeout(() => (reject(Object.assign(new Error(`no response within ${opts.requestTimeoutMs} ms`), { code: 'ETIMEDOUT' })), cancel()), opts.requestTimeoutMs);
        st.once('response', (h) => (clearTimeout(timer), resolve(h)));
        st.once('error', (e) => (clearTimeout(timer), reject(e)));
        st.once('close', () => (clearTimeout(timer), reject(Object.assign(new Error(`stream closed before a response (code ${st.rstCode})`), { code: 'ERR_HTTP2_STREAM_CLOSED' }))));
      });
      // The body: the stream's chunks; ends with the stream, throws if the stream was reset
      // or its session died (our PING keepalive's verdict wins over whatever error or end
      // the dying session gave the stream).
      const pingError = () => Object.assign(new Error(`no HTTP/2 PING ACK within ${ka.pingTimeoutMs ?? ka.pingMs} ms`), { code: 'HOLBENCH_H2_PING' });
      async function* body(): AsyncGenerator<Uint8Array> {
        try {
          for await (const chunk of st) yield chunk as Buffer;
        } catch (e) {
          throw pingDead.has(s) ? pingError() : e;
        }
        if (pingDead.has(s)) throw pingError();
        if (s.destroyed && !closed) throw Object.assign(new Error('HTTP/2 session gone'), { code: 'ERR_HTTP2_SESSION_GONE' });
        if (st.rstCode && st.rstCode !== http2.constants.NGHTTP2_NO_ERROR) throw Object.assign(new Error(`stream reset (code ${st.rstCode})`), { code: `RST_${st.rstCode}` });
      }
      return { status: Number(head[':status']), contentType: String(head['content-type'] ?? ''), body: body() };
    },
    connections: () => opened,
    mechanismOf(err) {
      const e = err as { code?: string; message?: string } | undefined;
      if (e?.code === 'HOLBENCH_H2_PING') return { mechanism: 'h2-ping', detail: e.message ?? '' };
      return errorMechanism(err, sockErr, ka);
    },
    async close() {
      closed = true;
      const s = session;
      session = undefined;
      if (s && !s.destroyed) await new Promise<void>((r) => (s.close(() => r()), setTimeout(() => (s.destroy(), r()), 1000).unref()));
    },
  };
  return createEventStreamDriver('sse-h2', t, { retryMs: ka.retryMs, heartbeatTimeoutMs: 0 });
};
