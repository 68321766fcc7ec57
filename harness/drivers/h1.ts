// HTTP/1.0 and HTTP/1.1 over undici. A browser's HTTP/1.1 pattern is N connections, each
// carrying one request at a time; we model it exactly with N single-connection undici
// Clients and a FIFO of waiting requests, which also gives every request a connection id.
// http1.0 opens a fresh connection per request (Connection: close), up to N at once.
//
// TLS (target.tls, the job's choice; the default of the protocol table): https:// with ALPN
// http/1.1, verified against the per-run certificate. Connections are opened by
// tcpconnect.ts, not undici's connector (timed; warm: preconnected ones handed out first, so
// http1.0's first N requests use them; resumed: the TLS session of a priming connection).
// Outside `resumed` every connection does a full handshake: our connector offers a session
// only in that mode (undici's own session cache, maxCachedSessions, belongs to its built-in
// connector, which is not used). So http1.0 pays TCP + a full TLS handshake per request, as
// a browser without tickets does.
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { RequestHandle } from '../records.ts';
import type { Driver, DriverOptions } from './types.ts';
import { TcpConnector } from './tcpconnect.ts';

interface Slot {
  client: Client;
  idx: number;
  /** connect events on this client; with the slot index it names the connection */
  connects: number;
}

export function createH1Driver(version: '1.0' | '1.1') {
  return async (opts: DriverOptions): Promise<Driver> => {
    const { host, port, tls } = opts.target;
    if (tls === undefined) throw new Error('h1 driver: target.tls must say whether to connect over TLS');
    const origin = `${tls ? 'https' : 'http'}://${host}:${port}`;
    const perRequest = version === '1.0';
    let opened = 0;
    let closed = false;
    const connector = new TcpConnector(opts.target, opts.onConnection, opts.requestTimeoutMs);
    const newSlot = (idx: number): Slot => {
      const client = new Client(origin, {
        pipelining: 1,
        // the id headers() gives the connection this Client is about to open
        connect: connector.forClient(() => `c${idx}.${slot.connects + 1}`) as any,
        headersTimeout: opts.requestTimeoutMs,
        bodyTimeout: opts.requestTimeoutMs,
        keepAliveTimeout: 120_000,
        keepAliveMaxTimeout: 120_000,
      });
      const slot: Slot = { client, idx, connects: 0 };
      client.on('connect', () => {
        slot.connects++;
        opened++;
      });
      return slot;
    };
    const free: Slot[] = [];
    const all: Slot[] = [];
    let nextIdx = 0;
    if (!perRequest) for (let i = 0; i < opts.connections; i++) all.push(newSlot(nextIdx++)), free.push(all[all.length - 1]!);
    let perRequestBusy = 0;
    const waiting: (() => void)[] = [];

    const acquire = async (): Promise<Slot> => {
      if (perRequest) {
        while (perRequestBusy >= opts.connections) await new Promise<void>((r) => waiting.push(r));
        perRequestBusy++;
        return newSlot(nextIdx++);
      }
      while (!free.length) await new Promise<void>((r) => waiting.push(r));
      return free.shift()!;
    };
    const release = (slot: Slot) => {
      if (perRequest) {
        perRequestBusy--;
        void slot.client.close().catch(() => {});
      } else free.push(slot);
      waiting.shift()?.();
    };

    return {
      protocol: `http${version}`,
      async prepare() {
        const protocol = new URL(origin).protocol;
        if (opts.connection === 'warm') await connector.preconnect(opts.connections, protocol);
        else if (opts.connection === 'resumed') await connector.prime(protocol, opts.requestTimeoutMs);
      },
      async get(path: string, h: RequestHandle) {
        if (closed) return h.fail(new Error('driver closed'));
        const slot = await acquire();
        await new Promise<void>((resolve) => {
          // undici's Client.dispatch validates the classic handler shape (onConnect/onHeaders/...)
          const handler = {
            onConnect() {},
            onHeaders(status: number) {
              h.headers(status, { connId: `c${slot.idx}.${slot.connects}`, streamId: 0 });
              return true;
            },
            onData(chunk: Buffer) {
              h.data(chunk.length, chunk);
              return true;
            },
            onComplete() {
              h.end();
              resolve();
            },
            onError(err: Error) {
              h.fail(err);
              resolve();
            },
          } as unknown as Dispatcher.DispatchHandler;
          slot.client.dispatch(
            {
              origin,
              path,
              method: 'GET',
              headers: perRequest ? { connection: 'close' } : {},
              reset: perRequest,
            },
            handler,
          );
        });
        release(slot);
      },
      connectionsOpened: () => opened,
      async close() {
        closed = true;
        connector.close();
        await Promise.all(all.map((s) => s.client.destroy().catch(() => {})));
      },
    };
  };
}
