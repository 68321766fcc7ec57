// Typed errors with stable codes. Everything our HTTP/3 stack throws on bad input is one of
// these; parsers never let a RangeError or TypeError escape (the fuzz tests check that).

/** HTTP/3 error codes (RFC 9114 section 8.1) and QPACK error codes (RFC 9204 section 6). */
export const H3Code = {
  NO_ERROR: 0x100,
  GENERAL_PROTOCOL_ERROR: 0x101,
  INTERNAL_ERROR: 0x102,
  STREAM_CREATION_ERROR: 0x103,
  CLOSED_CRITICAL_STREAM: 0x104,
  FRAME_UNEXPECTED: 0x105,
  FRAME_ERROR: 0x106,
  EXCESSIVE_LOAD: 0x107,
  ID_ERROR: 0x108,
  SETTINGS_ERROR: 0x109,
  MISSING_SETTINGS: 0x10a,
  REQUEST_REJECTED: 0x10b,
  REQUEST_CANCELLED: 0x10c,
  REQUEST_INCOMPLETE: 0x10d,
  MESSAGE_ERROR: 0x10e,
  CONNECT_ERROR: 0x10f,
  VERSION_FALLBACK: 0x110,
  QPACK_DECOMPRESSION_FAILED: 0x200,
  QPACK_ENCODER_STREAM_ERROR: 0x201,
  QPACK_DECODER_STREAM_ERROR: 0x202,
} as const;

export function h3CodeName(code: number): string {
  for (const [k, v] of Object.entries(H3Code)) if (v === code) return `H3_${k}`;
  return `0x${code.toString(16)}`;
}

/** A protocol violation. `scope` says whether it kills the stream or the whole connection. */
export class H3Error extends Error {
  readonly code = 'HOLBENCH_H3_PROTOCOL';
  constructor(
    readonly h3Code: number,
    readonly scope: 'connection' | 'stream',
    message: string,
  ) {
    super(`${h3CodeName(h3Code)}: ${message}`);
  }
}

export const connErr = (h3Code: number, msg: string): H3Error => new H3Error(h3Code, 'connection', msg);
export const streamErr = (h3Code: number, msg: string): H3Error => new H3Error(h3Code, 'stream', msg);

/** Transport-level failure: handshake/TLS failure, idle timeout, peer closed, socket error. */
export class QuicError extends Error {
  readonly code: string;
  constructor(
    code: 'HOLBENCH_QUIC_CLOSED' | 'HOLBENCH_QUIC_HANDSHAKE' | 'HOLBENCH_QUIC_TIMEOUT' | 'HOLBENCH_QUIC_SOCKET' | 'HOLBENCH_QUIC_RESET' | 'HOLBENCH_QUIC_GOAWAY' | 'HOLBENCH_QUIC_CANCELLED' | 'HOLBENCH_QUIC_WT',
    message: string,
    readonly wireCode?: number,
  ) {
    super(message);
    this.code = code;
  }
}

/** The native QUIC binding is not available on this platform. */
export class H3UnsupportedError extends Error {
  readonly code = 'HOLBENCH_H3_UNSUPPORTED';
}
