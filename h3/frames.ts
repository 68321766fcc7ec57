// HTTP/3 frames (RFC 9114 section 7) and an incremental frame parser for one stream.
import { connErr } from './errors.ts';
import { H3Code } from './errors.ts';
import { readVarint, varintLen, varintSize, writeVarint } from './varint.ts';

export const Frame = {
  DATA: 0x0,
  HEADERS: 0x1,
  CANCEL_PUSH: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  GOAWAY: 0x7,
  MAX_PUSH_ID: 0xd,
  /** RFC 9218 section 7.2: reprioritize a request stream (client control stream only) */
  PRIORITY_UPDATE_REQUEST: 0xf0700,
  /** RFC 9218 section 7.2: reprioritize a push stream */
  PRIORITY_UPDATE_PUSH: 0xf0701,
} as const;

/** Frame types reserved because they were HTTP/2 frames; receiving one is FRAME_UNEXPECTED. */
export const H2_ONLY_FRAMES = new Set([0x2, 0x6, 0x8, 0x9]);

export const StreamType = { CONTROL: 0x00, PUSH: 0x01, QPACK_ENCODER: 0x02, QPACK_DECODER: 0x03 } as const;

export const Setting = {
  QPACK_MAX_TABLE_CAPACITY: 0x01,
  MAX_FIELD_SECTION_SIZE: 0x06,
  QPACK_BLOCKED_STREAMS: 0x07,
  /** RFC 9220 (extended CONNECT with :protocol) */
  ENABLE_CONNECT_PROTOCOL: 0x08,
  /** RFC 9297 HTTP/3 datagrams */
  H3_DATAGRAM: 0x33,
  /** draft-ietf-webtrans-http3-02 SETTINGS_ENABLE_WEBTRANSPORT (what Chromium's draft02 mode checks) */
  WEBTRANSPORT_ENABLE_DRAFT02: 0x2b603742,
  /** draft-ietf-webtrans-http3-07 SETTINGS_WEBTRANSPORT_MAX_SESSIONS */
  WEBTRANSPORT_MAX_SESSIONS_DRAFT07: 0xc671706a,
} as const;
/** HTTP/2 setting identifiers that must not appear in HTTP/3 SETTINGS. */
const H2_ONLY_SETTINGS = new Set([0x2, 0x3, 0x4, 0x5]);

/** Reserved ("grease") value 0x1f * N + 0x21 for frame, stream and setting types. */
export function greaseValue(n: number): number {
  return 0x1f * n + 0x21;
}

/** Frame header + payload as one buffer. */
export function encodeFrame(type: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(varintSize(type) + varintSize(payload.length) + payload.length);
  let o = writeVarint(b, 0, type);
  o = writeVarint(b, o, payload.length);
  b.set(payload, o);
  return b;
}

/** Just the frame header (type + length), for DATA frames whose payload is written separately. */
export function encodeFrameHeader(type: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(varintSize(type) + varintSize(length));
  writeVarint(b, writeVarint(b, 0, type), length);
  return b;
}

export function encodeSettings(settings: [number, number][]): Buffer {
  let size = 0;
  for (const [k, v] of settings) size += varintSize(k) + varintSize(v);
  const p = Buffer.allocUnsafe(size);
  let o = 0;
  for (const [k, v] of settings) o = writeVarint(p, writeVarint(p, o, k), v);
  return encodeFrame(Frame.SETTINGS, p);
}

export function decodeSettings(payload: Uint8Array): Map<number, number> {
  const m = new Map<number, number>();
  let off = 0;
  while (off < payload.length) {
    const k = readVarint(payload, off);
    if (k < 0) throw connErr(H3Code.FRAME_ERROR, 'truncated setting id');
    off += varintLen(payload[off]!);
    const v = readVarint(payload, off);
    if (v < 0) throw connErr(H3Code.FRAME_ERROR, 'truncated setting value');
    off += varintLen(payload[off]!);
    if (H2_ONLY_SETTINGS.has(k)) throw connErr(H3Code.SETTINGS_ERROR, `HTTP/2 setting 0x${k.toString(16)} in HTTP/3 SETTINGS`);
    if (m.has(k)) throw connErr(H3Code.SETTINGS_ERROR, `duplicate setting 0x${k.toString(16)}`);
    m.set(k, v); // unknown (including grease) identifiers are kept but ignored by callers
  }
  return m;
}

/** A single varint that must fill the payload exactly (GOAWAY, MAX_PUSH_ID, CANCEL_PUSH). */
export function decodeSingleVarint(payload: Uint8Array, what: string): number {
  const v = readVarint(payload, 0);
  if (v < 0 || varintLen(payload[0]!) !== payload.length) throw connErr(H3Code.FRAME_ERROR, `malformed ${what} frame`);
  return v;
}

const KNOWN_FRAMES = new Set<number>(Object.values(Frame));

export interface FrameSink {
  /** a complete non-DATA frame (unknown types are skipped and never reported) */
  frame(type: number, payload: Buffer): void;
  /** part of a DATA frame payload, in order; may be called many times per frame */
  data(chunk: Buffer): void;
  /** a DATA frame header was parsed (lets a stream reject DATA where it is not allowed) */
  dataHeader(len: number): void;
}

/** Incremental parser for the frames on one stream. Buffers at most the frame header and
 *  the payload of one non-DATA frame (bounded by maxFramePayload); DATA payloads stream out;
 *  unknown/grease frame payloads are skipped without buffering. */
export class FrameReader {
  private hdr = Buffer.allocUnsafe(16);
  private hdrLen = 0;
  private type = -1;
  private remaining = 0; // payload bytes of the current frame still to come
  private payload: Buffer | null = null;
  private payloadOff = 0;
  private skipping = false;

  constructor(private readonly maxFramePayload = 64 * 1024) {}

  /** True between frames (a stream may only end here). */
  atBoundary(): boolean {
    return this.type < 0 && this.hdrLen === 0;
  }

  push(chunk: Buffer, sink: FrameSink): void {
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.type < 0) {
        // Accumulate the header: type varint then length varint (at most 16 bytes).
        while (off < n && this.hdrLen < 16) {
          this.hdr[this.hdrLen++] = chunk[off++]!;
          if (this.tryHeader()) break;
        }
        if (this.type < 0) {
          if (this.hdrLen >= 16) throw connErr(H3Code.FRAME_ERROR, 'frame header too long');
          return;
        }
        if (this.type === Frame.DATA) sink.dataHeader(this.remaining);
        if (this.remaining === 0) this.finishFrame(sink);
        continue;
      }
      const take = Math.min(this.remaining, n - off);
      if (this.type === Frame.DATA) {
        sink.data(chunk.subarray(off, off + take));
      } else if (!this.skipping) {
        this.payload!.set(chunk.subarray(off, off + take), this.payloadOff);
        this.payloadOff += take;
      }
      off += take;
      this.remaining -= take;
      if (this.remaining === 0) this.finishFrame(sink);
    }
  }

  private tryHeader(): boolean {
    const t = readVarint(this.hdr.subarray(0, this.hdrLen), 0);
    if (t < 0) return false;
    const tl = varintLen(this.hdr[0]!);
    const len = readVarint(this.hdr.subarray(0, this.hdrLen), tl);
    if (len < 0) return false;
    this.type = t;
    this.remaining = len;
    this.hdrLen = 0;
    if (H2_ONLY_FRAMES.has(t)) throw connErr(H3Code.FRAME_UNEXPECTED, `HTTP/2 frame type 0x${t.toString(16)}`);
    const known = KNOWN_FRAMES.has(t);
    this.skipping = !known;
    if (known && t !== Frame.DATA) {
      if (len > this.maxFramePayload) throw connErr(H3Code.EXCESSIVE_LOAD, `frame 0x${t.toString(16)} of ${len} bytes exceeds limit`);
      this.payload = Buffer.allocUnsafe(len);
      this.payloadOff = 0;
    }
    return true;
  }

  private finishFrame(sink: FrameSink): void {
    const t = this.type;
    const p = this.payload;
    const skipped = this.skipping;
    this.type = -1;
    this.payload = null;
    this.skipping = false;
    if (t === Frame.DATA || skipped) return;
    sink.frame(t, p!);
  }
}
