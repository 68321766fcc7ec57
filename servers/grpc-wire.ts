// The gRPC wire format (PROTOCOL-HTTP2.md of grpc/grpc) as far as grpc-h3 carries it on our
// HTTP/3 stack, shared by the server (servers/grpc-h3.ts) and the driver
// (harness/drivers/grpc-h3.ts):
//  - Length-Prefixed-Message: 1 byte compressed flag (always 0: we never compress, and a
//    compressed message is refused with UNIMPLEMENTED) + 4 byte big-endian length + the
//    protobuf bytes;
//  - the protobuf bytes come from @grpc/proto-loader's method definitions of holbench.proto,
//    the very serialize/deserialize functions grpc-js calls (grpc-wire.test.ts checks the
//    frames byte for byte against what grpc-js sends and receives);
//  - grpc-timeout: "<1-8 digits><H|M|S|m|u|n>";
//  - status codes: grpc-js's `status` enum (grpc.status), carried as grpc-status and
//    grpc-message (percent-encoded) in the trailers, or in the headers of a Trailers-Only
//    response.
// The enum comes from grpc-js's side-effect-free constants module, NOT from the package
// index: loading the index reads GRPC_NODE_TRACE once, for the whole process, and the agent
// loads this file (grpc-h3-* drivers) before harness/drivers/grpc.ts when a run lists a
// grpc-h3 protocol first; grpc.ts needs that first load to switch on the keepalive tracer,
// or grpc-js keepalive deaths go unreported (grpc.test.ts, "loaded after every other driver").
import { fileURLToPath } from 'node:url';
import { Status } from '@grpc/grpc-js/build/src/constants.js';
import protoLoader from '@grpc/proto-loader';

export const GRPC_STATUS = Status;
export const GRPC_CONTENT_TYPE = 'application/grpc';
/** the service path prefix of holbench.proto's Messages service */
export const GRPC_SERVICE = '/holbench.Messages/';
/** the largest message either side accepts (grpc-js's default receive limit) */
export const GRPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const PROTO = fileURLToPath(new URL('./holbench.proto', import.meta.url));

export interface GrpcMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}

let methods: Map<string, GrpcMethod> | undefined;

/** holbench.Messages' methods by path ("/holbench.Messages/Echo"), loaded as grpc-js loads
 *  them (servers/grpc.ts, harness/drivers/grpc.ts: keepCase, longs as Number, defaults). */
export function grpcMethods(): Map<string, GrpcMethod> {
  if (methods) return methods;
  const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
  const svc = def['holbench.Messages'] as unknown as Record<string, GrpcMethod>;
  methods = new Map(Object.values(svc).map((m) => [m.path, m]));
  return methods;
}

/** One Length-Prefixed-Message. */
export function encodeGrpcFrame(message: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** Splits a byte stream (chunks in any size) into Length-Prefixed-Messages. */
export class GrpcFrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The complete messages in `chunk` (+ what was left over); throws on a compressed or
   *  oversized message. The chunk may be reused by the caller afterwards. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const out: Buffer[] = [];
    for (;;) {
      if (this.buf.length < 5) return out;
      if (this.buf[0] !== 0) throw new GrpcWireError(GRPC_STATUS.UNIMPLEMENTED, `compressed message (flag ${this.buf[0]}): grpc-h3 does not compress`);
      const len = this.buf.readUInt32BE(1);
      if (len > GRPC_MAX_MESSAGE_BYTES) throw new GrpcWireError(GRPC_STATUS.RESOURCE_EXHAUSTED, `message of ${len} bytes exceeds ${GRPC_MAX_MESSAGE_BYTES}`);
      if (this.buf.length < 5 + len) return out;
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
  }

  /** bytes of an incomplete message held (non-zero at the end of a stream = truncated) */
  get pending(): number {
    return this.buf.length;
  }
}

export class GrpcWireError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-timeout for a budget in ms: the smallest unit that fits in 8 digits. */
export function encodeGrpcTimeout(ms: number): string {
  const n = Math.max(0, ms);
  for (const [u, f] of [['n', 1e-6], ['u', 1e-3], ['m', 1], ['S', 1000], ['M', 60_000], ['H', 3_600_000]] as const) {
    const v = Math.ceil(n / f);
    if (v < 1e8) return `${v}${u}`;
  }
  return '99999999H';
}

/** grpc-timeout -> ms; null when absent or malformed. */
export function parseGrpcTimeout(v: string | undefined): number | null {
  if (v === undefined) return null;
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : null;
}

/** grpc-message is percent-encoded (everything outside 0x20-0x7e, and '%'). */
export function encodeGrpcMessage(s: string): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

export function decodeGrpcMessage(s: string | undefined): string {
  if (!s) return '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The status of a finished call from its trailers (or, Trailers-Only, its headers) and the
 *  HTTP status (gRPC's HTTP-to-gRPC mapping when grpc-status is missing). */
export function grpcStatusOf(httpStatus: number, fields: Record<string, string> | null): { code: number; details: string } {
  const s = fields?.['grpc-status'];
  if (s !== undefined && /^\d{1,2}$/.test(s)) return { code: Number(s), details: decodeGrpcMessage(fields!['grpc-message']) };
  if (httpStatus !== 200) {
    const code = { 400: GRPC_STATUS.INTERNAL, 401: GRPC_STATUS.UNAUTHENTICATED, 403: GRPC_STATUS.PERMISSION_DENIED, 404: GRPC_STATUS.UNIMPLEMENTED, 429: GRPC_STATUS.UNAVAILABLE, 502: GRPC_STATUS.UNAVAILABLE, 503: GRPC_STATUS.UNAVAILABLE, 504: GRPC_STATUS.UNAVAILABLE }[httpStatus];
    return { code: code ?? GRPC_STATUS.UNKNOWN, details: `HTTP status ${httpStatus}` };
  }
  return { code: GRPC_STATUS.INTERNAL, details: 'response ended without grpc-status' };
}

/** A status code's name ("DEADLINE_EXCEEDED"), or the number. */
export function grpcStatusName(code: number): string {
  return (GRPC_STATUS as unknown as Record<number, string>)[code] ?? String(code);
}
