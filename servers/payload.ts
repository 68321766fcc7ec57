// The deterministic payload every holbench server serves and every client can check.
/** Every plugin serves the same deterministic endpoints:
 *  GET /bytes/<n>  -> n bytes where byte i = (i * 31 + 7) & 0xff, content-type octet-stream
 *  GET /health     -> "ok"
 *  The pattern repeats every 256 bytes, so one 64 KiB block serves any size. */
export const PAYLOAD_BLOCK: Buffer = (() => {
  const b = Buffer.allocUnsafe(65536);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
})();

/** The first n payload bytes (for small bodies and for checking what a client received). */
export function payload(n: number): Buffer {
  if (n <= PAYLOAD_BLOCK.length) return PAYLOAD_BLOCK.subarray(0, n);
  const b = Buffer.allocUnsafe(n);
  for (let o = 0; o < n; o += PAYLOAD_BLOCK.length) PAYLOAD_BLOCK.copy(b, o, 0, Math.min(PAYLOAD_BLOCK.length, n - o));
  return b;
}

/** Payload of n bytes as successive views of at most 64 KiB (no copying). */
export function* payloadChunks(n: number): Generator<Buffer> {
  for (let o = 0; o < n; o += PAYLOAD_BLOCK.length) yield PAYLOAD_BLOCK.subarray(0, Math.min(PAYLOAD_BLOCK.length, n - o));
}

/** Parse "/bytes/<n>" (n up to 1 GiB); null for anything else. */
export function bytesPath(path: string): number | null {
  const m = /^\/bytes\/(\d{1,10})(?:\?.*)?$/.exec(path);
  if (!m) return null;
  const n = Number(m[1]);
  return n <= 2 ** 30 ? n : null;
}

/** Where `chunk`, received at body offset `offset`, first differs from the payload: the body
 *  offset of the first wrong byte, or -1 when it matches (clients check what a server sent). */
export function payloadMismatchAt(chunk: Uint8Array, offset: number): number {
  const period = 256; // the pattern's period: PAYLOAD_BLOCK[i] depends on i mod 256 only
  for (let done = 0; done < chunk.length; ) {
    const start = (offset + done) % period;
    const n = Math.min(chunk.length - done, PAYLOAD_BLOCK.length - start);
    const got = chunk.subarray(done, done + n);
    if (Buffer.compare(got, PAYLOAD_BLOCK.subarray(start, start + n)) !== 0) {
      for (let i = 0; i < n; i++) if (got[i] !== PAYLOAD_BLOCK[start + i]) return offset + done + i;
    }
    done += n;
  }
  return -1;
}
