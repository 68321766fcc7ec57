// QPACK (RFC 9204) with a zero-capacity dynamic table: we advertise
// SETTINGS_QPACK_MAX_TABLE_CAPACITY = 0 and SETTINGS_QPACK_BLOCKED_STREAMS = 0, so a peer
// may only use the static table and literals. Any reference to the dynamic table, any insert
// on the encoder stream and any non-zero capacity is an error, as the RFC requires.
import { H3Code, H3Error } from './errors.ts';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman.ts';

/** RFC 9204 Appendix A. */
// prettier-ignore
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':path', '/'], ['age', '0'], ['content-disposition', ''], ['content-length', '0'],
  ['cookie', ''], ['date', ''], ['etag', ''], ['if-modified-since', ''], ['if-none-match', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['referer', ''], ['set-cookie', ''],
  [':method', 'CONNECT'], [':method', 'DELETE'], [':method', 'GET'], [':method', 'HEAD'], [':method', 'OPTIONS'],
  [':method', 'POST'], [':method', 'PUT'], [':scheme', 'http'], [':scheme', 'https'], [':status', '103'],
  [':status', '200'], [':status', '304'], [':status', '404'], [':status', '503'], ['accept', '*/*'],
  ['accept', 'application/dns-message'], ['accept-encoding', 'gzip, deflate, br'], ['accept-ranges', 'bytes'],
  ['access-control-allow-headers', 'cache-control'], ['access-control-allow-headers', 'content-type'],
  ['access-control-allow-origin', '*'], ['cache-control', 'max-age=0'], ['cache-control', 'max-age=2592000'],
  ['cache-control', 'max-age=604800'], ['cache-control', 'no-cache'], ['cache-control', 'no-store'],
  ['cache-control', 'public, max-age=31536000'], ['content-encoding', 'br'], ['content-encoding', 'gzip'],
  ['content-type', 'application/dns-message'], ['content-type', 'application/javascript'],
  ['content-type', 'application/json'], ['content-type', 'application/x-www-form-urlencoded'],
  ['content-type', 'image/gif'], ['content-type', 'image/jpeg'], ['content-type', 'image/png'],
  ['content-type', 'text/css'], ['content-type', 'text/html; charset=utf-8'], ['content-type', 'text/plain'],
  ['content-type', 'text/plain;charset=utf-8'], ['range', 'bytes=0-'], ['strict-transport-security', 'max-age=31536000'],
  ['strict-transport-security', 'max-age=31536000; includesubdomains'],
  ['strict-transport-security', 'max-age=31536000; includesubdomains; preload'], ['vary', 'accept-encoding'],
  ['vary', 'origin'], ['x-content-type-options', 'nosniff'], ['x-xss-protection', '1; mode=block'],
  [':status', '100'], [':status', '204'], [':status', '206'], [':status', '302'], [':status', '400'],
  [':status', '403'], [':status', '421'], [':status', '425'], [':status', '500'], ['accept-language', ''],
  ['access-control-allow-credentials', 'FALSE'], ['access-control-allow-credentials', 'TRUE'],
  ['access-control-allow-headers', '*'], ['access-control-allow-methods', 'get'],
  ['access-control-allow-methods', 'get, post, options'], ['access-control-allow-methods', 'options'],
  ['access-control-expose-headers', 'content-length'], ['access-control-request-headers', 'content-type'],
  ['access-control-request-method', 'get'], ['access-control-request-method', 'post'], ['alt-svc', 'clear'],
  ['authorization', ''], ['content-security-policy', "script-src 'none'; object-src 'none'; base-uri 'none'"],
  ['early-data', '1'], ['expect-ct', ''], ['forwarded', ''], ['if-range', ''], ['origin', ''],
  ['purpose', 'prefetch'], ['server', ''], ['timing-allow-origin', '*'], ['upgrade-insecure-requests', '1'],
  ['user-agent', ''], ['x-forwarded-for', ''], ['x-frame-options', 'deny'], ['x-frame-options', 'sameorigin'],
];

const EXACT = new Map<string, number>();
const BY_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([n, v], i) => {
  const k = `${n}\0${v}`;
  if (!EXACT.has(k)) EXACT.set(k, i);
  if (!BY_NAME.has(n)) BY_NAME.set(n, i);
});

export type HeaderList = [name: string, value: string][];

export interface DecodeLimits {
  /** max sum of (name + value + 32) over all lines, like SETTINGS_MAX_FIELD_SECTION_SIZE */
  maxSectionSize: number;
}
const DEFAULT_LIMITS: DecodeLimits = { maxSectionSize: 64 * 1024 };

const fail = (msg: string): H3Error => new H3Error(H3Code.QPACK_DECOMPRESSION_FAILED, 'connection', msg);

/** Prefixed integer (RFC 7541 5.1 / RFC 9204 4.1.1). Returns [value, nextOffset] or null when
 *  the input ends first. Values beyond 2^32 are rejected (no legitimate use, avoids overflow). */
export function readPrefixInt(buf: Uint8Array, off: number, prefixBits: number): [number, number] | null {
  if (off >= buf.length) return null;
  const mask = (1 << prefixBits) - 1;
  let v = buf[off]! & mask;
  off++;
  if (v < mask) return [v, off];
  let shift = 0;
  for (;;) {
    if (off >= buf.length) return null;
    const b = buf[off++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (v > 2 ** 32) throw fail('integer too large');
    if ((b & 0x80) === 0) return [v, off];
  }
}

/** Append a prefixed integer; `first` carries the bits above the prefix. */
export function writePrefixInt(out: number[], first: number, prefixBits: number, v: number): void {
  const mask = (1 << prefixBits) - 1;
  if (v < mask) {
    out.push(first | v);
    return;
  }
  out.push(first | mask);
  v -= mask;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** String literal: H flag at bit `prefixBits` of the first byte, length with `prefixBits` prefix. */
function readString(buf: Uint8Array, off: number, prefixBits: number, budget: number): [string, number] {
  if (off >= buf.length) throw fail('truncated string');
  const huff = (buf[off]! >> prefixBits) & 1;
  const r = readPrefixInt(buf, off, prefixBits);
  if (!r) throw fail('truncated string length');
  const [len, p] = r;
  if (len > buf.length - p) throw fail('string longer than field section');
  if (len > budget) throw fail('field section too large');
  const raw = buf.subarray(p, p + len);
  const s = huff ? huffmanDecode(raw, budget).toString('latin1') : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  return [s, p + len];
}

function staticEntry(idx: number): readonly [string, string] {
  const e = STATIC_TABLE[idx];
  if (!e) throw fail(`static index ${idx} out of range`);
  return e;
}

/** Decode one encoded field section (the payload of a HEADERS frame). */
export function decodeFieldSection(buf: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): HeaderList {
  const ric = readPrefixInt(buf, 0, 8);
  if (!ric) throw fail('truncated field section prefix');
  // With a zero-capacity table the only valid encoded Required Insert Count is 0.
  if (ric[0] !== 0) throw fail(`required insert count ${ric[0]} but dynamic table capacity is 0`);
  const base = readPrefixInt(buf, ric[1], 7);
  if (!base) throw fail('truncated field section prefix');
  let off = base[1];
  const out: HeaderList = [];
  let budget = limits.maxSectionSize;
  while (off < buf.length) {
    const b = buf[off]!;
    let name: string;
    let value: string;
    if (b & 0x80) {
      // Indexed field line: 1 T index(6+)
      if (!(b & 0x40)) throw fail('indexed field line references dynamic table');
      const r = readPrefixInt(buf, off, 6);
      if (!r) throw fail('truncated index');
      [name, value] = staticEntry(r[0]);
      off = r[1];
    } else if (b & 0x40) {
      // Literal with name reference: 01 N T index(4+)
      if (!(b & 0x10)) throw fail('literal name reference to dynamic table');
      const r = readPrefixInt(buf, off, 4);
      if (!r) throw fail('truncated name index');
      name = staticEntry(r[0])[0];
      [value, off] = readString(buf, r[1], 7, budget);
    } else if (b & 0x20) {
      // Literal with literal name: 001 N H namelen(3+)
      [name, off] = readString(buf, off, 3, budget);
      [value, off] = readString(buf, off, 7, budget);
    } else {
      // 0001xxxx post-base indexed, 0000xxxx post-base name reference: dynamic table only.
      throw fail('post-base reference with zero-capacity dynamic table');
    }
    budget -= name.length + value.length + 32;
    if (budget < 0) throw fail('field section too large');
    out.push([name, value]);
  }
  return out;
}

/** Append a string literal; returns the index of its first byte (for flag bits above H). */
function pushString(out: number[], s: string, prefixBits: number, huffmanAllowed: boolean): number {
  const start = out.length;
  const raw = Buffer.from(s, 'latin1');
  const hl = huffmanAllowed ? huffmanEncodedLength(raw) : Infinity;
  if (hl < raw.length) {
    writePrefixInt(out, 1 << prefixBits, prefixBits, hl);
    for (const x of huffmanEncode(raw)) out.push(x);
  } else {
    writePrefixInt(out, 0, prefixBits, raw.length);
    for (const x of raw) out.push(x);
  }
  return start;
}

/** Encode a field section using only the static table and literals (Huffman when shorter). */
export function encodeFieldSection(headers: HeaderList, huffman = true): Buffer {
  const out: number[] = [0, 0]; // Required Insert Count 0, Base 0
  for (const [name, value] of headers) {
    const exact = EXACT.get(`${name}\0${value}`);
    if (exact !== undefined) {
      writePrefixInt(out, 0xc0, 6, exact);
      continue;
    }
    const byName = BY_NAME.get(name);
    if (byName !== undefined) {
      writePrefixInt(out, 0x50, 4, byName);
      pushString(out, value, 7, huffman);
    } else {
      // 001 N H namelen(3+): the H bit sits at 0x08, i.e. above the 3-bit prefix.
      const start = pushString(out, name, 3, huffman);
      out[start] = out[start]! | 0x20;
      pushString(out, value, 7, huffman);
    }
  }
  return Buffer.from(out);
}

/** Shared shell of the two QPACK instruction-stream parsers: buffers a partial instruction
 *  across chunks and bounds it. `instruction` parses one instruction at `off` and returns the
 *  offset after it, or null when it is incomplete; it throws for anything invalid. */
abstract class InstructionStreamReader {
  private pending: Buffer = Buffer.alloc(0);
  protected abstract readonly errorCode: number;
  protected abstract instruction(buf: Buffer, off: number): number | null;
  protected fail(msg: string): never {
    throw new H3Error(this.errorCode, 'connection', msg);
  }
  /** A prefixed integer at `off`, or null when incomplete; `tooLarge` names it in the error. */
  protected prefixInt(buf: Buffer, off: number, bits: number, tooLarge: string): [number, number] | null {
    try {
      return readPrefixInt(buf, off, bits);
    } catch {
      this.fail(tooLarge);
    }
  }
  push(chunk: Uint8Array): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    let off = 0;
    while (off < buf.length) {
      const next = this.instruction(buf, off);
      if (next === null) break;
      off = next;
    }
    this.pending = buf.subarray(off);
    if (this.pending.length > 16) this.fail('oversized instruction');
  }
}

/** Parser for the peer's QPACK encoder stream. With our capacity 0 the only valid instruction
 *  is Set Dynamic Table Capacity 0; anything else is QPACK_ENCODER_STREAM_ERROR. */
export class EncoderStreamReader extends InstructionStreamReader {
  protected readonly errorCode = H3Code.QPACK_ENCODER_STREAM_ERROR;
  protected instruction(buf: Buffer, off: number): number | null {
    if ((buf[off]! & 0xe0) !== 0x20) this.fail('insert or duplicate with zero-capacity dynamic table');
    const r = this.prefixInt(buf, off, 5, 'capacity integer too large');
    if (!r) return null;
    if (r[0] !== 0) this.fail(`dynamic table capacity ${r[0]} exceeds our maximum 0`);
    return r[1];
  }
}

/** Parser for the peer's QPACK decoder stream. We never reference the dynamic table, so a
 *  Section Acknowledgment or Insert Count Increment is an error; Stream Cancellation is fine. */
export class DecoderStreamReader extends InstructionStreamReader {
  protected readonly errorCode = H3Code.QPACK_DECODER_STREAM_ERROR;
  protected instruction(buf: Buffer, off: number): number | null {
    const b = buf[off]!;
    if (b & 0x80) this.fail('section acknowledgment without dynamic references');
    if (!(b & 0x40)) this.fail('insert count increment without inserts');
    return this.prefixInt(buf, off, 6, 'stream id too large')?.[1] ?? null;
  }
}
