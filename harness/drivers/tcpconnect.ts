// TCP (and TLS over TCP) connections for the HTTP/1.x and HTTP/2 drivers, opened here so
// the drivers can time TCP connect and the TLS handshake, pass a TLS session (resumed mode)
// and hand out connections opened before the page clock (warm mode).
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionInfo, DriverTarget } from './types.ts';
import { logKeysTo } from './keylog.ts';

/** What a connection's opener knows; the driver adds its id and whether it was a preconnect. */
export type Timing = Omit<ConnectionInfo, 'connId' | 'preconnected'>;

export interface TlsChoice extends DriverTarget {
  /** the one ALPN protocol to offer (h2, http/1.1) */
  alpn: string;
  /** resume this TLS session (a ticket from an earlier connection's 'session' event) */
  session?: Buffer;
}

/** Open TCP, then TLS when `t` is given; `ready` hears the timing once the handshake is done
 *  (never on failure: the socket's 'error' tells). */
export function openTcp(host: string, port: number, t: TlsChoice, ready: (timing: Timing) => void): tls.TLSSocket;
export function openTcp(host: string, port: number, t: TlsChoice | null, ready: (timing: Timing) => void): net.Socket;
export function openTcp(host: string, port: number, t: TlsChoice | null, ready: (timing: Timing) => void): net.Socket {
  const startedAt = performance.now();
  let tcpAt: number | null = null;
  if (!t) {
    const s = net.connect({ host, port, noDelay: true });
    s.once('connect', () => ready({ startedAt, tcpConnectMs: performance.now() - startedAt, tlsHandshakeMs: null, quicHandshakeMs: null, resumed: null, zeroRtt: null }));
    return s;
  }
  const s = tls.connect({
    host,
    port,
    servername: t.servername,
    ca: t.caPem,
    rejectUnauthorized: !t.insecure,
    ALPNProtocols: [t.alpn],
    session: t.session,
  });
  s.setNoDelay(true);
  logKeysTo(s, t.keylogFile);
  // a TLSSocket emits the TCP 'connect' of its own handle before the handshake starts
  s.once('connect', () => (tcpAt = performance.now()));
  s.once('secureConnect', () => {
    const now = performance.now();
    const tcp = tcpAt ?? now;
    // Node's TLS has no early data: zeroRtt never applies on TCP
    ready({ startedAt, tcpConnectMs: tcp - startedAt, tlsHandshakeMs: now - tcp, quicHandshakeMs: null, resumed: s.isSessionReused(), zeroRtt: null });
  });
  return s;
}

/** Resolve with the server's first TLS session ticket on a fresh connection that makes no
 *  request (TLS 1.3 servers send tickets right after the handshake), then close it. */
export function primeTls(host: string, port: number, t: TlsChoice, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = openTcp(host, port, t, () => {});
    const timer = setTimeout(() => done(new Error(`no TLS session ticket from the server in ${timeoutMs} ms`)), timeoutMs);
    const done = (r: Buffer | Error) => {
      clearTimeout(timer);
      s.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    s.once('session', (ticket: Buffer) => done(ticket));
    s.once('error', (e) => done(e));
  });
}

/** The `connect` function undici's Client takes: (params, callback(err, socket)). */
export type UndiciConnect = (params: { hostname: string; port: string; protocol: string }, cb: (err: Error | null, socket: net.Socket | null) => void) => void;

/**
 * Connections for undici Clients (HTTP/1.x): each Client gets a connect function from
 * forClient(); a connection opened by preconnect() is handed to the first Client that asks,
 * later ones are opened on demand. TLS when the origin is https:.
 */
export class TcpConnector {
  private pool: { socket: net.Socket; timing: Timing }[] = [];
  /** resumed mode: the TLS session every new connection offers */
  session: Buffer | undefined;

  constructor(
    private readonly target: DriverTarget,
    private readonly onConnection: ((info: ConnectionInfo) => void) | undefined,
    /** a connection not ready after this long fails (undici's own connector has 10 s) */
    private readonly connectTimeoutMs: number,
  ) {}

  private tlsFor(protocol: string): TlsChoice | null {
    return protocol === 'https:' ? { ...this.target, alpn: 'http/1.1', session: this.session } : null;
  }

  /** Open `n` connections now and wait for their handshakes (warm mode). */
  async preconnect(n: number, protocol: string): Promise<void> {
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = openTcp(this.target.host, this.target.port, this.tlsFor(protocol), (timing) => {
              socket.off('error', reject);
              // an idle pooled socket that dies is dropped, not fatal
              socket.on('error', () => {});
              this.pool.push({ socket, timing });
              resolve();
            });
            socket.once('error', reject);
          }),
      ),
    );
  }

  /** Resumed mode: a priming TLS connection's ticket, offered by every later connection. */
  async prime(protocol: string, timeoutMs: number): Promise<void> {
    const t = this.tlsFor(protocol);
    if (!t) throw new Error('connection: resumed needs TLS (the origin is cleartext)');
    this.session = await primeTls(this.target.host, this.target.port, t, timeoutMs);
  }

  /** A connect function for one Client; `connId` names the connection it is about to hand over. */
  forClient(connId: () => string): UndiciConnect {
    return ({ protocol }, cb) => {
      const pooled = this.pool.shift();
      if (pooled && !pooled.socket.destroyed) {
        this.onConnection?.({ ...pooled.timing, connId: connId(), preconnected: true });
        queueMicrotask(() => cb(null, pooled.socket));
        return;
      }
      const socket = openTcp(this.target.host, this.target.port, this.tlsFor(protocol), (timing) => {
        clearTimeout(timer);
        socket.off('error', fail);
        this.onConnection?.({ ...timing, connId: connId(), preconnected: false });
        cb(null, socket);
      });
      const fail = (e: Error) => {
        clearTimeout(timer);
        cb(e, null);
      };
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      socket.once('error', fail);
    };
  }

  /** Close preconnected sockets no request used. */
  close(): void {
    for (const p of this.pool.splice(0)) p.socket.destroy();
  }
}
