// Node http2-over-TLS payload server used as the perf baseline for HTTP/3:
//   tsx peers/serve-h2.ts --key FILE --cert FILE    prints "H2 READY <port>"
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bytesPath, payloadChunks } from '../servers/payload.ts';

const { values } = parseArgs({ options: { key: { type: 'string' }, cert: { type: 'string' } } });
const server = http2.createSecureServer({
  key: readFileSync(values.key!, 'utf8'),
  cert: readFileSync(values.cert!, 'utf8'),
  settings: { maxConcurrentStreams: 256, initialWindowSize: 8 * 1024 * 1024 },
});
server.on('session', (s) => s.setLocalWindowSize?.(16 * 1024 * 1024));
server.on('stream', (stream, headers) => {
  const n = bytesPath(String(headers[':path']));
  if (n === null) {
    stream.respond({ ':status': 404 });
    stream.end();
    return;
  }
  stream.respond({ ':status': 200, 'content-length': String(n), 'content-type': 'application/octet-stream' });
  const it = payloadChunks(n);
  const pump = () => {
    for (;;) {
      const c = it.next();
      if (c.done) return void stream.end();
      if (!stream.write(c.value)) return void stream.once('drain', pump);
    }
  };
  pump();
  stream.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`H2 READY ${(server.address() as { port: number }).port}\n`));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
