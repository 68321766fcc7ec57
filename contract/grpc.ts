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

/** Upload's answer: what arrived (count, sha256) and each message's seq and server arrival */
export interface UploadSummary {
  count: number;
  checksum: string;
  seq: number[];
  recv_ms: number[];
}
