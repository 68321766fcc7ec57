// The HTTP/1.x connector on loopback: preconnected sockets are handed out first and then
// connections open on demand, each reported once with its timing; over TLS (an https
// origin, as HTTP/1.x over TLS uses it) a primed session is resumed by later connections
// and undici's Client runs requests over the connector's sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { makeCert, SERVER_NAME } from '../../servers/cert.ts';
import { TcpConnector } from './tcpconnect.ts';
import type { ConnectionInfo } from './types.ts';

const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('ok');
let plain: http.Server;
let secure: https.Server;
let cert: { key: string; cert: string };
const portOf = (s: http.Server) => (s.address() as AddressInfo).port;

before(async () => {
  cert = await makeCert('127.0.0.1');
  plain = http.createServer(handler);
  secure = https.createServer({ key: cert.key, cert: cert.cert }, handler);
  await Promise.all([plain, secure].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))));
});
after(async () => {
  for (const s of [plain, secure]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** Ask the connector for a connection as undici would; resolves with the socket. */
const take = (c: TcpConnector, protocol: string, id: string) =>
  new Promise<import('node:net').Socket>((resolve, reject) => c.forClient(() => id)({ hostname: '127.0.0.1', port: '', protocol }, (e, s) => (e ? reject(e) : resolve(s!))));

test('preconnected sockets go first, then connections open on demand; each reported once', async () => {
  const infos: ConnectionInfo[] = [];
  const c = new TcpConnector({ host: '127.0.0.1', port: portOf(plain) }, (i) => infos.push(i), 5000);
  const n = 3;
  await c.preconnect(n, 'http:');
  assert.equal(infos.length, 0, 'reported when handed to a request, not before');
  const socks = [];
  for (let i = 0; i < n + 2; i++) socks.push(await take(c, 'http:', `c${i}`));
  assert.deepEqual(infos.map((i) => [i.connId, i.preconnected]), [...Array.from({ length: n }, (_, i) => [`c${i}`, true]), ['c3', false], ['c4', false]]);
  for (const i of infos) {
    assert.ok(i.tcpConnectMs !== null && i.tcpConnectMs >= 0);
    assert.deepEqual([i.tlsHandshakeMs, i.quicHandshakeMs, i.resumed, i.zeroRtt], [null, null, null, null], 'cleartext: no TLS facts');
  }
  // preconnected sockets began before the on-demand ones
  assert.ok(Math.max(...infos.slice(0, n).map((i) => i.startedAt)) < infos[n]!.startedAt);
  for (const s of socks) s.destroy();
  await assert.rejects(c.prime('http:', 1000), /needs TLS/);
  c.close();
});

test('TLS: a primed session is resumed by new connections; undici runs requests over them', async () => {
  const infos: ConnectionInfo[] = [];
  const target = { host: '127.0.0.1', port: portOf(secure), caPem: cert.cert, servername: SERVER_NAME };
  const cold = new TcpConnector(target, (i) => infos.push(i), 5000);
  (await take(cold, 'https:', 'cold')).destroy();
  const resumed = new TcpConnector(target, (i) => infos.push(i), 5000);
  await resumed.prime('https:', 5000);
  assert.ok(resumed.session && resumed.session.length > 0, 'a ticket arrived');
  const clients = [0, 1].map((k) => new Client(`https://127.0.0.1:${target.port}`, { connect: resumed.forClient(() => `r${k}`) as any }));
  try {
    for (const cl of clients) {
      const r = await cl.request({ path: '/', method: 'GET' });
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), 'ok');
    }
  } finally {
    await Promise.all(clients.map((cl) => cl.destroy()));
  }
  assert.deepEqual(infos.map((i) => [i.connId, i.resumed]), [['cold', false], ['r0', true], ['r1', true]]);
  for (const i of infos) assert.ok(i.tlsHandshakeMs !== null && i.tcpConnectMs !== null && i.zeroRtt === null);
});
