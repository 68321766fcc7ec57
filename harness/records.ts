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
