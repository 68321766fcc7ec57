// Our client against our server on 127.0.0.1: bodies compared by sha256 with payload(),
// the stream-credit queue, congestion controllers, TLS verification, malformed input from a
// peer and graceful shutdown. (The holbench plugin + driver pair: harness/drivers/h3.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { connect, listen, type H3Server } from './index.ts';
import { makeTls, type TestTls } from './testdata/tls.ts';
import { bytesHandler as payloadHandler, testBody as payload } from './testdata/bytes.ts';
import { encodeFrame, Frame } from './frames.ts';
import { encodeFieldSection } from './qpack.ts';
import { H3Code } from './errors.ts';
import { pathMaxUdpPayload } from './path.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let tls: TestTls;
let server: H3Server;

before(async () => {
  tls = await makeTls();
  server = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, payloadHandler);
});
after(async () => {
  await server?.close(500);
  if (tls) await rm(tls.dir, { recursive: true, force: true });
});

const opts = () => ({ servername: tls.servername, caPem: tls.caPem });

test('1 B, 50 MB and 100 x 100 KB concurrent, sha256 equal to payload()', { timeout: 90_000 }, async () => {
  const c = await connect('127.0.0.1', server.port, opts());
  try {
    const one = await c.get('/bytes/1');
    assert.equal(one.status, 200);
    assert.equal(sha(one.body), sha(payload(1)));
    assert.equal(one.headers['content-length'], '1');
    assert.equal(typeof one.connId, 'string');

    const n = 50 * 1024 * 1024;
    let chunks = 0;
    const h = createHash('sha256');
    let got = 0;
    await new Promise<void>((resolve, reject) =>
      c.request('GET', `/bytes/${n}`, {}, {
        data: (d) => {
          chunks++;
          got += d.length;
          h.update(d);
        },
        end: resolve,
        error: reject,
      }),
    );
    assert.equal(got, n);
    assert.equal(h.digest('hex'), sha(payload(n)));
    assert.ok(chunks > 1, 'body arrives in many chunks');

    const want = sha(payload(102400));
    const all = await Promise.all(Array.from({ length: 100 }, () => c.get('/bytes/102400')));
    assert.ok(all.every((r) => r.status === 200 && sha(r.body) === want));
    assert.equal(new Set(all.map((r) => r.streamId)).size, 100);
    assert.equal((await c.get('/health')).body.toString(), 'ok');
    assert.equal((await c.get('/nope')).status, 404);
  } finally {
    await c.close();
  }
});

test('datagram size: from the loopback MTU by default, or as configured on each side', { timeout: 30_000 }, async () => {
  const c = await connect('127.0.0.1', server.port, opts());
  try {
    assert.equal(c.conn.maxUdpPayload, pathMaxUdpPayload('127.0.0.1', '127.0.0.1'));
  } finally {
    await c.close();
  }
  // Small datagrams (a 1500-byte-MTU path) still carry large bodies intact.
  const s = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert, maxUdpPayload: 1200 }, payloadHandler);
  const c2 = await connect('127.0.0.1', s.port, { ...opts(), maxUdpPayload: 1350 });
  try {
    assert.equal(c2.conn.maxUdpPayload, 1350);
    const r = await c2.get('/bytes/3000000');
    assert.equal(sha(r.body), sha(payload(3000000)));
  } finally {
    await c2.close();
    await s.close(200);
  }
});

test('requests beyond the server MAX_STREAMS wait for credit instead of failing', { timeout: 30_000 }, async () => {
  const s = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert, maxStreamsBidi: 5 }, payloadHandler);
  const c = await connect('127.0.0.1', s.port, opts());
  try {
    const p = Promise.all(Array.from({ length: 60 }, () => c.get('/bytes/20000')));
    assert.ok(c.queued() > 0, 'some requests are queued');
    const all = await p;
    assert.equal(all.length, 60);
    assert.ok(all.every((r) => r.body.equals(payload(20000))));
    assert.equal(s.stats().requests, 60);
  } finally {
    await c.close();
    await s.close(200);
  }
});

test('congestion controllers reno and bbr work; unknown cc is refused', { timeout: 30_000 }, async () => {
  for (const cc of ['reno', 'bbr'] as const) {
    const s = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert, cc }, payloadHandler);
    const c = await connect('127.0.0.1', s.port, { ...opts(), cc });
    try {
      const r = await c.get('/bytes/3000000');
      assert.equal(sha(r.body), sha(payload(3000000)), cc);
    } finally {
      await c.close();
      await s.close(200);
    }
  }
  await assert.rejects(connect('127.0.0.1', server.port, { ...opts(), cc: 'bbr2' }), /cc must be one of/);
});

test('TLS: a wrong CA or wrong name fails the handshake; insecure mode connects', { timeout: 30_000 }, async () => {
  const other = await makeTls();
  try {
    await assert.rejects(connect('127.0.0.1', server.port, { servername: tls.servername, caPem: other.caPem, handshakeTimeoutMs: 5000 }), (e: any) => e.code === 'HOLBENCH_QUIC_HANDSHAKE');
    await assert.rejects(connect('127.0.0.1', server.port, { servername: 'wrong.example', caPem: tls.caPem, handshakeTimeoutMs: 5000 }), (e: any) => e.code === 'HOLBENCH_QUIC_HANDSHAKE');
    const c = await connect('127.0.0.1', server.port, { insecure: true });
    assert.equal((await c.get('/bytes/10')).body.length, 10);
    await c.close();
  } finally {
    await rm(other.dir, { recursive: true, force: true });
  }
});

test('malformed requests: stream error for a bad header, connection error for DATA first', { timeout: 30_000 }, async () => {
  const c = await connect('127.0.0.1', server.port, opts());
  try {
    // Uppercase field name -> H3_MESSAGE_ERROR on that stream only.
    const bad = encodeFrame(Frame.HEADERS, encodeFieldSection([[':method', 'GET'], [':scheme', 'https'], [':path', '/bytes/1'], ['X-Upper', '1']], false));
    const conn = c.conn;
    const reset = new Promise<number>((resolve) => {
      (c as any).bidi.set(0, { chunk() {}, fin: () => resolve(-1), reset: (code: number) => resolve(code), abort: () => resolve(-2) });
    });
    assert.ok(conn.tryOpen(0, bad, true));
    (c as any).nextBidi = 4;
    assert.equal(await reset, H3Code.MESSAGE_ERROR);
    // The connection survives.
    assert.equal((await c.get('/bytes/5')).body.length, 5);
    // DATA before HEADERS -> H3_FRAME_UNEXPECTED closes the connection.
    const closed = new Promise<Error>((resolve) => c.request('GET', '/bytes/5000000', {}, { error: resolve }));
    const id = (c as any).nextBidi + 4;
    (c as any).nextBidi = id + 4;
    conn.tryOpen(id, encodeFrame(Frame.DATA, Buffer.from('x')), true);
    const e = await closed;
    assert.match(e.message, /0x105|closed/);
  } finally {
    await c.close();
  }
});

test('graceful server close: GOAWAY, in-flight request completes', { timeout: 30_000 }, async () => {
  const s = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, payloadHandler);
  const c = await connect('127.0.0.1', s.port, opts());
  try {
    const inflight = c.get('/bytes/5000000');
    await new Promise((r) => setTimeout(r, 20));
    const closing = s.close(10_000);
    const r = await inflight;
    assert.equal(sha(r.body), sha(payload(5000000)));
    await closing;
    await assert.rejects(c.get('/bytes/1'));
  } finally {
    await c.close();
  }
});
