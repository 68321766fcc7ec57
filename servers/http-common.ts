// Request handling shared by the node:http and node:http2 plugins: the deterministic
// endpoints of servers/payload.ts, streamed with backpressure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { bytesPath, payloadChunks } from './payload.ts';

/** Listen on an ephemeral TCP port of `host`; resolves with the plugin's start() result. */
export function listenTcp(server: import('node:net').Server, host: string): Promise<{ port: number; transport: 'tcp' }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve({ port: (server.address() as { port: number }).port, transport: 'tcp' }));
  });
}

/** Destroy every open connection (or session), then close the listener. */
export async function closeAll(server: import('node:net').Server | undefined, open: Iterable<{ destroy(): void }>): Promise<void> {
  for (const c of open) c.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

export function handle(req: Req, res: Res): void {
  const url = req.url ?? '/';
  const n = bytesPath(url);
  if (n !== null && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n), 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    const it = payloadChunks(n);
    const pump = () => {
      for (let r = it.next(); !r.done; r = it.next()) {
        if (!(res as ServerResponse).write(r.value)) {
          (res as ServerResponse).once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  if (url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return void res.end('ok');
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
}
