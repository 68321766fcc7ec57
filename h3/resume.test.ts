// Session resumption and 0-RTT, our client against our server on 127.0.0.1 through a UDP
// relay that delays every datagram (so "before the handshake completed" is a real interval,
// not the microseconds of bare loopback): a resumed connection sends its requests in 0-RTT,
// the server reads them as early data and answers before its handshake completed; a session
// the server cannot decrypt (another server's ticket key) means a full handshake, and the
// requests sent as early data are still answered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { rm } from 'node:fs/promises';
import { connect, listen, type H3Request, type H3Server } from './index.ts';
import { makeTls, type TestTls } from './testdata/tls.ts';
import { bytesHandler, testBody } from './testdata/bytes.ts';

/** one-way delay of the relay, each direction */
const DELAY_MS = 40;

/** A UDP relay on 127.0.0.1 to `port`, every datagram held `delayMs` (one client at a time). */
async function delayRelay(port: number, delayMs: number) {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client: { address: string; port: number } | null = null;
  const timers = new Set<NodeJS.Timeout>();
  const later = (f: () => void) => {
    const t = setTimeout(() => (timers.delete(t), f()), delayMs);
    timers.add(t);
  };
  front.on('message', (m, r) => {
    client = { address: r.address, port: r.port };
    later(() => back.send(m, port, '127.0.0.1'));
  });
  back.on('message', (m) => {
    const c = client;
    if (c) later(() => front.send(m, c.port, c.address));
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  return {
    port: front.address().port,
    close() {
      for (const t of timers) clearTimeout(t);
      front.close();
      back.close();
    },
  };
}

let tls: TestTls;
let a: H3Server;
let b: H3Server;
/** what server a saw: one entry per request */
const seen: { path: string; earlyData: boolean }[] = [];
const handler = (req: H3Request) => {
  seen.push({ path: req.path, earlyData: req.earlyData });
  return bytesHandler(req);
};

before(async () => {
  tls = await makeTls();
  a = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, handler);
  // same certificate, its own TLS context: it cannot decrypt a's tickets
  b = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, bytesHandler);
});
after(async () => {
  await a?.close(200);
  await b?.close(200);
  if (tls) await rm(tls.dir, { recursive: true, force: true });
});

const opts = () => ({ servername: tls.servername, caPem: tls.caPem });

/** A session from a fresh (cold) connection to `port`. */
async function sessionFrom(port: number): Promise<Buffer> {
  const c = await connect('127.0.0.1', port, opts());
  try {
    assert.equal(c.conn.resumed, false, 'a first connection has nothing to resume');
    assert.equal(c.conn.earlyData, false);
    return await c.waitSession(5000);
  } finally {
    await c.close();
  }
}

test('resumed connection: requests in 0-RTT, read by the server as early data, answered one RTT after the start', { timeout: 30_000 }, async () => {
  const relay = await delayRelay(a.port, DELAY_MS);
  try {
    const session = await sessionFrom(relay.port);
    seen.length = 0;
    const t0 = performance.now();
    const c = await connect('127.0.0.1', relay.port, { ...opts(), session, earlyData: true });
    try {
      // connect() returned before the handshake could have completed (it needs one RTT)
      assert.equal(c.conn.established(), false);
      assert.equal(c.conn.earlyData, true);
      const n = 3;
      const rs = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`/bytes/${100 + i}`)));
      const elapsed = performance.now() - t0;
      rs.forEach((r, i) => assert.deepEqual(r.body, testBody(100 + i)));
      assert.equal(c.earlyRequests, n, 'every request opened before the handshake completed');
      await c.handshake();
      assert.equal(c.conn.resumed, true);
      // the server read every request before its handshake completed
      assert.deepEqual(seen.map((s) => s.earlyData), Array(n).fill(true));
      // one RTT (2 x DELAY_MS) plus processing; a full handshake first would be two RTTs
      assert.ok(elapsed < 3 * 2 * DELAY_MS, `all responses after ${elapsed.toFixed(1)} ms (RTT ${2 * DELAY_MS} ms)`);
      assert.ok(elapsed >= 2 * DELAY_MS, `not faster than one RTT: ${elapsed.toFixed(1)} ms`);
    } finally {
      await c.close();
    }
  } finally {
    relay.close();
  }
});

test('cold connection: no early data, the handshake completes before connect() returns', { timeout: 30_000 }, async () => {
  const relay = await delayRelay(a.port, DELAY_MS);
  try {
    seen.length = 0;
    const c = await connect('127.0.0.1', relay.port, opts());
    try {
      assert.equal(c.conn.established(), true);
      assert.ok(c.conn.handshakeMs! >= 2 * DELAY_MS, `handshake ${c.conn.handshakeMs} ms, RTT ${2 * DELAY_MS}`);
      await c.get('/bytes/10');
      assert.equal(c.earlyRequests, 0);
      assert.deepEqual(seen, [{ path: '/bytes/10', earlyData: false }]);
    } finally {
      await c.close();
    }
  } finally {
    relay.close();
  }
});

test("a session the server cannot resume: full handshake, the early requests are sent again and answered", { timeout: 30_000 }, async () => {
  const session = await sessionFrom(a.port);
  const relay = await delayRelay(b.port, DELAY_MS);
  try {
    const c = await connect('127.0.0.1', relay.port, { ...opts(), session, earlyData: true });
    try {
      const r = await c.get('/bytes/500');
      assert.deepEqual(r.body, testBody(500));
      assert.equal(c.earlyRequests, 1, 'the request went out as early data');
      await c.handshake();
      assert.equal(c.conn.resumed, false, "b cannot decrypt a's ticket");
    } finally {
      await c.close();
    }
  } finally {
    relay.close();
  }
});

test('a session that is not one: connect() refuses it, naming the problem', async () => {
  await assert.rejects(connect('127.0.0.1', a.port, { ...opts(), session: Buffer.from('not a session'), earlyData: true }), /cannot resume/);
});
