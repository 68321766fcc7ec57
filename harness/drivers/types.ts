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
}

export interface DriverOptions {
  target: DriverTarget;
  /** connections the protocol may open (http1.1: 1 or 6; multiplexed protocols: 1) */
  connections: number;
  /** per-request timeout, ms */
  requestTimeoutMs: number;
  /** QUIC congestion control for h3 ('cubic' | 'reno' | 'bbr') */
  quicCc?: string;
}

export interface Driver {
  readonly protocol: string;
  /** GET `path`, report its lifecycle on `h`; resolves when it ended or failed (never rejects). */
  get(path: string, h: RequestHandle): Promise<void>;
  /** distinct transport connections opened so far (counted on 'connect' events) */
  connectionsOpened(): number;
  /** close every connection; idempotent */
  close(): Promise<void>;
}

export type DriverFactory = (opts: DriverOptions) => Promise<Driver>;
