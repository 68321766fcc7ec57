// Client side of a protocol. One driver file per protocol, picked in harness/drivers/registry.ts.
// Drivers run inside the client namespace (in the agent process) and never print.
import type { RequestHandle } from '../records.ts';

export interface DriverTarget {
  host: string;
  /** TCP or UDP port the matching server plugin reported */
  port: number;
  /** connect over TLS: the job's TLS choice (ProtocolSpec.tls). Read by the drivers of
   *  protocols where TLS is a choice (HTTP/1.x, which require it); the others have one way */
  tls?: boolean;
  /** PEM of the per-run CA/certificate the server uses (TLS protocols) */
  caPem?: string;
  /** TLS server name; the per-run certificate covers "holbench.test" and the server IP */
  servername?: string;
  /** skip certificate verification (fetch --insecure only; runs always verify) */
  insecure?: boolean;
  /** capture on: append every TLS and QUIC connection's secrets to this file, NSS key log
   *  format (harness/drivers/keylog.ts; harness/probes/capture.ts names the file) */
  keylogFile?: string;
}

/** How a job's connections begin (scenario `connection`, harness/scenario/schema.ts):
 *  cold: opened by the first request, inside the page clock (handshakes included);
 *  warm: opened and handshaken by prepare(), before the page clock (a preconnect);
 *  resumed: opened by the first request with a TLS 1.3 session ticket from a priming
 *  connection that prepare() made and closed (h3: the first requests go out in 0-RTT). */
export const CONNECTION_MODES = ['cold', 'warm', 'resumed'] as const;
export type ConnectionMode = (typeof CONNECTION_MODES)[number];

/** One transport connection a driver opened for the job, reported once its handshake
 *  completed. Durations in ms; null where a step does not apply (no TLS on cleartext, no
 *  TCP under QUIC) or was not measured. */
export interface ConnectionInfo {
  /** the conn_id the connection's requests carry (RequestHandle.headers) */
  connId: string;
  /** performance.now() when the driver began opening it (the agent turns it into job time) */
  startedAt: number;
  /** opened before the page clock started (warm: a preconnect) */
  preconnected: boolean;
  /** TCP: connect() to the connection established (SYN -> SYN-ACK, one RTT) */
  tcpConnectMs: number | null;
  /** TLS over TCP: TCP established to the TLS handshake complete (client side: the server's
   *  Finished verified) */
  tlsHandshakeMs: number | null;
  /** QUIC: first Initial to the handshake complete (client side) */
  quicHandshakeMs: number | null;
  /** a TLS session was resumed; null on cleartext */
  resumed: boolean | null;
  /** 0-RTT: null = no request went out as early data; true = requests went out in 0-RTT and
   *  the server took them; false = they went out and the server refused them (they were
   *  sent again after the handshake) */
  zeroRtt: boolean | null;
}

export interface DriverOptions {
  target: DriverTarget;
  /** connections the protocol may open (http1.1: 1 or 6; multiplexed protocols: 1) */
  connections: number;
  /** per-request timeout, ms */
  requestTimeoutMs: number;
  /** QUIC congestion control for h3 ('cubic' | 'reno' | 'bbr') */
  quicCc?: string;
  /** how connections begin (default cold); warm and resumed need prepare() */
  connection?: ConnectionMode;
  /** hears of every connection the job's requests use, once its handshake completed (the
   *  resumed mode's priming connection is not one of them) */
  onConnection?: (info: ConnectionInfo) => void;
}

/** Per-request signals a browser would attach. */
export interface RequestOptions {
  /** RFC 9218 Priority field value ('u=0, i'; '' = the default, nothing sent). h2 sends it as
   *  the `priority` header; h3 as the header and a PRIORITY_UPDATE frame before the request's
   *  HEADERS, as Chromium does (harness/workloads/browser-priority.ts); HTTP/1.x ignores it. */
  priority?: string;
}

export interface Driver {
  readonly protocol: string;
  /** GET `path`, report its lifecycle on `h`; resolves when it ended or failed (never rejects). */
  get(path: string, h: RequestHandle, o?: RequestOptions): Promise<void>;
  /** Before the page clock: warm opens the connections the protocol naturally uses (h2, h3:
   *  one; http1.1xN: N; http1.0: up to its cap of N, which carry its first N requests) and
   *  completes their handshakes; resumed opens one priming connection, keeps the session
   *  ticket the server sends after the handshake and closes it; cold does nothing. Rejects
   *  when that fails (no ticket arrived, the connection failed). */
  prepare?(): Promise<void>;
  /** distinct transport connections opened so far (counted on 'connect' events; warm
   *  preconnects count, the resumed mode's priming connection does not) */
  connectionsOpened(): number;
  /** close every connection; idempotent */
  close(): Promise<void>;
}

export type DriverFactory = (opts: DriverOptions) => Promise<Driver>;
