// gRPC server plugin (servers/grpc.ts) and drivers (harness/drivers/grpc.ts) on real
// namespaces (root): servers/main.ts runs in the server namespace as the runner starts it,
// the driver runs in the client namespace through testdata/grpc-client.ts.
// Tolerances are loose on purpose (noisy 2-core VM): these check behaviour, not timing.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { run, start, tsArgv } from '../../proc/exec.ts';
import { HelperBackend, helperAvailable } from '../../netem/backends/helper.ts';
import { parseProfile } from '../../netem/profile.ts';
import { createTopology, type Topology } from '../../netem/topology.ts';
import { serverStats as statsOf, startServer, type ServerChannel } from './testdata/fixtures.ts';
import { nowMs, type Keepalive } from '../../contract/messages.ts';
import type { ServerStats } from '../../servers/types.ts';

const HERE = new URL('.', import.meta.url).pathname;
const CLIENT = `${HERE}testdata/grpc-client.ts`;
const KEEPALIVE: Keepalive = { pingMs: 500, pingTimeoutMs: 500, retryMs: 300 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Done {
  ev: 'done';
  seqs: number[];
  connectionsOpened: number;
  reconnects: number;
  elapsedMs: number;
}
interface DeadLine {
  ev: 'dead';
  atMs: number;
  mechanism: string;
  detail: string;
}

function clientArgs(topo: Topology, port: number, protocol: string, extra: object): string[] {
  const cfg = { protocol, host: topo.addr.server, port, keepalive: KEEPALIVE, requestTimeoutMs: 5000, intervalMs: 10, bytes: 100, resume: true, waitMs: 10_000, stream: `t-${protocol}-${Date.now()}`, ...extra };
  return [JSON.stringify(cfg)];
}

/** Run the driver fixture to completion; its JSON lines. */
async function runClient(topo: Topology, port: number, protocol: string, extra: object): Promise<{ done: Done; dead: DeadLine[] }> {
  const [node, argv] = tsArgv(CLIENT, clientArgs(topo, port, protocol, extra));
  const r = await run(node, argv, { ns: topo.ns.client, timeoutMs: 30_000 });
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const done = lines.find((l) => l.ev === 'done') as Done | undefined;
  assert.ok(done, `no result from the client: ${r.stdout} ${r.stderr}`);
  return { done, dead: lines.filter((l) => l.ev === 'dead') };
}

/** The driver fixture in the background: its lines so far, and a wait for the first line of
 *  an event kind (an "error" line rejects). */
function startClient(topo: Topology, port: number, protocol: string, extra: object) {
  const [node, argv] = tsArgv(CLIENT, clientArgs(topo, port, protocol, extra));
  const child = start(node, argv, { ns: topo.ns.client, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: any[] = [];
  const waiters: { pred: (l: any) => boolean; resolve: (l: any) => void }[] = [];
  let buf = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (const w of [...waiters]) if (w.pred(l)) waiters.splice(waiters.indexOf(w), 1), w.resolve(l);
    }
  });
  const waitFor = (ev: string, ms: number) =>
    new Promise<any>((resolve, reject) => {
      const hit = lines.find((l) => l.ev === ev || l.ev === 'error');
      if (hit) return hit.ev === 'error' ? reject(new Error(hit.message)) : resolve(hit);
      const timer = setTimeout(() => reject(new Error(`no "${ev}" within ${ms} ms; lines: ${JSON.stringify(lines).slice(0, 500)}; stderr: ${stderr}`)), ms);
      waiters.push({ pred: (l) => l.ev === ev || l.ev === 'error', resolve: (l) => (clearTimeout(timer), l.ev === 'error' ? reject(new Error(l.message)) : resolve(l)) });
    });
  return { child: child as ChildProcess, lines, waitFor };
}

function serverStats(server: ServerChannel): Promise<ServerStats> {
  return statsOf<ServerStats>(server, 'grpc');
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('grpc on namespaces', { timeout: 120_000 }, () => {
  let topo: Topology | undefined;
  let server: ServerChannel | undefined;
  let port = 0;

  before(async () => {
    topo = await createTopology();
    try {
      ({ server, port } = await startServer(topo, 'grpc', { keepalive: KEEPALIVE }));
    } catch (err) {
      await topo.destroy();
      topo = undefined;
      throw err;
    }
  });

  after(async () => {
    await server?.stop();
    await topo?.destroy();
  });

  it('unary echo, bidi echo and server-stream push, one connection each', { timeout: 60_000 }, async () => {
    const t = topo!;
    const s0 = await serverStats(server!);

    const unary = await runClient(t, port, 'grpc-unary', { count: 20 });
    assert.deepEqual([...unary.done.seqs].sort((a, b) => a - b), range(20), 'every echo back exactly once');
    assert.equal(unary.done.connectionsOpened, 1);
    assert.deepEqual(unary.dead, []);
    const s1 = await serverStats(server!);
    assert.equal(s1.connections - s0.connections, 1, 'server: one connection for unary');
    assert.equal(s1.requests - s0.requests, 20, 'server: 20 Echo RPCs');

    const bidi = await runClient(t, port, 'grpc-bidi', { count: 20 });
    assert.deepEqual(bidi.done.seqs, range(20), 'every echo back once, in order');
    assert.equal(bidi.done.connectionsOpened, 1);
    assert.deepEqual(bidi.dead, []);
    const s2 = await serverStats(server!);
    assert.equal(s2.connections - s1.connections, 1, 'server: one connection for bidi');
    assert.equal(s2.requests - s1.requests, 21, 'server: one Chat RPC + 20 echoes');

    const push = await runClient(t, port, 'grpc-stream', { count: 50 });
    assert.deepEqual(push.done.seqs, range(50), 'all 50 pushed, in order, once');
    assert.ok(push.done.elapsedMs >= 450, `50 messages 10 ms apart took ${push.done.elapsedMs} ms`);
    assert.equal(push.done.connectionsOpened, 1);
    assert.equal(push.done.reconnects, 0);
    assert.deepEqual(push.dead, []);
    const s3 = await serverStats(server!);
    assert.equal(s3.connections - s2.connections, 1, 'server: one connection for push');
    assert.equal(s3.requests - s2.requests, 51, 'server: one Push RPC + 50 messages');
    assert.deepEqual(s3.deadPeers, [], 'no dead peers on a clean path');
  });

  it('serves a plain grpc-js client with keepalive on', { timeout: 30_000 }, async () => {
    const t = topo!;
    const [node, argv] = tsArgv(`${HERE}testdata/grpc-plain-client.ts`, [t.addr.server, String(port)]);
    const r = await run(node, argv, { ns: t.ns.client, timeoutMs: 30_000 });
    const out = JSON.parse(r.stdout.trim()) as { echo: string; push: number[]; status: number };
    assert.match(out.echo, /^7 \d+\.\d{3} x+$/);
    assert.equal(out.echo.length, 64);
    assert.deepEqual(out.push, [1, 2, 3, 4, 5]);
    assert.equal(out.status, 0);
  });

  it('keepalive notices a blackholed path; the push stream resumes with nothing lost', { timeout: 60_000 }, async (ctx) => {
    const avail = await helperAvailable();
    if (!avail.ok) return ctx.skip(`helper unavailable: ${avail.reason}`);
    const t = topo!;
    const backend = new HelperBackend(t);
    let client: ChildProcess | undefined;
    try {
      await backend.apply(parseProfile({ delay_ms: 5, seed: 1 }));
      const count = 500;
      const c = startClient(t, port, 'grpc-stream', { count, waitMs: 30_000 });
      client = c.child;
      const { lines, waitFor } = c;

      await waitFor('open', 15_000);
      await sleep(1000);
      const sBefore = await serverStats(server!);
      const tOn = nowMs();
      await backend.setBlackhole('both', true);
      const dead = (await waitFor('dead', 8000)) as DeadLine;
      // hold the outage a little longer so the server's own keepalive fires too
      await sleep(1500);
      const tOff = nowMs();
      await backend.setBlackhole('both', false);
      const done = (await waitFor('done', 40_000)) as Done;
      const sAfter = await serverStats(server!);

      const detectMs = dead.atMs - tOn;
      const unique = new Set(done.seqs);
      const dup = done.seqs.length - unique.size;
      const serverDead = (sAfter.deadPeers ?? []).slice((sBefore.deadPeers ?? []).length);
      ctx.diagnostic(`client detect ${detectMs.toFixed(0)} ms (${dead.mechanism}); outage ${(tOff - tOn).toFixed(0)} ms; server dead peers ${JSON.stringify(serverDead.map((d) => Math.round(d.atMs - tOn)))} ms after blackhole; received ${unique.size}/${count}, dup ${dup}, connections ${done.connectionsOpened}, reconnects ${done.reconnects}, elapsed ${done.elapsedMs} ms`);

      assert.equal(dead.mechanism, 'grpc-keepalive', dead.detail);
      assert.ok(detectMs > 300 && detectMs < 5000, `client keepalive fired ${detectMs.toFixed(0)} ms into the outage`);
      assert.equal(lines.filter((l) => l.ev === 'dead').length, 1, 'one dead-peer report');
      assert.equal(count - unique.size, 0, `lost ${count - unique.size}`);
      assert.equal(dup, 0, 'resume after the last seq received: no duplicates');
      assert.ok(done.connectionsOpened >= 2 && done.reconnects >= 1, `connections ${done.connectionsOpened}, reconnects ${done.reconnects}`);
      assert.ok(serverDead.length >= 1 && serverDead.every((d) => d.mechanism === 'grpc-keepalive'), `server dead peers: ${JSON.stringify(serverDead)}`);
      assert.ok(serverDead[0]!.atMs > tOn + 300 && serverDead[0]!.atMs < tOff + 1000, `server keepalive fired ${(serverDead[0]!.atMs - tOn).toFixed(0)} ms into the outage`);
    } finally {
      client?.kill('SIGKILL');
      await backend.teardown();
    }
  });

  // Regression: a run listing grpc-h3-* before grpc-unary loaded grpc-js (through
  // servers/grpc-wire.ts) before harness/drivers/grpc.ts could switch on its keepalive tracer,
  // and unary calls reported nothing else: detect_ms_client stayed empty under a blackhole.
  for (const c of [
    { preload: 'drivers', mechanism: 'grpc-keepalive', why: 'loaded after every other driver of the protocol table' },
    { preload: 'grpc-js', mechanism: 'error:UNAVAILABLE', why: 'grpc-js loaded by someone else first: the failed calls say it' },
  ] as const) {
    it(`grpc-unary notices a blackholed path (${c.why}) and echoes again after it`, { timeout: 60_000 }, async (ctx) => {
      const avail = await helperAvailable();
      if (!avail.ok) return ctx.skip(`helper unavailable: ${avail.reason}`);
      const t = topo!;
      const backend = new HelperBackend(t);
      let client: ChildProcess | undefined;
      try {
        await backend.apply(parseProfile({ delay_ms: 5, seed: 1 }));
        const count = 600; // one Echo every 10 ms: 6 s of calls, the outage in the middle
        const cl = startClient(t, port, 'grpc-unary', { count, waitMs: 12_000, preload: c.preload });
        client = cl.child;
        await cl.waitFor('open', 20_000);
        await sleep(1000);
        const tOn = nowMs();
        await backend.setBlackhole('both', true);
        const dead = (await cl.waitFor('dead', 8000)) as DeadLine;
        await sleep(500);
        const tOff = nowMs();
        await backend.setBlackhole('both', false);
        const done = (await cl.waitFor('done', 30_000)) as Done;
        const detectMs = dead.atMs - tOn;
        const deads = cl.lines.filter((l) => l.ev === 'dead') as DeadLine[];
        const afterOutage = done.seqs.filter((q) => q > count - 100).length;
        ctx.diagnostic(`unary detect ${detectMs.toFixed(0)} ms (${deads.map((d) => d.mechanism).join(', ')}); outage ${(tOff - tOn).toFixed(0)} ms; echoed ${new Set(done.seqs).size}/${count}; connections ${done.connectionsOpened}`);
        assert.equal(dead.mechanism, c.mechanism, dead.detail);
        assert.ok(detectMs > 300 && detectMs < 5000, `verdict ${detectMs.toFixed(0)} ms into the outage`);
        assert.equal(deads.length, 1, `one dead-peer report per lost transport: ${JSON.stringify(deads)}`);
        assert.ok(done.connectionsOpened >= 2, `a new connection after the outage (connections ${done.connectionsOpened})`);
        assert.ok(afterOutage >= 50, `the last 100 echoes (sent after the outage) came back: ${afterOutage}`);
      } finally {
        client?.kill('SIGKILL');
        await backend.teardown();
      }
    });
  }
});
