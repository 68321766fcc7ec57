// The msg plugin (WebSocket, SSE, long polling) and its three drivers, on real sockets in
// real namespaces (root). One topology for the file: the server process (servers/main.ts)
// in the server namespace, each client job a fixture process (testdata/msg-client.ts) in the
// client namespace. Outages are a DROP rule in the router's FORWARD chain (both directions):
// that is all a black hole is, and it keeps these tests independent of the NFQUEUE helper.
// Tolerances are loose on purpose: the machine is a noisy 2-core VM, so these
// check behaviour and direction of effect, not timing targets.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { haveCommand, run } from '../../proc/exec.ts';
import type { Topology } from '../../netem/topology.ts';
import { effectiveHoldMs } from './longpoll.ts';
import { SseParser, type SseEvent } from './sse.ts';
import { nowMs, type Keepalive } from '../../contract/messages.ts';
import type { MsgServerStats } from '../../servers/msg.ts';
import type { ClientJob, ClientResult } from './testdata/msg-client.ts';
import { messageClient, serverInTopology, serverStats as statsOf, teardown, type ServerChannel } from './testdata/fixtures.ts';
/** what the server process applies to every connection */
const SERVER_KA: Keepalive = { pingMs: 500, pingTimeoutMs: 500, heartbeatMs: 300, retryMs: 200 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('SSE parsing (pure)', () => {
  const parse = (chunks: string[]) => {
    const ev: SseEvent[] = [];
    const retries: number[] = [];
    const p = new SseParser((e) => ev.push(e), (ms) => retries.push(ms));
    for (const c of chunks) p.feed(c);
    return { ev, retries, p };
  };

  it('handles LF, CRLF and CR line ends in any chunking, comments, retry and ids', () => {
    const text = 'retry:250\r\n: hb\r\n\r\nid:1\r\ndata:a b\r\n\r\nid: 2\ndata: x\ndata:y\n\n:\n\nevent:other\rdata:z\r\r';
    const whole = parse([text]);
    assert.deepEqual(whole.retries, [250]);
    assert.deepEqual(whole.ev, [
      { type: 'message', data: 'a b', lastEventId: '1' },
      { type: 'message', data: 'x\ny', lastEventId: '2' },
      { type: 'other', data: 'z', lastEventId: '2' },
    ]);
    for (let cut = 1; cut < text.length; cut++) {
      const split = parse([text.slice(0, cut), text.slice(cut)]);
      assert.deepEqual(split.ev, whole.ev, `split at ${cut}`);
    }
    assert.deepEqual(parse([...text]).ev, whole.ev, 'one character per chunk');
  });

  it('only a complete event moves the Last-Event-ID; reset() drops a partial event', () => {
    const { ev, p } = parse(['id:7\ndata:m7\n\nid:8\ndata:partial']);
    assert.equal(ev.length, 1);
    assert.equal(p.lastEventId, '7');
    p.reset();
    p.feed('\n\n');
    assert.equal(ev.length, 1, 'the partial event never dispatches after reset');
    assert.equal(p.lastEventId, '7');
  });

  it('keeps the long-poll hold below the request timeout', () => {
    assert.equal(effectiveHoldMs(30_000, 60_000), 30_000);
    assert.equal(effectiveHoldMs(30_000, 30_000), 28_000);
    assert.equal(effectiveHoldMs(5_000, 2_000), 1_500);
  });
});

interface Env {
  topo: Topology;
  server: ServerChannel;
  port: number;
}

describe('msg plugin and drivers on namespaces', { timeout: 120_000 }, async () => {
  const root = process.getuid?.() === 0;
  const skip = root ? false : 'needs root (network namespaces)';
  const skipOutage = skip || ((await haveCommand('iptables')) ? false : 'iptables not found');
  let env: Env | null = null;

  before(async () => {
    if (skip) return;
    env = await serverInTopology('msg', { keepalive: SERVER_KA });
  });

  after(async () => {
    if (!env) return;
    const { topo, server } = env;
    env = null;
    await teardown(topo, server);
  });

  const serverStats = () => statsOf<MsgServerStats>(env!.server, 'msg');

  /** Start a client job in the client namespace; `msgs(n)` resolves once n distinct seqs arrived. */
  const client = (job: Partial<ClientJob> & Pick<ClientJob, 'protocol' | 'open' | 'untilCount'>) =>
    messageClient(env!.topo.ns.client, { host: env!.topo.addr.server, port: env!.port, keepalive: {}, requestTimeoutMs: 3000, maxMs: 15_000, ...job });

  const seqs = (r: ClientResult) => r.messages.map((m) => m[0]);
  /** lost and duplicated seqs of 1..count */
  const accounting = (r: ClientResult, count: number) => {
    const n = new Map<number, number>();
    for (const s of seqs(r)) n.set(s, (n.get(s) ?? 0) + 1);
    return {
      lost: range(count).filter((s) => !n.has(s)),
      dup: [...n].filter(([, k]) => k > 1).map(([s]) => s),
    };
  };
  const bytesPerMessage = (r: ClientResult) => (r.wireBytes ? r.wireBytes.read / r.messages.length : NaN);

  it('ws echo: every message comes back once; ws push: 50 messages in order', { skip, timeout: 30_000 }, async (t: TestContext) => {
    const echo = await client({
      protocol: 'ws',
      open: { pattern: 'echo', stream: 'echo1', count: 20, intervalMs: 0, bytes: 64, resume: false },
      echo: { count: 20, intervalMs: 5 },
      untilCount: 20,
      lingerMs: 100,
    }).result;
    assert.deepEqual([...seqs(echo)].sort((a, b) => a - b), range(20));
    assert.ok(echo.messages.every(([, sent, recv, bytes]) => bytes === 64 && recv - sent > 0), 'each echo has 64 B and a positive RTT');
    assert.deepEqual(echo.dead, []);
    assert.equal(echo.connectionsOpened, 1);
    t.diagnostic(`ws echo RTT median ${median(echo.messages.map(([, s, r]) => r - s)).toFixed(2)} ms`);

    const before = await serverStats();
    const push = await client({
      protocol: 'ws',
      open: { pattern: 'push', stream: 'push1', count: 50, intervalMs: 10, bytes: 64, resume: false },
      untilCount: 50,
      lingerMs: 100,
    }).result;
    assert.deepEqual(seqs(push), range(50), 'all 50, once, in order');
    assert.ok(push.messages.every(([, s, r, b]) => b === 64 && r >= s));
    const span = push.messages[49]![2] - push.messages[0]![2];
    assert.ok(span > 350, `the schedule is followed (50 x 10 ms), span ${span.toFixed(0)} ms`);
    const after = await serverStats();
    assert.equal(after.connections - before.connections, 1);
    assert.ok(after.messagesSent - before.messagesSent >= 50);
    const bpm = bytesPerMessage(push);
    // 2-byte frame header + 64; plus the 101 response and the server's pings, spread out
    assert.ok(bpm > 66 && bpm < 75, `ws push: ${bpm.toFixed(1)} wire bytes per 64-B message`);
    t.diagnostic(`ws push: ${bpm.toFixed(1)} bytes read per 64-B message (101 response and pings included)`);
  });

  it('a plain ws client (not our driver) gets text and binary frames back unchanged', { skip, timeout: 30_000 }, async () => {
    const r = await client({ protocol: 'plain-ws', open: { pattern: 'echo', stream: 'plain', count: 20, intervalMs: 0, bytes: 100, resume: false }, untilCount: 20 }).result;
    assert.equal(r.mismatches, 0);
    assert.deepEqual([...seqs(r)].sort((a, b) => a - b), range(20));
  });

  it('sse push: 30 messages in order on one connection', { skip, timeout: 30_000 }, async (t: TestContext) => {
    const r = await client({
      protocol: 'sse',
      open: { pattern: 'push', stream: 'sse1', count: 30, intervalMs: 10, bytes: 64, resume: true },
      untilCount: 30,
      lingerMs: 100,
    }).result;
    assert.deepEqual(seqs(r), range(30));
    assert.ok(r.messages.every(([, s, rcv, b]) => b === 64 && rcv >= s));
    assert.deepEqual(r.dead, []);
    assert.equal(r.connectionsOpened, 1);
    const bpm = bytesPerMessage(r);
    // "id:N\ndata:<64>\n\n" plus HTTP/1.1 chunk framing, plus headers and retry: spread out
    assert.ok(bpm > 75 && bpm < 100, `sse: ${bpm.toFixed(1)} wire bytes per 64-B message`);
    t.diagnostic(`sse push: ${bpm.toFixed(1)} bytes read per 64-B message (response head, retry: and heartbeats included)`);
  });

  it('long polling: all messages on one kept-alive connection; empty holds end in 204', { skip, timeout: 30_000 }, async (t: TestContext) => {
    const s0 = await serverStats();
    const short = await client({
      protocol: 'longpoll',
      keepalive: { holdMs: 20 },
      open: { pattern: 'push', stream: 'lp1', count: 30, intervalMs: 50, bytes: 64, resume: true },
      untilCount: 30,
      lingerMs: 100,
    }).result;
    const s1 = await serverStats();
    assert.deepEqual(seqs(short), range(30));
    assert.deepEqual(short.dead, []);
    assert.equal(short.connectionsOpened, 1);
    assert.equal(s1.connections - s0.connections, 1, 'keep-alive: one TCP connection for every poll');
    assert.ok(s1.polls204 - s0.polls204 >= 10, `${s1.polls204 - s0.polls204} polls ended empty with a 20 ms hold and 50 ms spacing`);
    t.diagnostic(`longpoll, 20 ms hold: ${s1.requests - s0.requests} polls for 30 messages, ${s1.polls204 - s0.polls204} of them 204; ${bytesPerMessage(short).toFixed(0)} bytes read per message`);

    // a long hold: the held poll is answered when the next message is due, not later
    const held = await client({
      protocol: 'longpoll',
      keepalive: { holdMs: 5000 },
      open: { pattern: 'push', stream: 'lp2', count: 10, intervalMs: 100, bytes: 64, resume: true },
      untilCount: 10,
    }).result;
    const s2 = await serverStats();
    assert.deepEqual(seqs(held), range(10));
    assert.equal(s2.polls204 - s1.polls204, 0);
    const lat = median(held.messages.map(([, s, r]) => r - s));
    assert.ok(lat < 50, `median one-way latency of a held poll ${lat.toFixed(1)} ms`);
    assert.ok(s2.requests - s1.requests <= 12, `${s2.requests - s1.requests} polls for 10 messages`);
  });

  /** Black-hole both directions for `ms` once `after` messages arrived; returns when it was switched on. */
  const outageAfter = async (c: ReturnType<typeof client>, afterMsgs: number, ms: number) => {
    await c.msgs(afterMsgs);
    const rule = ['FORWARD', '-j', 'DROP'];
    const ns = env!.topo.ns.router;
    await run('iptables', ['-w', '5', '-I', ...rule], { ns });
    const on = nowMs();
    try {
      await sleep(ms);
    } finally {
      await run('iptables', ['-w', '5', '-D', ...rule], { ns });
    }
    return on;
  };

  it('ws: a dead path is detected by ping on both ends, then the push resumes without loss', { skip: skipOutage, timeout: 40_000 }, async (t: TestContext) => {
    const count = 150;
    const c = client({
      protocol: 'ws',
      keepalive: { pingMs: 500, pingTimeoutMs: 500, retryMs: 200 },
      open: { pattern: 'push', stream: 'wsdead', count, intervalMs: 20, bytes: 64, resume: true },
      untilCount: count,
      lingerMs: 300,
    });
    const on = await outageAfter(c, 30, 2000);
    const r = await c.result;
    const srv = await serverStats();
    const clientDead = r.dead.find((d) => d.mechanism === 'ws-ping');
    assert.ok(clientDead, `client dead events: ${JSON.stringify(r.dead)}`);
    const detect = clientDead.atMs - on;
    assert.ok(detect > 200 && detect < 3000, `client detected the dead path ${detect.toFixed(0)} ms into the outage`);
    const srvDead = srv.deadPeers.find((d) => d.mechanism === 'ws-ping' && d.atMs > on);
    assert.ok(srvDead, `server dead peers: ${JSON.stringify(srv.deadPeers)}`);
    const srvDetect = srvDead.atMs - on;
    assert.ok(srvDetect > 200 && srvDetect < 3000, `server detected the dead peer ${srvDetect.toFixed(0)} ms into the outage`);
    const acc = accounting(r, count);
    assert.deepEqual(acc, { lost: [], dup: [] }, 'resumed after the highest seq: nothing lost, nothing twice');
    assert.ok(r.reconnects >= 1 && r.connectionsOpened >= 2, `reconnects ${r.reconnects}, connections ${r.connectionsOpened}`);
    t.diagnostic(`ws ping 500/500 ms: client detected after ${detect.toFixed(0)} ms, server after ${srvDetect.toFixed(0)} ms; ${r.reconnects} reconnect(s), ${r.connectionsOpened} connections`);
  });

  it('sse: the heartbeat watchdog detects a dead path; Last-Event-ID resumes without loss or duplicates', { skip: skipOutage, timeout: 40_000 }, async (t: TestContext) => {
    const count = 100;
    const c = client({
      protocol: 'sse',
      keepalive: { heartbeatMs: 300 },
      open: { pattern: 'push', stream: 'ssedead', count, intervalMs: 20, bytes: 64, resume: true },
      untilCount: count,
      lingerMs: 300,
    });
    const on = await outageAfter(c, 30, 1500);
    const r = await c.result;
    const hb = r.dead.find((d) => d.mechanism === 'sse-heartbeat');
    assert.ok(hb, `client dead events: ${JSON.stringify(r.dead)}`);
    const detect = hb.atMs - on;
    // 750 ms without a byte (2.5 x 300), counted from the last byte before the outage
    assert.ok(detect > 300 && detect < 2000, `detected ${detect.toFixed(0)} ms into the outage`);
    assert.deepEqual(accounting(r, count), { lost: [], dup: [] });
    assert.ok(r.reconnects >= 1 && r.connectionsOpened >= 2, `reconnects ${r.reconnects}, connections ${r.connectionsOpened}`);
    const order = seqs(r);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'in order across the reconnection');
    t.diagnostic(`sse heartbeat 300 ms: detected after ${detect.toFixed(0)} ms; ${r.reconnects} reconnect(s)`);
  });
});
