// The QUIC connection of an HTTP/3 message driver that keeps one at a time (sse-h3 and the
// gRPC-over-HTTP/3 channel): dialled on first use, reused while it is open, dialled again once
// it is gone (closed, idled out, or forgotten after a GOAWAY); concurrent get()s share one
// dial. Dial options come from the driver's target and keepalive (quicConnectOptions), so
// every HTTP/3 message driver dials alike. Nothing here loads the native binding before
// create() is called (the caller checks h3Support() first).
import type { ConnectOptions, H3Client } from '../../h3/client.ts';
import type { Keepalive } from '../../contract/messages.ts';
import type { DriverTarget } from './types.ts';
import { QuicWireTally } from './quic-wire.ts';

export interface QuicDial {
  target: DriverTarget;
  keepalive: Keepalive;
  /** bound on the QUIC handshake */
  handshakeTimeoutMs: number;
}

/** h3/client.ts connect() options: TLS from the target, QUIC idle timeout and PINGs from the
 *  keepalive. */
export function quicConnectOptions(o: QuicDial): ConnectOptions {
  const { servername, caPem, insecure, keylogFile } = o.target;
  return {
    servername,
    caPem,
    insecure,
    keylogFile,
    idleTimeoutMs: o.keepalive.quicIdleTimeoutMs,
    pingMs: o.keepalive.pingMs,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
  };
}

export class QuicConnection {
  private client: H3Client | null = null;
  private connecting: Promise<H3Client> | null = null;
  private opened = 0;
  private closed = false;
  /** wire bytes of every connection dialled, the replaced ones included */
  private readonly wire = new QuicWireTally();

  private constructor(
    /** the rejection of get() after close(), e.g. "sse-h3 transport closed" */
    private readonly closedMessage: string,
    private readonly o: QuicDial,
    private readonly connect: typeof import('../../h3/client.ts').connect,
  ) {}

  static async create(closedMessage: string, o: QuicDial): Promise<QuicConnection> {
    const { connect } = await import('../../h3/client.ts');
    return new QuicConnection(closedMessage, o, connect);
  }

  /** QUIC connections opened so far */
  connections(): number {
    return this.opened;
  }

  /** The current connection, or a new one when it is closed (or there is none yet). */
  get(): Promise<H3Client> {
    if (this.closed) return Promise.reject(new Error(this.closedMessage));
    if (this.client && !this.client.conn.closed) return Promise.resolve(this.client);
    const { host, port } = this.o.target;
    this.connecting ??= this.connect(host, port, quicConnectOptions(this.o)).then(
      (c) => {
        this.connecting = null;
        if (this.closed) {
          void c.close();
          throw new Error(this.closedMessage);
        }
        this.opened++;
        this.wire.add(c);
        this.client = c;
        return c;
      },
      (e) => {
        this.connecting = null;
        throw e;
      },
    );
    return this.connecting;
  }

  /** `c` sent GOAWAY: if it is the current connection, the next get() dials a new one. */
  forget(c: H3Client): void {
    if (this.client === c) this.client = null;
  }

  /** UDP payload bytes read/written by the connections so far */
  wireBytes(): { read: number; written: number } {
    return this.wire.total();
  }

  /** Close the connection (and one being dialled); get() rejects from now on. */
  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    if (c) await c.close();
    await this.connecting?.catch(() => {});
  }
}
