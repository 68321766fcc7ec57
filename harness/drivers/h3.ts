// HTTP/3 over our h3/ stack: one QUIC connection, every request a stream on it. Requests
// beyond the server's MAX_STREAMS wait for stream credit inside the client, not here.
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
  let opened = 0;
  let client: H3Client | undefined;
  let connecting: Promise<H3Client> | undefined;
  const getClient = (): Promise<H3Client> => {
    if (client && !client.conn.closed) return Promise.resolve(client);
    connecting ??= connect(host, port, { servername, caPem, insecure, cc: opts.quicCc ?? 'cubic' }).then(
      (c) => {
        opened++;
        client = c;
        connecting = undefined;
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
