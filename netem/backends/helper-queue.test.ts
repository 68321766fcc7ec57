// The helper's link and queue stage on real namespaces (root): a step trace's delivered rate,
// tail-drop limits in bytes and ms, and CoDel against a big tail-drop queue (bufferbloat).
// Bounds are functional: queue delays come from the helper's model clock (exact), delivered
// rates from a real TCP flow on a noisy shared machine (+-25 %); `npm run fidelity` holds
// the precise figures.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { describe, it } from 'node:test';
import { run, startTs, tsArgv, waitForLine } from '../../proc/exec.ts';
import { BulkReceiverLog, goodputBps, type BulkReceipt } from '../bulk.ts';
import { parseProfile } from '../profile.ts';
import { readTraceFile, resolveTracePath, traceRateBps } from '../trace.ts';
import { createTopology, type Topology } from '../topology.ts';
import type { QueueDelayStats } from '../backend.ts';
import { HelperBackend, helperAvailable } from './helper.ts';

const BULK_TS = new URL('../bulk.ts', import.meta.url).pathname;
const BULK_PORT = 7100;
/** TCP payload per 1500-byte IP packet (20 IP + 32 TCP with timestamps) */
const PAYLOAD_SHARE = 1448 / 1500;

interface Env {
  topo: Topology;
  backend: HelperBackend;
  log: BulkReceiverLog;
}

/** Topology + helper + bulk receiver in the server namespace, TCP cubic on both ends
 *  (bbr keeps queues short by design; cubic fills them, which is what bufferbloat is). */
async function withBulk(profile: unknown, fn: (env: Env) => Promise<void>): Promise<void> {
  const topo = await createTopology();
  const backend = new HelperBackend(topo);
  let recv: ChildProcess | null = null;
  try {
    for (const ns of [topo.ns.client, topo.ns.server]) await run('sysctl', ['-q', '-w', 'net.ipv4.tcp_congestion_control=cubic'], { ns });
    await backend.apply(parseProfile(profile));
    recv = startTs(BULK_TS, ['recv', '--host', topo.addr.server, '--port', String(BULK_PORT)], { ns: topo.ns.server, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = new BulkReceiverLog(recv);
    await waitForLine(recv, /^READY/);
    await fn({ topo, backend, log });
  } finally {
    recv?.kill('SIGTERM');
    await backend.teardown();
    await topo.destroy();
  }
}

/** One client -> server transfer of `seconds`; `onAccept` runs as soon as the receiver has
 *  the connection (e.g. to restart the trace there). */
async function transfer(env: Env, seconds: number, onAccept?: () => Promise<void>): Promise<BulkReceipt> {
  const n = env.log.receipts.length;
  const accepts = env.log.accepts;
  const [node, argv] = tsArgv(BULK_TS, ['send', '--host', env.topo.addr.server, '--port', String(BULK_PORT), '--seconds', String(seconds)]);
  const sender = run(node, argv, { ns: env.topo.ns.client, timeoutMs: seconds * 1000 + 60_000 });
  sender.catch(() => {});
  await env.log.until(() => env.log.accepts > accepts, 30_000, 'the connection');
  await onAccept?.();
  await sender;
  await env.log.until(() => env.log.receipts.length > n, 60_000, 'the receiver to finish');
  return env.log.receipts[n]!;
}

const fmt = (q: QueueDelayStats) => `n=${q.n} p50=${q.p50_ms} p99=${q.p99_ms} max=${q.max_ms} ms`;

describe('helper queue stage on namespaces', { timeout: 170_000 }, async () => {
  const avail = await helperAvailable();
  const skip = avail.ok ? false : `helper unavailable: ${avail.reason}`;

  it('delivers at the rate of each step of a step trace (+-25 %)', { skip, timeout: 60_000 }, async () => {
    const name = 'step-12-3.trace';
    const ms = readTraceFile(resolveTracePath(name));
    await withBulk({ delay_ms: 10, uplink: { trace: name }, seed: 1 }, async (env) => {
      // reseed restarts the trace at its first line: do it when the connection is there
      const r = await transfer(env, 15, async () => void (await env.backend.reseed(1)));
      // windows inside each step, after TCP's ramp-up (the queue drains/fills at a step)
      const windows = [[1500, 4800], [6500, 9800], [11500, 14500]] as const;
      const rows = windows.map(([a, b]) => ({ window: `${a}-${b} ms`, traceMbps: traceRateBps(ms, a, b) / 1e6, goodMbps: goodputBps(r, a, b) / 1e6 }));
      console.log(JSON.stringify(rows));
      assert.equal(rows.length, 3);
      for (const row of rows) {
        const expected = row.traceMbps * PAYLOAD_SHARE;
        assert.ok(Math.abs(row.goodMbps - expected) <= 0.25 * expected, `${row.window}: goodput ${row.goodMbps.toFixed(2)} Mbit/s, trace offers ${row.traceMbps.toFixed(2)} (payload ${expected.toFixed(2)})`);
      }
      // the steps are really there: the middle one is clearly slower than both others
      assert.ok(rows[1]!.goodMbps < 0.5 * rows[0]!.goodMbps && rows[1]!.goodMbps < 0.5 * rows[2]!.goodMbps);
    });
  });

  it('tail-drops at the configured fill: queue_bytes and queue_ms bound the queue delay', { skip, timeout: 60_000 }, async () => {
    const rateBps = 10e6;
    await withBulk({ delay_ms: 5, rate_bps: rateBps, queue_bytes: 30_000, seed: 1 }, async (env) => {
      await env.backend.queueDelay();
      const s0 = await env.backend.stats();
      await transfer(env, 4);
      const q = (await env.backend.queueDelay()).uplink;
      const s1 = await env.backend.stats();
      console.log(`queue_bytes 30000: ${fmt(q)}, queue drops ${s1.uplink.drops.queue - s0.uplink.drops.queue}`);
      // 30000 B queued (+ 14 B per packet on the wire) drain in ~24.3 ms at 10 Mbit/s
      const fullMs = ((30_000 + 20 * 14) * 8) / rateBps * 1000;
      assert.ok(q.max_ms <= fullMs + 1.5, `max queue delay ${q.max_ms} ms with a ${fullMs.toFixed(1)} ms byte limit`);
      assert.ok(q.max_ms >= 0.6 * fullMs, `the queue never filled (max ${q.max_ms} ms)`);
      assert.ok(s1.uplink.drops.queue - s0.uplink.drops.queue > 0, 'no tail drops');

      await env.backend.update(parseProfile({ delay_ms: 5, rate_bps: rateBps, queue_ms: 15, seed: 1 }));
      await env.backend.queueDelay();
      const s2 = await env.backend.stats();
      await transfer(env, 4);
      const q2 = (await env.backend.queueDelay()).uplink;
      const s3 = await env.backend.stats();
      console.log(`queue_ms 15: ${fmt(q2)}, queue drops ${s3.uplink.drops.queue - s2.uplink.drops.queue}`);
      assert.ok(q2.max_ms <= 15 + 1.5, `max queue delay ${q2.max_ms} ms with a 15 ms limit`);
      assert.ok(q2.max_ms >= 9, `the queue never filled (max ${q2.max_ms} ms)`);
      assert.ok(s3.uplink.drops.queue - s2.uplink.drops.queue > 0, 'no tail drops');
    });
  });

  it('CoDel keeps the queue delay near target where a big tail-drop queue bloats', { skip, timeout: 60_000 }, async () => {
    const base = { delay_ms: 10, rate_bps: 10e6, queue_packets: 1000, seed: 1 };
    await withBulk(base, async (env) => {
      await env.backend.queueDelay();
      await transfer(env, 6);
      const tail = (await env.backend.queueDelay()).uplink;
      await env.backend.update(parseProfile({ ...base, aqm: 'codel' }));
      await env.backend.queueDelay();
      const s0 = await env.backend.stats();
      await transfer(env, 6);
      const codel = (await env.backend.queueDelay()).uplink;
      const s1 = await env.backend.stats();
      const aqmDrops = (s1.uplink.drops.aqm ?? 0) - (s0.uplink.drops.aqm ?? 0);
      console.log(`tail-drop 1000 pkts: ${fmt(tail)}; codel: ${fmt(codel)}, aqm drops ${aqmDrops}`);
      assert.ok(tail.n > 1000 && codel.n > 1000, 'both flows went through the queue');
      assert.ok(tail.p50_ms > 50, `tail-drop p50 ${tail.p50_ms} ms: no bufferbloat with a 1000-packet queue?`);
      assert.ok(codel.p50_ms < 25, `codel p50 ${codel.p50_ms} ms, target 5 ms`);
      assert.ok(codel.p50_ms < tail.p50_ms / 3, 'codel not clearly below tail drop');
      assert.ok(aqmDrops > 0, 'codel never dropped');
      assert.equal(s1.uplink.drops.queue - s0.uplink.drops.queue, 0, 'codel run hit the tail-drop limit');
    });
  });
});
