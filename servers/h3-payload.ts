// The deterministic endpoints every holbench server plugin serves (servers/payload.ts), as an
// HTTP/3 handler. Also accepts /obj/<k>/bytes/<n> so a client that saves each response under
// its path's last component (ngtcp2's client) can fetch many distinct files of one size.
import { bytesPath, payloadChunks } from './payload.ts';
import type { H3Reply, H3Request } from '../h3/server.ts';

export function payloadHandler(req: H3Request): H3Reply {
  if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: 'method not allowed\n' };
  if (req.path === '/health') return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  const m = /^\/obj\/\d{1,6}(\/bytes\/\d+)$/.exec(req.path);
  const n = bytesPath(m ? m[1]! : req.path);
  if (n === null) return { status: 404, body: 'not found\n' };
  return { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(n) }, body: payloadChunks(n) };
}
