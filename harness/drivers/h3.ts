// HTTP/3 over our h3/ stack: one QUIC connection, every request a stream on it. Requests
// beyond the server's MAX_STREAMS wait for stream credit inside the client, not here.
//
// Connection modes (types.ts ConnectionMode): warm connects in prepare(); resumed connects
// once in prepare() to get a session ticket (the server sends it after the handshake), closes,
// and the job's connection resumes that session with early data on, so the first requests
// go out in 0-RTT and the server answers them in 0.5-RTT.
import { h3Support } from '../../h3/binding.ts';
import { H3UnsupportedError, QuicError } from '../../h3/errors.ts';
import type { H3Client } from '../../h3/client.ts';
import type { RequestHandle } from '../records.ts';
import type { Driver, DriverFactory, RequestOptions } from './types.ts';

export { h3Support };

export const createH3Driver: DriverFactory = async (opts) => {
  const support = h3Support();
  if (!support.ok) throw new H3UnsupportedError(`h3 unsupported: ${support.reason}`);
  const { connect } = await import('../../h3/client.ts');
  const { host, port, caPem, servername, insecure } = opts.target;
  const mode = opts.connection ?? 'cold';
  const base = { servername, caPem, insecure, cc: opts.quicCc ?? 'cubic', keylogFile: opts.target.keylogFile };
  let opened = 0;
  let client: H3Client | undefined;
  let connecting: Promise<H3Client> | undefined;
  /** the priming connection's session (resumed mode) */
  let session: Buffer | undefined;
  let preconnecting = false;

  /** Report the connection once its handshake completed. 0-RTT acceptance: the binding
   *  (quiche 0.18) does not expose BoringSSL's early-data status, but BoringSSL accepts the
   *  early data of a resumed handshake whose ticket allowed it, and our server enables early
   *  data on every ticket; a refused ticket means a full handshake and refused early data. */
  const report = (c: H3Client, preconnected: boolean) => {
    c.handshake().then(
      () => {
        const q = c.conn;
        opts.onConnection?.({
          connId: `h3.${c.connId}`,
          startedAt: q.createdAt,
          preconnected,
          tcpConnectMs: null,
          tlsHandshakeMs: null,
          quicHandshakeMs: q.handshakeMs,
          resumed: q.resumed,
          zeroRtt: c.earlyRequests > 0 ? q.resumed : null,
        });
      },
      () => {},
    );
  };

  const getClient = (): Promise<H3Client> => {
    if (client && !client.conn.closed) return Promise.resolve(client);
    const pre = preconnecting;
    connecting ??= connect(host, port, { ...base, ...(session ? { session, earlyData: true } : {}) }).then(
      (c) => {
        opened++;
        client = c;
        connecting = undefined;
        report(c, pre);
        return c;
      },
      (e) => {
        connecting = undefined;
        throw e;
      },
    );
    return connecting;
  };

  const driver: Driver = {
    protocol: 'h3',
    async prepare() {
      if (mode === 'warm') {
        preconnecting = true;
        try {
          await getClient();
        } finally {
          preconnecting = false;
        }
      } else if (mode === 'resumed') {
        const prime = await connect(host, port, base);
        try {
          session = await prime.waitSession(opts.requestTimeoutMs);
        } finally {
          await prime.close();
        }
      }
    },
    async get(path: string, h: RequestHandle, o?: RequestOptions) {
      let c: H3Client;
      try {
        c = await getClient();
      } catch (e) {
        return h.fail(e);
      }
      await new Promise<void>((resolve) => {
        let done = false;
        const finish = (err?: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (err) h.fail(err);
          else h.end();
          resolve();
        };
        const req = c.request('GET', path, o?.priority ? { priority: o.priority } : {}, {
          headers: (status, _headers, ids) => h.headers(status, { connId: `h3.${ids.connId}`, streamId: ids.streamId }),
          data: (chunk) => h.data(chunk.length, chunk),
          end: () => finish(),
          error: (e) => finish(e),
        }, o?.priority ? { priorityUpdate: o.priority } : undefined);
        const timer = setTimeout(() => {
          finish(new QuicError('HOLBENCH_QUIC_TIMEOUT', `request timed out after ${opts.requestTimeoutMs} ms`));
          req.cancel();
        }, opts.requestTimeoutMs);
      });
    },
    connectionsOpened: () => opened,
    async close() {
      const c = client;
      client = undefined;
      if (c) await c.close();
    },
  };
  return driver;
};
