// The messages of servers/holbench.proto as @grpc/proto-loader decodes them (keepCase): one
// definition for the grpc-js server and client and for our gRPC over HTTP/3.

export interface Msg {
  data: string;
}

/** Push: the server streams `count` messages of `bytes` every `interval_ms`, after seq `after` */
export interface PushRequest {
  stream: string;
  count: number;
  interval_ms: number;
  bytes: number;
  after: number;
}

/** A PushRequest as the push query of the HTTP protocols. Proto3 fields are 0/'' when
 *  absent: only the set ones are passed, so parsePushParams (contract/messages.ts) applies
 *  the same defaults and bounds as for the HTTP protocols. */
export function pushRequestQuery(r: PushRequest): URLSearchParams {
  const q = new URLSearchParams();
  if (r.stream) q.set('stream', r.stream);
  if (r.count) q.set('count', String(r.count));
  if (r.interval_ms) q.set('interval_ms', String(r.interval_ms));
  if (r.bytes) q.set('bytes', String(r.bytes));
  if (r.after) q.set('after', String(r.after));
  return q;
}

/** Upload's answer: what arrived (count, sha256) and each message's seq and server arrival */
export interface UploadSummary {
  count: number;
  checksum: string;
  seq: number[];
  recv_ms: number[];
}
