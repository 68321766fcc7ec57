// A request handler for the library's own tests (h3 knows nothing of holbench's servers):
//   GET /bytes/<n>  n bytes of testBody(n), streamed in 64 KiB views
//   GET /health     "ok"
//   anything else   404
import type { H3Reply, H3Request } from '../server.ts';

const BLOCK = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 13 + 5) & 0xff));

/** The n bytes /bytes/<n> answers: byte i = (i * 13 + 5) & 0xff (repeats every 256 bytes). */
export function testBody(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let o = 0; o < n; o += BLOCK.length) BLOCK.copy(b, o, 0, Math.min(BLOCK.length, n - o));
  return b;
}

function* chunks(n: number): Generator<Buffer> {
  for (let o = 0; o < n; o += BLOCK.length) yield BLOCK.subarray(0, Math.min(BLOCK.length, n - o));
}

export function bytesHandler(req: H3Request): H3Reply {
  if (req.path === '/health') return { status: 200, body: 'ok' };
  const m = /^\/bytes\/(\d{1,10})$/.exec(req.path);
  if (!m || Number(m[1]) > 2 ** 30) return { status: 404, body: 'not found\n' };
  const n = Number(m[1]);
  return { status: 200, headers: { 'content-length': String(n) }, body: chunks(n) };
}
