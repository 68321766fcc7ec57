// Protocol-neutral records. Drivers report request lifecycles through a RequestHandle;
// the recorder timestamps everything itself (performance.now(), ms since the cell began)
// so CSV, charts and the console never need to know which protocol produced a row.

/** One row of requests.csv. Times are ms since the cell's t0; null when never reached. */
export interface RequestRow {
  cell: string;
  protocol: string;
  rep: number;
  req_id: number;
  object: number;
  path: string;
  conn_id: string;
  stream_id: string;
  start_ms: number;
  ttfb_ms: number | null;
  ttlb_ms: number | null;
  bytes: number;
  status: number | null;
  error: string;
  /** The request's connection (the driver's ConnectionInfo for conn_id), filled by the agent
   *  after the job; empty when the driver reported none or a step does not apply. */
  /** when the connection began opening, ms on the same clock as start_ms (negative: before
   *  the page clock, a warm preconnect) */
  conn_start_ms?: number | null;
  tcp_connect_ms?: number | null;
  tls_handshake_ms?: number | null;
  quic_handshake_ms?: number | null;
  /** 1: TLS session resumed, 0: full handshake; empty: cleartext */
  resumed?: number | null;
  /** 1: the connection's 0-RTT requests were accepted, 0: refused; empty: none sent */
  zero_rtt?: number | null;
  /** client chromium: the protocol the object used (Resource Timing nextHopProtocol:
   *  http/1.1, h2, h3); empty for the holbench client */
  next_hop_protocol?: string;
  /** client chromium: Chromium's priority for the request (DevTools initialPriority, then the
   *  RFC 9218 `priority` header it sent in parentheses, h2/h3); empty for the holbench client */
  priority?: string;
}

/** One row of chunks.csv: a data arrival, for stream timelines. */
export interface ChunkRow {
  cell: string;
  protocol: string;
  rep: number;
  req_id: number;
  conn_id: string;
  stream_id: string;
  t_ms: number;
  bytes: number;
  cum_bytes: number;
}

/** What a driver holds while one request is in flight. Calls must come in order:
 *  headers? -> data* -> end | fail (fail may come at any point). Cheap: called per chunk. */
export interface RequestHandle {
  readonly reqId: number;
  headers(status: number, ids: { connId: string; streamId: string | number }): void;
  /** `chunk` is passed by drivers that have the bytes at hand (fetch hashes them); the recorder only counts. */
  data(bytes: number, chunk?: Uint8Array): void;
  end(): void;
  fail(err: unknown): void;
}
