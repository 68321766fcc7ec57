// HTTP/2 over TLS on node:http2: one connection, every request a stream on it. Windows
// are raised like a browser's so flow control never caps the path.
import http2 from 'node:http2';
import type { RequestHandle } from '../records.ts';
import type { Driver, DriverOptions, RequestOptions } from './types.ts';

export async function createH2Driver(opts: DriverOptions): Promise<Driver> {
  const { host, port, caPem, servername } = opts.target;
  let opened = 0;
  let session: http2.ClientHttp2Session | undefined;
  let connecting: Promise<http2.ClientHttp2Session> | undefined;
  const connect = () =>
    (connecting ??= new Promise((resolve, reject) => {
      const s = http2.connect(`https://${host}:${port}`, {
        ca: caPem,
        servername,
        rejectUnauthorized: !opts.target.insecure,
        settings: { initialWindowSize: 8 * 1024 * 1024, enablePush: false },
        peerMaxConcurrentStreams: 1000,
      });
      s.once('connect', () => {
        opened++;
        s.setLocalWindowSize(16 * 1024 * 1024);
        session = s;
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
        st.on('response', (headers) => h.headers(Number(headers[':status']), { connId, streamId: st.id ?? -1 }));
        st.on('data', (chunk: Buffer) => h.data(chunk.length, chunk));
        st.on('end', () => finish());
        st.on('error', (e) => finish(e));
        st.on('close', () => finish(st.rstCode ? new Error(`stream reset (code ${st.rstCode})`) : undefined));
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
