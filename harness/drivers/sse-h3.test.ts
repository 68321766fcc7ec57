// sse-h3: the event stream over one HTTP/3 connection of our own stack, with QUIC's idle
// timeout as the dead-peer mechanism (and QUIC PINGs to keep a quiet connection open).
//   1. loopback, in one process (no root): QUIC PING on the wire, idle timeout with and
//      without PINGs, PushBody (pushed over time, cancellation reaches the handler), the h3
//      plugin's /sse route and createSseH3Driver end to end.
//   2. namespaces (root): the server process (servers/main.ts, plugin h3) in the server
//      namespace, the driver in a fixture process (testdata/sse-h3-client.ts) in the client
//      namespace; a blackhole is a DROP rule in the router's FORWARD chain (as in
//      msg.test.ts). Both ends must notice it by the idle timeout, and the driver
//      must resume with Last-Event-ID without losing a message.
// Timing bounds are loose on purpose: the machine is a noisy 2-core VM.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import { connect, listen, PushBody, type H3Client, type H3Request, type ConnectionClosedInfo } from '../../h3/index.ts';
import { QuicIdleTimeout } from '../../h3/quic.ts';
import { makeTls, type TestTls } from '../../peers/peers.ts';
import { h3Support } from '../../h3/binding.ts';
import { payloadHandler } from '../../servers/h3-payload.ts';
import { h3Plugin } from '../../servers/h3.ts';
import { createSseH3Driver } from './sse-h3.ts';
import type { MessageDriver, OpenParams } from './messages.ts';
import { nowMs, type Keepalive } from '../../contract/messages.ts';
import { haveCommand, run } from '../../proc/exec.ts';
import type { Topology } from '../../netem/topology.ts';
import { SERVER_NAME } from '../../servers/cert.ts';
import type { H3ServerStats } from '../../servers/h3.ts';
import type { ClientJob, ClientResult } from './testdata/msg-client.ts';
import { messageClient, serverInTopology, serverStats as statsOf, teardown, type ServerChannel } from './testdata/fixtures.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const h3skip = h3Support().ok ? false : `h3 unsupported: ${h3Support().reason}`;

/** lost and duplicated seqs of 1..count */
function accounting(seqs: number[], count: number) {
  const n = new Map<number, number>();
  for (const s of seqs) n.set(s, (n.get(s) ?? 0) + 1);
  return { lost: range(count).filter((s) => !n.has(s)), dup: [...n].filter(([, k]) => k > 1).map(([s]) => s) };
}

/** A body collected from a request, with when each chunk arrived. */
function collect(c: H3Client, path: string, headers: Record<string, string> = {}) {
  const chunks: { t: number; text: string }[] = [];
  let status = 0;
  let resolveHeaders!: () => void;
  let resolveDone!: (e: Error | null) => void;
  const headersIn = new Promise<void>((r) => (resolveHeaders = r));
  const done = new Promise<Error | null>((r) => (resolveDone = r));
  const req = c.request('GET', path, headers, {
    headers: (s) => ((status = s), resolveHeaders()),
    data: (d) => chunks.push({ t: performance.now(), text: d.toString() }),
    end: () => resolveDone(null),
    error: (e) => resolveDone(e),
  });
  return { chunks, status: () => status, headersIn, done, text: () => chunks.map((c) => c.text).join(''), cancel: () => req.cancel() };
}

describe('sse-h3 on loopback', { skip: h3skip, timeout: 120_000 }, () => {
  let tls: TestTls;
  before(async () => {
    tls = await makeTls();
  });
  after(async () => {
    if (tls) await rm(tls.dir, { recursive: true, force: true });
  });
  const copts = () => ({ servername: tls.servername, caPem: tls.caPem });

  it('QUIC PING: sendAckEliciting puts a packet on the wire; PINGs keep a quiet connection past the idle timeout, without them it idles out on both ends', async (t: TestContext) => {
    const closedInfos: ConnectionClosedInfo[] = [];
    const held: PushBody[] = [];
    // /hold: a response that never sends a byte (a quiet event stream)
    const handler = (req: H3Request) => {
      if (req.path !== '/hold') return payloadHandler(req);
      const b = new PushBody();
      held.push(b);
      return { status: 200, body: b };
    };
    const server = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert, idleTimeoutMs: 600, onConnectionClosed: (i) => closedInfos.push(i) }, handler);
    try {
      // 1. the binding's sendAckEliciting works: one PING goes out, an ACK comes back
      const c = await connect('127.0.0.1', server.port, { ...copts(), idleTimeoutMs: 600 });
      await sleep(100);
      const s0 = c.conn.raw.stats();
      assert.equal(c.conn.ping(), true);
      await sleep(100);
      const s1 = c.conn.raw.stats();
      assert.ok(s1.sent > s0.sent, `a packet was sent (${s0.sent} -> ${s1.sent})`);
      assert.ok(s1.recv > s0.recv, `the server answered it (ACK): ${s0.recv} -> ${s1.recv}`);

      // 2. no PINGs: a request in flight, 600 ms idle timeout: both ends close with QuicIdleTimeout
      const quiet = collect(c, '/hold');
      await quiet.headersIn;
      const t0 = performance.now();
      const err = await quiet.done;
      const idleAfter = performance.now() - t0;
      assert.ok(err instanceof QuicIdleTimeout, `client: ${err}`);
      assert.ok(idleAfter > 400 && idleAfter < 2000, `client idled out after ${idleAfter.toFixed(0)} ms`);
      for (let i = 0; i < 40 && closedInfos.length === 0; i++) await sleep(50);
      assert.equal(closedInfos.length, 1);
      assert.ok(closedInfos[0]!.err instanceof QuicIdleTimeout, `server: ${closedInfos[0]!.err}`);
      assert.equal(closedInfos[0]!.inFlight, 1, 'the quiet response was in flight');
      assert.ok(held[0]!.closed, 'the server-side body learned that its connection is gone');

      // 3. PINGs every 200 ms from the client alone keep both ends' idle timers from firing
      const c2 = await connect('127.0.0.1', server.port, { ...copts(), idleTimeoutMs: 600, pingMs: 200 });
      const quiet2 = collect(c2, '/hold');
      await quiet2.headersIn;
      await sleep(2000);
      assert.equal(c2.conn.closed, false, 'alive after 2 s idle with PINGs');
      assert.equal(closedInfos.length, 1, 'the server kept it too');
      const sent = c2.conn.raw.stats().sent;
      assert.ok(sent >= 8, `${sent} packets sent in ~2 s (PINGs)`);
      held[1]!.end();
      assert.equal(await quiet2.done, null, 'and the stream still works: end() arrives as FIN');
      await c2.close();
      t.diagnostic(`idle 600 ms without PINGs: client closed after ${idleAfter.toFixed(0)} ms; with PINGs every 200 ms: open after 2 s (${sent} packets sent)`);
    } finally {
      await server.close(200);
    }
  });

  it('PushBody: written over time, in order, FIN on end(); a client cancel and a connection close reach the handler (onClose, req.signal)', async () => {
    const bodies: { body: PushBody; req: H3Request; closed: Promise<Error | null>; aborted: Promise<unknown> }[] = [];
    const server = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, (req) => {
      if (!req.path.startsWith('/push')) return payloadHandler(req);
      const body = new PushBody();
      const closed = new Promise<Error | null>((r) => body.onClose(r));
      const aborted = new Promise((r) => req.signal.addEventListener('abort', () => r(req.signal.reason)));
      bodies.push({ body, req, closed, aborted });
      body.write('first\n'); // before the reply: queued until the stream is ready
      return { status: 200, headers: { 'content-type': 'text/plain' }, body };
    });
    try {
      const c = await connect('127.0.0.1', server.port, copts());
      // written over time, then ended
      const r = collect(c, '/push/1');
      await r.headersIn;
      assert.equal(r.status(), 200);
      const { body, closed } = bodies[0]!;
      for (let i = 0; i < 5; i++) {
        await sleep(40);
        assert.equal(body.write(`line ${i}\n`), true);
      }
      await sleep(100);
      const times = r.chunks.map((x) => x.t);
      assert.ok(times.length >= 5, `${times.length} chunks: they arrived as written, not at the end`);
      assert.ok(times[times.length - 1]! - times[0]! > 120, 'spread over the writes');
      body.end();
      assert.equal(body.write('late'), false, 'no writes after end()');
      assert.equal(await r.done, null);
      assert.equal(r.text(), 'first\n' + range(5).map((i) => `line ${i - 1}\n`).join(''));
      assert.equal(await closed, null, 'onClose(null) once the FIN went out');

      // the client cancels: the handler hears it at once, through both signals
      const r2 = collect(c, '/push/2');
      await r2.headersIn;
      await sleep(50);
      const t0 = performance.now();
      r2.cancel();
      const e2 = await bodies[1]!.closed;
      const cancelMs = performance.now() - t0;
      assert.ok(e2 instanceof Error, 'onClose with an error');
      assert.match(e2.message, /reset|stopped/);
      assert.ok(cancelMs < 500, `noticed ${cancelMs.toFixed(0)} ms after the cancel`);
      assert.ok((await bodies[1]!.aborted) instanceof Error, 'req.signal aborted');
      assert.equal(bodies[1]!.body.write('x'), false);
      assert.equal(bodies[1]!.req.signal.aborted, true);

      // a finished request's signal never aborts
      assert.equal(bodies[0]!.req.signal.aborted, false);

      // the connection closes: every open body hears it
      const r3 = collect(c, '/push/3');
      await r3.headersIn;
      await c.close();
      const e3 = await bodies[2]!.closed;
      assert.ok(e3 instanceof Error, `onClose after the connection closed: ${e3}`);
      assert.ok(bodies[2]!.req.signal.aborted);
      // Buffer and iterable bodies are unchanged
      const c2 = await connect('127.0.0.1', server.port, copts());
      assert.equal((await c2.get('/bytes/100000')).body.length, 100000);
      await c2.close();
    } finally {
      await server.close(200);
    }
  });

  /** The h3 plugin with `ka` on 127.0.0.1, and a driver factory for it. */
  async function pluginPair(ka: Keepalive) {
    const plugin = h3Plugin();
    const { port } = await plugin.start({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert }, keepalive: ka });
    const drivers: MessageDriver[] = [];
    const driver = async (dka: Keepalive) => {
      const d = await createSseH3Driver({ target: { host: '127.0.0.1', port, caPem: tls.caPem, servername: tls.servername }, keepalive: dka, requestTimeoutMs: 3000 });
      drivers.push(d);
      return d;
    };
    const stop = async () => {
      for (const d of drivers) await d.close();
      await plugin.stop();
    };
    return { plugin, port, driver, stop };
  }

  /** Run a push through `d` until `count` distinct messages arrived (or maxMs). */
  async function push(d: MessageDriver, open: OpenParams, maxMs: number) {
    const seqs: number[] = [];
    const stamps: number[] = [];
    const dead: { mechanism: string; detail: string; atMs: number }[] = [];
    let wake = () => {};
    await d.open(open, {
      onMessage: (seq, tMs) => (seqs.push(seq), stamps.push(nowMs() - tMs), wake()),
      onDead: (mechanism, detail) => void dead.push({ mechanism, detail, atMs: nowMs() }),
      onLost: () => {}, // echo only
    });
    const end = nowMs() + maxMs;
    while (new Set(seqs).size < open.count && nowMs() < end) await new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
    return { seqs, dead, latencies: stamps };
  }

  it('sse-h3 end to end: createSseH3Driver against the h3 plugin, 50 messages once each in order on one connection; 400s; Last-Event-ID; /bytes still served', async (t: TestContext) => {
    const pair = await pluginPair({ retryMs: 200 });
    try {
      const d = await pair.driver({ retryMs: 200 });
      const s0 = pair.plugin.stats();
      const r = await push(d, { pattern: 'push', stream: 'lo1', count: 50, intervalMs: 10, bytes: 64, resume: true }, 10_000);
      assert.deepEqual(r.seqs, range(50));
      assert.deepEqual(r.dead, []);
      assert.equal(d.connectionsOpened(), 1);
      assert.equal(d.reconnects(), 0);
      const s1 = pair.plugin.stats();
      assert.equal(s1.connections - s0.connections, 1);
      assert.ok(s1.messagesSent - s0.messagesSent >= 50);
      assert.deepEqual(s1.deadPeers, []);
      const wire = (d as unknown as { wireBytes(): { read: number } }).wireBytes();
      t.diagnostic(`sse-h3 loopback: 50 x 64 B, median latency ${[...r.latencies].sort((a, b) => a - b)[25]!.toFixed(2)} ms, ${(wire.read / 50).toFixed(0)} UDP payload bytes read per message (handshake included)`);

      // the raw wire format, bad input, resume, and the payload endpoints
      const c = await connect('127.0.0.1', pair.port, copts());
      const bad = await c.get('/sse?stream=x');
      assert.equal(bad.status, 400);
      assert.match(bad.body.toString(), /missing count/);
      const badId = await c.get('/sse?stream=x&count=5', { 'last-event-id': 'nope' });
      assert.equal(badId.status, 400);
      assert.match(badId.body.toString(), /Last-Event-ID/);
      const ev = collect(c, '/sse?stream=lo2&count=5&interval_ms=0&bytes=40', { 'last-event-id': '3' });
      await ev.headersIn;
      for (let i = 0; i < 40 && !ev.text().includes('id:5'); i++) await sleep(25);
      assert.equal(ev.status(), 200);
      assert.match(ev.text(), /^retry:200\n\nid:4\ndata:4 [\d.]+ x*\n\nid:5\ndata:5 [\d.]+ x*\n\n$/);
      assert.equal(ev.chunks.some((x) => x.text.startsWith(':')), false, 'no comment heartbeats');
      ev.cancel();
      assert.equal((await c.get('/bytes/70000')).body.length, 70000);
      assert.equal((await c.get('/health')).body.toString(), 'ok');
      await c.close();
    } finally {
      await pair.stop();
    }
  });

  it('PINGs keep an sse-h3 stream alive across gaps longer than the idle timeout; without them it idles out and resumes without loss', async (t: TestContext) => {
    const count = 3;
    const open = (stream: string): OpenParams => ({ pattern: 'push', stream, count, intervalMs: 1500, bytes: 64, resume: true });
    // with PINGs: idle 600 ms, PING every 200 ms, a message every 1500 ms
    const withPing = await pluginPair({ quicIdleTimeoutMs: 600, pingMs: 200, retryMs: 100 });
    let pinged;
    let pingConns;
    let pingDeadPeers;
    try {
      const d = await withPing.driver({ quicIdleTimeoutMs: 600, pingMs: 200, retryMs: 100 });
      pinged = await push(d, open('ping1'), 10_000);
      pingConns = d.connectionsOpened();
      assert.equal(d.reconnects(), 0, `no reconnect with PINGs; dead: ${JSON.stringify(pinged.dead)}`);
      pingDeadPeers = withPing.plugin.stats().deadPeers;
    } finally {
      await withPing.stop();
    }
    assert.deepEqual(pinged.seqs, range(count));
    assert.deepEqual(pinged.dead, []);
    assert.equal(pingConns, 1);
    assert.deepEqual(pingDeadPeers, []);

    // the control: same gaps, no PINGs: the connection idles out between messages
    const noPing = await pluginPair({ quicIdleTimeoutMs: 600, retryMs: 100 });
    try {
      const d = await noPing.driver({ quicIdleTimeoutMs: 600, retryMs: 100 });
      const r = await push(d, open('noping1'), 10_000);
      await sleep(200);
      const srv = noPing.plugin.stats();
      assert.ok(r.dead.length >= 1 && r.dead.every((x) => x.mechanism === 'quic-idle'), `client: ${JSON.stringify(r.dead)}`);
      assert.ok(d.reconnects() >= 1, 'reconnected');
      assert.ok(srv.deadPeers.length >= 1 && srv.deadPeers.every((x) => x.mechanism === 'quic-idle'), `server: ${JSON.stringify(srv.deadPeers)}`);
      assert.deepEqual(accounting(r.seqs, count), { lost: [], dup: [] }, 'Last-Event-ID resume');
      t.diagnostic(`idle 600 ms, gaps 1500 ms: with PINGs every 200 ms 1 connection, 0 dead; without: ${r.dead.length} quic-idle (client), ${srv.deadPeers.length} (server), ${d.connectionsOpened()} connections`);
    } finally {
      await noPing.stop();
    }
  });
});

// ---------------------------------------------------------------- namespaces

interface Env {
  topo: Topology;
  server: ServerChannel;
  port: number;
  cert: string;
}

/** what the server process and the driver apply (the scenario's keepalive). PINGs as in
 *  scenarios/dead-peer.yaml: on a dead path they postpone the idle timeout by at most one
 *  PING interval (RFC 9000 10.1: the first ack-eliciting packet sent after the last one
 *  received restarts the idle timer; unanswered ones after it do not). */
const SERVER_KA: Keepalive = { quicIdleTimeoutMs: 1000, pingMs: 300, retryMs: 200 };

describe('sse-h3 on namespaces', { skip: h3skip, timeout: 120_000 }, async () => {
  const root = process.getuid?.() === 0;
  const skip = h3skip || (root ? false : 'needs root (network namespaces)');
  const skipOutage = skip || ((await haveCommand('iptables')) ? false : 'iptables not found');
  let env: Env | null = null;

  before(async () => {
    if (skip) return;
    env = await serverInTopology('h3', { keepalive: SERVER_KA, tls: true });
  });

  after(async () => {
    if (!env) return;
    const { topo, server } = env;
    env = null;
    await teardown(topo, server);
  });

  const serverStats = () => statsOf<H3ServerStats>(env!.server, 'h3');

  /** Start the driver in the client namespace; `msgs(n)` resolves once n distinct seqs arrived. */
  const client = (job: Partial<ClientJob> & Pick<ClientJob, 'open' | 'untilCount'>) =>
    messageClient(env!.topo.ns.client, { protocol: 'sse-h3', host: env!.topo.addr.server, port: env!.port, caPem: env!.cert, servername: SERVER_NAME, keepalive: SERVER_KA, requestTimeoutMs: 1000, maxMs: 20_000, ...job });
  const seqs = (r: ClientResult) => r.messages.map((m) => m[0]);

  it('sse-h3 push: 100 messages once each, in order, on one QUIC connection', { skip, timeout: 40_000 }, async (t: TestContext) => {
    const before = await serverStats();
    const r = await client({ open: { pattern: 'push', stream: 'ns1', count: 100, intervalMs: 10, bytes: 64, resume: true }, untilCount: 100, lingerMs: 100 }).result;
    const after = await serverStats();
    assert.deepEqual(seqs(r), range(100));
    assert.ok(r.messages.every(([, s, rcv, b]) => b === 64 && rcv >= s));
    assert.deepEqual(r.dead, []);
    assert.equal(r.connectionsOpened, 1);
    assert.equal(after.connections - before.connections, 1);
    assert.ok(after.messagesSent - before.messagesSent >= 100);
    t.diagnostic(`sse-h3 in namespaces: ${(r.wireBytes!.read / 100).toFixed(1)} UDP payload bytes read per 64-B message (handshake included)`);
  });

  it('a blackhole is detected by the QUIC idle timeout on both ends; the driver resumes with Last-Event-ID, nothing lost or doubled', { skip: skipOutage, timeout: 60_000 }, async (t: TestContext) => {
    const count = 200;
    const c = client({ open: { pattern: 'push', stream: 'nsdead', count, intervalMs: 20, bytes: 64, resume: true }, untilCount: count, lingerMs: 300, maxMs: 30_000 });
    await c.msgs(30);
    const rule = ['FORWARD', '-j', 'DROP'];
    const ns = env!.topo.ns.router;
    await run('iptables', ['-w', '5', '-I', ...rule], { ns });
    const on = nowMs();
    try {
      await sleep(3000);
    } finally {
      await run('iptables', ['-w', '5', '-D', ...rule], { ns });
    }
    const r = await c.result;
    const srv = await serverStats();
    const idle = SERVER_KA.quicIdleTimeoutMs!;
    const cd = r.dead.find((d) => d.mechanism === 'quic-idle');
    assert.ok(cd, `client dead events: ${JSON.stringify(r.dead)}`);
    const clientDetect = cd.atMs - on;
    // idle timeout after the last packet received, or after the first PING sent since then
    const ping = SERVER_KA.pingMs!;
    assert.ok(clientDetect > idle - 300 && clientDetect < idle + ping + 1000, `client detected ${clientDetect.toFixed(0)} ms into the outage (idle timeout ${idle} ms, PING ${ping} ms)`);
    const sd = srv.deadPeers.find((d) => d.mechanism === 'quic-idle' && d.atMs > on);
    assert.ok(sd, `server dead peers: ${JSON.stringify(srv.deadPeers)}`);
    const serverDetect = sd.atMs - on;
    assert.ok(serverDetect > idle - 300 && serverDetect < idle + ping + 1000, `server detected ${serverDetect.toFixed(0)} ms into the outage`);
    assert.deepEqual(accounting(seqs(r), count), { lost: [], dup: [] });
    const order = seqs(r);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'in order across the reconnection');
    assert.ok(r.reconnects >= 1 && r.connectionsOpened >= 2, `reconnects ${r.reconnects}, connections ${r.connectionsOpened}`);
    t.diagnostic(`sse-h3, QUIC idle timeout ${idle} ms, PING every ${SERVER_KA.pingMs} ms, 3 s blackhole: client detected after ${clientDetect.toFixed(0)} ms, server after ${serverDetect.toFixed(0)} ms; ${r.reconnects} reconnect(s), ${r.connectionsOpened} connections`);
  });
});
