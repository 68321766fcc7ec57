// Fidelity check of an impairment backend: does the emulated path do what the profile says?
//
//   npm run fidelity [-- --json] [-- --backend auto|<a name of netem/backends/index.ts>]
//
// On a fresh topology it measures, in this order (about 110 s in all):
//   1. TCP bulk throughput with no impairment at all, then through the backend with a
//      pass-through profile (3 rounds of 3 s, interleaved, to average out a noisy machine;
//      the ratio is of the sums)
//   2. RTT at 2x25 ms (UDP probe), plus the unimpaired path's own RTT as the floor
//   3. random loss 2% each way (RTT loss expected 1 - 0.98^2), 20k probes at 1 ms
//   4. Gilbert-Elliott loss on the uplink only (p=0.01 r=0.2 1-h=1 1-k=0: mean burst 5),
//      40k probes at 0.75 ms (lossprobe.ts: sub-ms pacing, larger socket buffers)
//   5. a 20 Mbit/s uplink rate limit at 2x25 ms: L2 rate on the bottleneck interface
//      (what the limiter counts: IP bytes + 14) and TCP goodput
//   6. a step trace on the uplink (netem/traces/step-12-3.trace: 12, 3, 12 Mbit/s for 5 s
//      each), restarted when the TCP bulk connection is accepted: goodput inside each step
//      vs the trace's rate x 1448/1500 (TCP payload per 1500-byte packet). Skipped with the
//      reason on a backend that cannot replay traces (netem).
// Library first: runFidelity() returns the result object; main() only prints it.
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { BackendChoice, BackendStats, ImpairmentBackend } from './backend.ts';
import { BACKEND_CHOICES, createBackend, isBackendChoice, resolveBackend } from './backends/index.ts';
import { BulkReceiverLog, goodputBps, type BulkReceipt } from './bulk.ts';
import { run, startTs, tsArgv, waitForLine } from '../proc/exec.ts';
import { installSignalHandlers, onCleanup } from '../proc/lifecycle.ts';
import { type LossProbeResult } from './lossprobe.ts';
import { meanBurst, nearestRankQuantile, type ProbeResult } from './probe.ts';
import { parseProfile, passThrough, type NetworkProfile } from './profile.ts';
import { createTopology, readCc, type Topology } from './topology.ts';
import { readTraceFile, resolveTracePath, traceRateBps } from './trace.ts';

const HERE = new URL('.', import.meta.url).pathname;
const PROBE_TS = `${HERE}probe.ts`;
const BULK_TS = `${HERE}bulk.ts`;
const LOSSPROBE_TS = `${HERE}lossprobe.ts`;
const ECHO_PORT = 7000;
const BIG_ECHO_PORT = 7001; // lossprobe.ts's echo, for the loss-pattern tests
const BULK_PORT = 5201;
const DISCARD_FIRST_PROBES = 5; // ARP resolution and first-packet costs

export const TARGETS = {
  rttErrorP50Ms: 0.2,
  rttErrorP99Ms: 1,
  lossRelative: 0.1,
  geBurstRelative: 0.1,
  rateRelative: 0.03,
  throughputRatio: 0.9,
  /** goodput inside each step of the step trace vs the trace's payload rate */
  traceRelative: 0.08,
};

export interface FidelityOptions {
  backend: BackendChoice;
  /** shorter runs (fewer probes, shorter transfers) for smoke tests */
  quick?: boolean;
}

type Pct = { p50: number; p99: number };

/** One step of the step trace: the window measured (ms after the trace start), the rate the
 *  trace offers there, and the TCP goodput seen. */
export interface TraceStep {
  window_ms: [number, number];
  trace_mbps: number;
  payload_mbps: number;
  goodput_mbps: number;
}

export interface FidelityResult {
  backend: string;
  backend_why: string;
  kernel: string;
  tcp_cc: string;
  node: string;
  loadavg_start: number[];
  loadavg_end: number[];
  duration_s: number;
  rtt_configured_ms: number;
  rtt_probes: number;
  rtt_measured_ms: Pct & { max: number };
  rtt_error_ms: Pct;
  /** RTT of the same path with no impairment installed: the probe's own floor */
  rtt_unimpaired_ms: Pct;
  /** p50 RTT minus the configured RTT minus the unimpaired p50: what the backend adds */
  rtt_excess_over_floor_p50_ms: number;
  /** backend-reported release lateness during the RTT test (helper only) */
  lateness_us: { uplink?: BackendStats['uplink']['latenessUs']; downlink?: BackendStats['downlink']['latenessUs'] };
  loss_configured_pct: number;
  loss_measured_pct: number;
  loss_probes: number;
  /** datagrams the client/server sockets dropped during the loss test (apparatus, not path) */
  loss_socket_drops: number;
  /** loss_measured_pct without those socket drops: the path's own loss as the probe saw it */
  loss_measured_path_pct: number;
  /** loss the backend itself counted, as RTT loss (1 - (1-up)(1-down)) */
  loss_backend_pct: number | null;
  ge_mean_burst: { configured: number; measured: number };
  ge_loss_configured_pct: number;
  ge_loss_measured_pct: number;
  ge_probes: number;
  ge_socket_drops: number;
  rate_configured_mbps: number;
  /** L2 rate on the bottleneck interface (IP bytes + 14 per packet, as the limiter counts) */
  rate_measured_mbps: number;
  tcp_goodput_mbps: number;
  throughput_mbps: { unimpaired: number[]; backend: number[] };
  throughput_ratio: number;
  /** step-trace rows (null: skipped, see trace_unsupported) */
  trace_steps: TraceStep[] | null;
  /** why the backend could not replay the trace, or null */
  trace_unsupported: string | null;
  checks: Record<string, boolean>;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** A long-running process in a namespace that prints READY first. */
async function startReady(ns: string, script: string, args: string[]): Promise<ChildProcess> {
  const child = startTs(script, args, { ns, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, /^READY/);
  return child;
}

async function probe(topo: Topology, count: number, intervalMs: number): Promise<ProbeResult> {
  const [node, argv] = tsArgv(PROBE_TS, ['probe', '--host', topo.addr.server, '--port', String(ECHO_PORT), '--count', String(count), '--interval-ms', String(intervalMs), '--wait-ms', '1500']);
  const r = await run(node, argv, { ns: topo.ns.client, timeoutMs: Math.ceil(count * intervalMs) + 60_000 });
  const res = JSON.parse(r.stdout) as ProbeResult;
  // drop the first probes entirely (ARP, cold paths) so loss and RTT see the steady state
  const rttMs = rttAfter(res);
  return { sent: res.sent - DISCARD_FIRST_PROBES, received: rttMs.length, rttMs, lostSeqs: res.lostSeqs.filter((s) => s >= DISCARD_FIRST_PROBES) };
}

/** UDP datagrams dropped by full socket buffers in the client and server namespaces:
 *  losses of the measuring apparatus (a starved Node process), not of the emulated path. */
async function udpSocketDrops(topo: Topology): Promise<number> {
  let n = 0;
  for (const ns of [topo.ns.client, topo.ns.server]) {
    const lines = (await run('cat', ['/proc/net/snmp'], { ns })).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    const head = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/).map(Number);
    n += vals[head.indexOf('RcvbufErrors')]! + vals[head.indexOf('SndbufErrors')]!;
  }
  return n;
}

/** Loss pattern only, at sub-millisecond intervals (see lossprobe.ts for why not probe.ts). */
async function lossProbe(topo: Topology, count: number, intervalMs: number): Promise<LossProbeResult> {
  const [node, argv] = tsArgv(LOSSPROBE_TS, ['--host', topo.addr.server, '--port', String(BIG_ECHO_PORT), '--count', String(count), '--interval-ms', String(intervalMs)]);
  const r = await run(node, argv, { ns: topo.ns.client, timeoutMs: Math.ceil(count * intervalMs) + 60_000 });
  const res = JSON.parse(r.stdout) as LossProbeResult;
  const lostSeqs = res.lostSeqs.filter((s) => s >= DISCARD_FIRST_PROBES);
  return { sent: res.sent - DISCARD_FIRST_PROBES, received: res.sent - DISCARD_FIRST_PROBES - lostSeqs.length, lostSeqs, reordered: res.reordered };
}

/** RTTs of probes with seq >= DISCARD_FIRST_PROBES (rttMs is in seq order without the lost ones). */
function rttAfter(res: ProbeResult): number[] {
  const lost = new Set(res.lostSeqs);
  const out: number[] = [];
  let k = 0;
  for (let seq = 0; seq < res.sent; seq++) {
    if (lost.has(seq)) continue;
    const v = res.rttMs[k++]!;
    if (seq >= DISCARD_FIRST_PROBES) out.push(v);
  }
  return out;
}

/** The bulk receiver in the server namespace, and one transfer at a time through it. */
class Bulk {
  private readonly log: BulkReceiverLog;
  private constructor(private topo: Topology, private child: ChildProcess) {
    this.log = new BulkReceiverLog(child);
  }

  static async start(topo: Topology): Promise<Bulk> {
    const child = startTs(BULK_TS, ['recv', '--host', topo.addr.server, '--port', String(BULK_PORT)], { ns: topo.ns.server, stdio: ['ignore', 'pipe', 'pipe'] });
    // waitForLine would swallow lines after READY; use our own reader from the start
    const bulk = new Bulk(topo, child);
    await waitForLine(child, /^READY/);
    return bulk;
  }

  /** Transfer client -> server for `seconds`; goodput over [fromS, toS] after accept, and
   *  the L2 rate on `iface` in the router over the same window (from its tx counters). */
  async transfer(seconds: number, fromS: number, toS: number, iface?: string, onAccept?: () => Promise<void>): Promise<{ goodputBps: number; l2Bps: number | null; receipt: BulkReceipt }> {
    const nReceipts = this.log.receipts.length;
    const nAccepts = this.log.accepts;
    const [node, argv] = tsArgv(BULK_TS, ['send', '--host', this.topo.addr.server, '--port', String(BULK_PORT), '--seconds', String(seconds)]);
    const sender = run(node, argv, { ns: this.topo.ns.client, timeoutMs: seconds * 1000 + 60_000 });
    sender.catch(() => {});
    await this.log.until(() => this.log.accepts > nAccepts, 30_000, 'the connection');
    await onAccept?.();
    const t0 = performance.now();
    let l2Bps: number | null = null;
    if (iface) {
      const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t0 + t * 1000 - performance.now())));
      await sleepUntil(fromS);
      const a = await this.txBytes(iface);
      await sleepUntil(toS);
      const b = await this.txBytes(iface);
      l2Bps = ((b.bytes - a.bytes) * 8 * 1000) / (b.tMs - a.tMs);
    }
    await sender;
    await this.log.until(() => this.log.receipts.length > nReceipts, 60_000, 'the receiver to finish');
    const receipt = this.log.receipts[nReceipts]!;
    return { goodputBps: goodputBps(receipt, fromS * 1000, toS * 1000), l2Bps, receipt };
  }

  /** tx bytes of a router interface, time-stamped at the midpoint of the read. */
  private async txBytes(iface: string): Promise<{ bytes: number; tMs: number }> {
    const before = performance.now();
    const r = await run('ip', ['-n', this.topo.ns.router, '-s', '-j', 'link', 'show', 'dev', iface]);
    const after = performance.now();
    const j = JSON.parse(r.stdout) as { stats64: { tx: { bytes: number } } }[];
    return { bytes: j[0]!.stats64.tx.bytes, tMs: (before + after) / 2 };
  }

  stop() {
    this.child.kill('SIGTERM');
  }
}

const ms = (rtts: number[]): number[] => [...rtts].sort((a, b) => a - b);

export async function runFidelity(opts: FidelityOptions, progress: (msg: string) => void = () => {}): Promise<FidelityResult> {
  const t0 = Date.now();
  const loadStart = loadavg().map(r3);
  const q = opts.quick ? 0.25 : 1;
  const chosen = await resolveBackend(opts.backend);
  progress(`backend ${chosen.name} (${chosen.why})`);
  const topo = await createTopology();
  const unTopo = onCleanup(() => topo.destroy());
  const backends: ImpairmentBackend[] = [];
  const children: { stop(): void }[] = [];
  try {
    const newBackend = async (profile: NetworkProfile) => {
      const b = await createBackend(chosen.name, topo);
      backends.push(b);
      await b.apply(profile);
      return b;
    };
    const echo = await startReady(topo.ns.server, PROBE_TS, ['echo', '--host', topo.addr.server, '--port', String(ECHO_PORT)]);
    children.push({ stop: () => echo.kill('SIGTERM') });
    const bigEcho = await startReady(topo.ns.server, LOSSPROBE_TS, ['echo', '--host', topo.addr.server, '--port', String(BIG_ECHO_PORT)]);
    children.push({ stop: () => bigEcho.kill('SIGTERM') });
    const bulk = await Bulk.start(topo);
    children.push(bulk);
    const tcpCc = await readCc(topo.ns.client);

    // 1. throughput: unimpaired vs through the backend at zero delay, interleaved
    // At zero delay TCP is at full speed within milliseconds; skip the first 0.5 s anyway.
    const thrSeconds = 3;
    const rounds = opts.quick ? 1 : 3;
    const thr = { unimpaired: [] as number[], backend: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      progress(`throughput round ${round + 1}/${rounds}: unimpaired`);
      thr.unimpaired.push((await bulk.transfer(thrSeconds, 0.5, thrSeconds - 0.2)).goodputBps / 1e6);
      progress(`throughput round ${round + 1}/${rounds}: through ${chosen.name}, pass-through profile`);
      const b = await newBackend(passThrough(1));
      thr.backend.push((await bulk.transfer(thrSeconds, 0.5, thrSeconds - 0.2)).goodputBps / 1e6);
      await b.teardown();
    }
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const throughputRatio = sum(thr.backend) / sum(thr.unimpaired);

    // 2. RTT at 2x25 ms, right after the same probe on the unimpaired path (the floor)
    progress('unimpaired path RTT floor');
    const floor = await probe(topo, Math.round(300 * q) + DISCARD_FIRST_PROBES, 10);
    progress('RTT at 2x25 ms');
    const rttProfile = parseProfile({ delay_ms: 25, seed: 1 });
    const be = await newBackend(rttProfile);
    const rttCount = Math.round(1000 * q);
    const rttRes = await probe(topo, rttCount + DISCARD_FIRST_PROBES, 10);
    const s1 = await be.stats();
    const rtt = ms(rttRes.rttMs);
    const rttFloor = ms(floor.rttMs);

    // 3. random loss 2% each way (no delay: only loss matters here, keeps it short)
    progress('random loss 2% each way');
    await be.update(parseProfile({ loss_pct: 2, seed: 1 }));
    const lossCount = Math.round(20_000 * q);
    const l0 = await be.stats();
    const sock0 = await udpSocketDrops(topo);
    const lossRes = await lossProbe(topo, lossCount + DISCARD_FIRST_PROBES, 1);
    const l1 = await be.stats();
    const lossSocketDrops = (await udpSocketDrops(topo)) - sock0;
    const frac = (s1: BackendStats, s0: BackendStats, d: 'uplink' | 'downlink') => {
      const pk = s1[d].packets - s0[d].packets;
      return pk > 0 ? (s1[d].drops.loss - s0[d].drops.loss) / pk : NaN;
    };
    const upF = frac(l1, l0, 'uplink');
    const downF = frac(l1, l0, 'downlink');
    const lossBackendPct = Number.isFinite(upF) && Number.isFinite(downF) ? (1 - (1 - upF) * (1 - downF)) * 100 : null;

    // 4. Gilbert-Elliott on the uplink only
    progress('Gilbert-Elliott loss on the uplink (p=0.01 r=0.2 1-h=1 1-k=0)');
    const ge = { p: 0.01, r: 0.2, one_minus_h: 1, one_minus_k: 0 };
    await be.update(parseProfile({ uplink: { loss_ge: ge }, seed: 1 }));
    const geCount = Math.round(40_000 * q);
    const geSock0 = await udpSocketDrops(topo);
    const geRes = await lossProbe(topo, geCount + DISCARD_FIRST_PROBES, 0.75);
    const geSocketDrops = (await udpSocketDrops(topo)) - geSock0;

    // 5. rate 20 Mbit/s on the uplink at 2x25 ms
    progress('rate 20 Mbit/s uplink at 2x25 ms (TCP bulk client -> server)');
    const rateBps = 20e6;
    await be.update(parseProfile({ delay_ms: 25, uplink: { rate_bps: rateBps }, seed: 1 }));
    const rateSeconds = opts.quick ? 4 : 8;
    const rateRes = await bulk.transfer(rateSeconds, 2, rateSeconds - 1, topo.egress.uplink);

    // 6. step trace on the uplink, restarted at the connection's accept
    const traceName = 'step-12-3.trace';
    const traceProfile = parseProfile({ delay_ms: 10, uplink: { trace: traceName }, seed: 1 });
    const traceUnsupported = be.unsupported?.(traceProfile) ?? null;
    let traceSteps: TraceStep[] | null = null;
    if (!traceUnsupported) {
      progress(`trace ${traceName} uplink at 2x10 ms (TCP bulk client -> server)`);
      const ms = readTraceFile(resolveTracePath(traceName));
      await be.update(traceProfile);
      const windows: [number, number][] = opts.quick ? [[1500, 4800], [6500, 9800]] : [[1500, 4800], [6500, 9800], [11500, 14500]];
      const tr = await bulk.transfer(windows.at(-1)![1] / 1000 + 0.5, 0, 1, undefined, async () => void (await be.reseed(1)));
      traceSteps = windows.map(([a, b]) => {
        const rate = traceRateBps(ms, a, b);
        return { window_ms: [a, b], trace_mbps: r3(rate / 1e6), payload_mbps: r3((rate * 1448) / 1500 / 1e6), goodput_mbps: r3(goodputBps(tr.receipt, a, b) / 1e6) };
      });
    }

    const checks: Record<string, boolean> = {};
    const rttErr = { p50: nearestRankQuantile(rtt, 0.5) - 50, p99: nearestRankQuantile(rtt, 0.99) - 50 };
    const lossCfg = (1 - 0.98 ** 2) * 100;
    const lossMeas = (lossRes.lostSeqs.length / lossRes.sent) * 100;
    const lossPathMeas = ((lossRes.lostSeqs.length - lossSocketDrops) / lossRes.sent) * 100;
    const burst = meanBurst(geRes.lostSeqs);
    const geCfgLoss = (ge.p / (ge.p + ge.r)) * 100;
    const rateMeas = (rateRes.l2Bps ?? NaN) / 1e6;
    checks.rtt_error_p50 = Math.abs(rttErr.p50) <= TARGETS.rttErrorP50Ms;
    checks.rtt_error_p99 = Math.abs(rttErr.p99) <= TARGETS.rttErrorP99Ms;
    // judged on the path's loss: datagrams a starved Node process could not read are the
    // probe's losses, counted separately by the kernel (RcvbufErrors) and reported
    checks.loss = Math.abs(lossPathMeas - lossCfg) / lossCfg <= TARGETS.lossRelative;
    checks.ge_mean_burst = Math.abs(burst - 1 / ge.r) / (1 / ge.r) <= TARGETS.geBurstRelative;
    checks.rate = Math.abs(rateMeas - rateBps / 1e6) / (rateBps / 1e6) <= TARGETS.rateRelative;
    checks.throughput_ratio = throughputRatio >= TARGETS.throughputRatio;
    if (traceSteps) checks.trace_steps = traceSteps.every((t) => Math.abs(t.goodput_mbps - t.payload_mbps) / t.payload_mbps <= TARGETS.traceRelative);

    return {
      backend: chosen.name,
      backend_why: chosen.why,
      kernel: (await readFile('/proc/sys/kernel/osrelease', 'utf8')).trim(),
      tcp_cc: tcpCc,
      node: process.version,
      loadavg_start: loadStart,
      loadavg_end: loadavg().map(r3),
      duration_s: Math.round((Date.now() - t0) / 100) / 10,
      rtt_configured_ms: 50,
      rtt_probes: rtt.length,
      rtt_measured_ms: { p50: r3(nearestRankQuantile(rtt, 0.5)), p99: r3(nearestRankQuantile(rtt, 0.99)), max: r3(rtt.at(-1) ?? NaN) },
      rtt_error_ms: { p50: r3(rttErr.p50), p99: r3(rttErr.p99) },
      rtt_unimpaired_ms: { p50: r3(nearestRankQuantile(rttFloor, 0.5)), p99: r3(nearestRankQuantile(rttFloor, 0.99)) },
      rtt_excess_over_floor_p50_ms: r3(rttErr.p50 - nearestRankQuantile(rttFloor, 0.5)),
      lateness_us: { uplink: s1.uplink.latenessUs, downlink: s1.downlink.latenessUs },
      loss_configured_pct: r3(lossCfg),
      loss_measured_pct: r3(lossMeas),
      loss_probes: lossRes.sent,
      loss_socket_drops: lossSocketDrops,
      loss_measured_path_pct: r3(lossPathMeas),
      loss_backend_pct: lossBackendPct === null ? null : r3(lossBackendPct),
      ge_mean_burst: { configured: 1 / ge.r, measured: r3(burst) },
      ge_loss_configured_pct: r3(geCfgLoss),
      ge_loss_measured_pct: r3((geRes.lostSeqs.length / geRes.sent) * 100),
      ge_probes: geRes.sent,
      ge_socket_drops: geSocketDrops,
      rate_configured_mbps: rateBps / 1e6,
      rate_measured_mbps: r3(rateMeas),
      tcp_goodput_mbps: r3(rateRes.goodputBps / 1e6),
      throughput_mbps: { unimpaired: thr.unimpaired.map(r3), backend: thr.backend.map(r3) },
      throughput_ratio: r3(throughputRatio),
      trace_steps: traceSteps,
      trace_unsupported: traceUnsupported,
      checks,
    };
  } finally {
    for (const c of children) c.stop();
    for (const b of backends) await b.teardown().catch(() => {});
    await topo.destroy();
    unTopo();
  }
}

function table(r: FidelityResult): string {
  const ok = (k: string) => (r.checks[k] ? 'ok' : 'MISS');
  const rows: [string, string, string, string][] = [
    ['RTT p50 error', `50 ms`, `${r.rtt_error_ms.p50} ms`, ok('rtt_error_p50')],
    ['RTT p99 error', `50 ms`, `${r.rtt_error_ms.p99} ms`, ok('rtt_error_p99')],
    ['RTT floor (unimpaired p50/p99)', '-', `${r.rtt_unimpaired_ms.p50}/${r.rtt_unimpaired_ms.p99} ms`, ''],
    ['RTT p50 excess over the floor', '0 ms', `${r.rtt_excess_over_floor_p50_ms} ms`, ''],
    ['backend release lateness p50/p99', '-', r.lateness_us.uplink ? `up ${r.lateness_us.uplink.p50}/${r.lateness_us.uplink.p99} us, down ${r.lateness_us.downlink?.p50}/${r.lateness_us.downlink?.p99} us` : 'n/a', ''],
    ['random loss (RTT)', `${r.loss_configured_pct}%`, `${r.loss_measured_path_pct}% (raw ${r.loss_measured_pct}%, socket drops ${r.loss_socket_drops}, backend ${r.loss_backend_pct}%)`, ok('loss')],
    ['GE mean burst', `${r.ge_mean_burst.configured}`, `${r.ge_mean_burst.measured} (socket drops ${r.ge_socket_drops})`, ok('ge_mean_burst')],
    ['GE loss', `${r.ge_loss_configured_pct}%`, `${r.ge_loss_measured_pct}%`, ''],
    ['rate (L2 at bottleneck)', `${r.rate_configured_mbps} Mbit/s`, `${r.rate_measured_mbps} Mbit/s`, ok('rate')],
    ['TCP goodput at that rate', '-', `${r.tcp_goodput_mbps} Mbit/s`, ''],
    ...(r.trace_steps ?? []).map((t, i): [string, string, string, string] => [`trace step ${i + 1} (${t.window_ms.join('-')} ms) TCP goodput`, `${t.payload_mbps} Mbit/s`, `${t.goodput_mbps} Mbit/s`, ok('trace_steps')]),
    ...(r.trace_unsupported ? [['trace steps', '-', r.trace_unsupported, 'UNSUPPORTED'] as [string, string, string, string]] : []),
    ['throughput ratio', '>= 0.9', `${r.throughput_ratio} (${r.throughput_mbps.backend.join('/')} vs ${r.throughput_mbps.unimpaired.join('/')} Mbit/s)`, ok('throughput_ratio')],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const head = `backend ${r.backend} | kernel ${r.kernel} | tcp cc ${r.tcp_cc} | load ${r.loadavg_start.join(' ')} -> ${r.loadavg_end.join(' ')} | ${r.duration_s} s`;
  return [head, ...rows.map((row) => `${row[0].padEnd(w[0]!)}  ${row[1].padEnd(w[1]!)}  ${row[2].padEnd(w[2]!)}  ${row[3]}`)].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, backend: { type: 'string', default: 'auto' }, quick: { type: 'boolean', default: false } },
  });
  const backend = values.backend!;
  if (!isBackendChoice(backend)) {
    process.stderr.write(`--backend: expected ${BACKEND_CHOICES.join(', ')}, got "${values.backend}"\n`);
    process.exitCode = 2;
    return;
  }
  installSignalHandlers();
  try {
    const r = await runFidelity({ backend, quick: values.quick }, (m) => process.stderr.write(`fidelity: ${m}\n`));
    process.stdout.write(values.json ? JSON.stringify(r) + '\n' : table(r) + '\n');
  } catch (err) {
    process.stderr.write(`fidelity: ${process.env.HOLBENCH_DEBUG ? (err as Error).stack : (err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
