// A user's own server for the tests, following the contract in README "External servers":
// serves the files of HOLBENCH_OBJECTS_JSON at their paths (query string ignored) and
// HOLBENCH_READY_PATH over HTTP/2 and HTTP/1.1 (TLS, one port) on HOLBENCH_HOST:HOLBENCH_PORT.
// argv[2] picks a misbehaviour: ok | exit-early | never-ready | wrong-bytes. never-ready also
// starts a child process, so the tests see the whole process group stopped.
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';

const mode = process.argv[2] ?? 'ok';
const env = process.env;
if (mode === 'exit-early') {
  console.error('user-server: exiting on purpose');
  process.exit(3);
}
// a child in the same process group, named so the tests can look for it
if (mode === 'never-ready') spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300000)', 'holbench-user-server-child'], { stdio: 'ignore' });
const files = new Map(JSON.parse(readFileSync(env.HOLBENCH_OBJECTS_JSON, 'utf8')).map((o) => [o.path, readFileSync(o.file)]));
const server = http2.createSecureServer({ cert: readFileSync(env.HOLBENCH_TLS_CERT), key: readFileSync(env.HOLBENCH_TLS_KEY), allowHTTP1: true }, (req, res) => {
  const path = req.url.split('?')[0];
  if (path === env.HOLBENCH_READY_PATH) return mode === 'never-ready' ? (res.writeHead(503), res.end('starting')) : res.end('ok');
  let body = files.get(path);
  if (!body) return res.writeHead(404), res.end();
  if (mode === 'wrong-bytes') (body = Buffer.from(body)), (body[body.length - 1] ^= 0xff);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.listen(Number(env.HOLBENCH_PORT), env.HOLBENCH_HOST, () => console.log(`user-server (${mode}) on ${env.HOLBENCH_HOST}:${env.HOLBENCH_PORT}, protocols ${env.HOLBENCH_PROTOCOLS}`));
process.on('SIGTERM', () => process.exit(0));
