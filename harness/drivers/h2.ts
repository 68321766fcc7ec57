// HTTP/2 over TLS on node:http2: one connection, every request a stream on it. Windows
// are raised like a browser's so flow control never caps the path.
//
// The TLS socket is ours (createConnection), so the driver can time TCP connect and the TLS
// handshake and pass a session. Connection modes (types.ts ConnectionMode): warm connects in
// prepare(); resumed connects once in prepare(), keeps the TLS 1.3 session ticket the server
// sends after the handshake ('session' event), closes, and the job's connection resumes it.
// Node's TLS has no early data, so a resumed TLS 1.3 handshake still takes one round trip
// (it saves the certificate, not time on the wire).
import http2 from 'node:http2';
import type { RequestHandle } from '../records.ts';
import type { ConnectionInfo, Driver, DriverOptions, RequestOptions } from './types.ts';
import { openTcp, primeTls } from './tcpconnect.ts';

export async function createH2Driver(opts: DriverOptions): Promise<Driver> {
  const { host, port, servername } = opts.target;
  const mode = opts.connection ?? 'cold';
  let opened = 0;
  let session: http2.ClientHttp2Session | undefined;
  let connecting: Promise<http2.ClientHttp2Session> | undefined;
  /** the priming connection's TLS session (resumed mode) */
  let ticket: Buffer | undefined;
  let preconnecting = false;
  const tlsOpts = { ...opts.target, alpn: 'h2' };

  const connect = () =>
    (connecting ??= new Promise((resolve, reject) => {
      const connId = `h2.${opened + 1}`;
      const pre = preconnecting;
      let info: ConnectionInfo | undefined;
      const sock = openTcp(host, port, { ...tlsOpts, session: ticket }, (i) => (info = { ...i, connId, preconnected: pre }));
      const s = http2.connect(`https://${host}:${port}`, {
        createConnection: () => sock,
        settings: { initialWindowSize: 8 * 1024 * 1024, enablePush: false },
        peerMaxConcurrentStreams: 1000,
      });
      s.once('connect', () => {
        opened++;
        s.setLocalWindowSize(16 * 1024 * 1024);
        session = s;
        if (info) opts.onConnection?.(info);
        resolve(s);
      });
      s.once('error', (e) => {
        connecting = undefined;
        reject(e);
      });
      s.on('close', () => {
        if (session === s) session = undefined;
        connecting = undefined;
      });
    }));

  return {
    protocol: 'h2',
    async prepare() {
      // warm: open the connection now; resumed: a priming TLS connection (no request) hands
      // over the server's session ticket (tcpconnect.ts primeTls, as for HTTP/1.x)
      if (mode === 'warm') {
        preconnecting = true;
        try {
          await connect();
        } finally {
          preconnecting = false;
        }
      } else if (mode === 'resumed') ticket = await primeTls(host, port, tlsOpts, opts.requestTimeoutMs);
    },
    async get(path: string, h: RequestHandle, o?: RequestOptions) {
      let s: http2.ClientHttp2Session;
      try {
        s = session ?? (await connect());
      } catch (e) {
        return h.fail(e);
      }
      const connId = `h2.${opened}`;
      await new Promise<void>((resolve) => {
        const headers: http2.OutgoingHttpHeaders = { ':method': 'GET', ':path': path, ':authority': `${servername ?? host}:${port}` };
        if (o?.priority) headers.priority = o.priority;
        const st = s.request(headers);
        st.setTimeout(opts.requestTimeoutMs, () => st.close(http2.constants.NGHTTP2_CANCEL));
        let done = false;
        const finish = (err?: unknown) => {
          if (done) return;
          done = true;
          if (err) h.fail(err);
          else h.end();
          resolve();
        };
        let lengthB: number | null = null;
        let gotB = 0;
        st.on('response', (headers) => {
          const cl = Number(headers['content-length']);
          if (Number.isFinite(cl) && headers['content-length'] !== undefined) lengthB = cl;
          h.headers(Number(headers[':status']), { connId, streamId: st.id ?? -1 });
        });
        st.on('data', (chunk: Buffer) => ((gotB += chunk.length), h.data(chunk.length, chunk)));
        st.on('end', () => finish());
        st.on('error', (e) => finish(e));
        // closed without 'end': a reset, or the session went away mid-body (a NAT rebind, a
        // GOAWAY): a body shorter than its content-length is a failure, not a short success
        st.on('close', () =>
          finish(st.rstCode ? new Error(`stream reset (code ${st.rstCode})`) : lengthB !== null && gotB < lengthB ? new Error(`stream closed after ${gotB} of ${lengthB} body bytes`) : undefined),
        );
      });
    },
    connectionsOpened: () => opened,
    async close() {
      const s = session;
      session = undefined;
      if (s && !s.destroyed) await new Promise<void>((r) => s.close(() => r()));
    },
  };
}
