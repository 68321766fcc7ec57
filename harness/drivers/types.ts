// Client side of a protocol. One driver file per protocol, picked in harness/drivers/registry.ts.
// Drivers run inside the client namespace (in the agent process) and never print.
import type { RequestHandle } from '../records.ts';

export interface DriverTarget {
  host: string;
  /** TCP or UDP port the matching server plugin reported */
  port: number;
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
  /** distinct transport connections opened so far (counted on 'connect' events) */
  connectionsOpened(): number;
  /** close every connection; idempotent */
  close(): Promise<void>;
}

export type DriverFactory = (opts: DriverOptions) => Promise<Driver>;
