// QUIC variable-length integers (RFC 9000 section 16). Values above 2^53 lose precision in a
// JS number; every place that reads one compares it against a small limit, so that is harmless.

/** Encoded size of the varint starting with byte `b0` (1, 2, 4 or 8). */
export function varintLen(b0: number): number {
  return 1 << (b0 >> 6);
}

/** Read a varint at `off`; -1 if `buf` ends before it does. Its size is varintLen(buf[off]). */
export function readVarint(buf: Uint8Array, off: number): number {
  if (off >= buf.length) return -1;
  const b0 = buf[off]!;
  const n = 1 << (b0 >> 6);
  if (off + n > buf.length) return -1;
  let v = b0 & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + buf[off + i]!;
  return v;
}

export function varintSize(v: number): number {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

/** Write `v` at `off`, return the offset after it. */
export function writeVarint(buf: Uint8Array, off: number, v: number): number {
  if (!(v >= 0) || !Number.isInteger(v) || v >= 2 ** 62) throw new RangeError(`varint out of range: ${v}`);
  if (v < 0x40) {
    buf[off] = v;
    return off + 1;
  }
  if (v < 0x4000) {
    buf[off] = 0x40 | (v >> 8);
    buf[off + 1] = v & 0xff;
    return off + 2;
  }
  if (v < 0x40000000) {
    buf[off] = 0x80 | (v >>> 24);
    buf[off + 1] = (v >>> 16) & 0xff;
    buf[off + 2] = (v >>> 8) & 0xff;
    buf[off + 3] = v & 0xff;
    return off + 4;
  }
  const hi = Math.floor(v / 2 ** 32);
  const lo = v >>> 0;
  buf[off] = 0xc0 | (hi >>> 24);
  buf[off + 1] = (hi >>> 16) & 0xff;
  buf[off + 2] = (hi >>> 8) & 0xff;
  buf[off + 3] = hi & 0xff;
  buf[off + 4] = lo >>> 24;
  buf[off + 5] = (lo >>> 16) & 0xff;
  buf[off + 6] = (lo >>> 8) & 0xff;
  buf[off + 7] = lo & 0xff;
  return off + 8;
}

export function encodeVarint(v: number): Buffer {
  const b = Buffer.allocUnsafe(varintSize(v));
  writeVarint(b, 0, v);
  return b;
}
