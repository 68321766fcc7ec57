// Steady-state bulk TCP through the impaired path, for truth check T4.
//
// One topology (client, router, server namespaces) and one impairment backend serve every
// transfer. The SENDER runs in the server namespace and the receiver in the client
// namespace, so data segments travel the downlink and ACKs the uplink; random loss is set
// on the downlink only, which makes the backend's downlink loss counter exactly the loss
// of data segments (the p of the formulas) and leaves ACKs untouched. No rate limit: the
// path never binds, so the throughput is what the loss and the RTT allow.
//
// Slow start is excluded twice over: the measurement window starts `warmupS` after the
// connection is accepted, and only if the sender's ssthresh is already finite then (Linux
// sets it at the first loss event; a connection still in its first slow start has none),
// otherwise the transfer is reported as not steady. Within the window [A, B] everything is
// a difference of two snapshots taken back to back at A and at B: tcp_info of the sender
// (`ss -tin`), the backend's per-direction counters, and the sender namespace's TcpExt
// counters; RTT and RTO are means of `ss` samples taken every second from A to B.
import type { ChildProcess } from 'node:child_process';
import type { BackendStats, ImpairmentBackend } from '../../../netem/backend.ts';
import { createBackend, resolveBackend } from '../../../netem/backends/index.ts';
import { parseProfile } from '../../../netem/profile.ts';
import { createTopology, readCc, sysctl, type CongestionControl, type Topology } from '../../../netem/topology.ts';
import { run, startTs, tsArgv, waitForLine } from '../../../proc/exec.ts';
import { onCleanup } from '../../../proc/lifecycle.ts';
import { lossIndications, parseSs, parseTcpExt, type SsSocket } from './tcpinfo.ts';

const BULK_TS = new URL('../../../netem/bulk.ts', import.meta.url).pathname;
import { BulkReceiverLog } from '../../../netem/bulk.ts';
const PORT = 5301;
const SAMPLE_EVERY_MS = 1000;

export interface SteadyTcpOptions {
  cc: CongestionControl;
  /** random loss on the downlink (data direction), percent */
  lossPct: number;
  /** one-way delay each way, ms (RTT = 2x) */
  delayMs: number;
  /** impairment PRNG seed: the same seed gives the same loss decisions */
  seed: number;
  warmupS: number;
  measureS: number;
}

export interface SteadyTcpResult {
  cc: string;
  lossPctConfigured: number;
  seed: number;
  /** false when the sender had not left its first slow start by the window's start */
  steady: boolean;
  windowS: number;
  /** in-order bytes ACKed per second over the window (Mathis's BW), bit/s */
  goodputBps: number;
  /** bytes sent per second incl. retransmissions (PFTK's B(p) is a sending rate), bit/s */
  sendBps: number;
  /** data segments the sender sent in the window (incl. retransmissions) */
  dataSegs: number;
  /** packets that entered the downlink impairment, and how many it dropped as loss */
  downlinkPackets: number;
  downlinkLossDrops: number;
  /** downlinkLossDrops / downlinkPackets: loss rate of data segments */
  pPkt: number;
  /** fast-recovery episodes and RTO timeouts in the window (congestion signals) */
  recoveries: number;
  timeouts: number;
  /** (recoveries + timeouts) / dataSegs: loss indications per packet sent */
  pEvt: number;
  /** mean smoothed RTT and RTO over the window's samples, ms */
  srttMs: number;
  rtoMs: number;
  samples: number;
  mssBytes: number;
  /** smallest advertised receive window seen in the window, packets */
  wmaxPkts: number;
  /** largest cwnd seen in the window's samples, packets */
  cwndMaxPkts: number;
}

interface Snapshot {
  tMs: number;
  sock: SsSocket;
  stats: BackendStats;
  tcpExt: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A topology + backend + bulk receiver, reused by every transfer. Call close() once. */
export class SteadyTcpBench {
  private readonly log: BulkReceiverLog;

  private constructor(
    readonly topo: Topology,
    readonly backend: ImpairmentBackend,
    readonly backendName: string,
    private receiver: ChildProcess,
    private unregister: () => void,
  ) {
    this.log = new BulkReceiverLog(receiver);
  }

  static async open(backendChoice: 'auto' | 'helper' | 'netem' = 'auto'): Promise<SteadyTcpBench> {
    const chosen = await resolveBackend(backendChoice);
    const topo = await createTopology({ tcpCc: 'reno' });
    const unTopo = onCleanup(() => topo.destroy());
    try {
      // Fresh per-destination state for every transfer: no cached ssthresh/RTT from the
      // previous repetition (tcp_metrics), which would shape the next one's start.
      for (const ns of [topo.ns.client, topo.ns.server]) await sysctl(ns, 'net.ipv4.tcp_no_metrics_save', '1');
      const backend = await createBackend(chosen.name, topo);
      await backend.apply(parseProfile({ seed: 1 }));
      const receiver = startTs(BULK_TS, ['recv', '--host', topo.addr.client, '--port', String(PORT)], { ns: topo.ns.client, stdio: ['ignore', 'pipe', 'pipe'] });
      const bench = new SteadyTcpBench(topo, backend, chosen.name, receiver, unTopo);
      await waitForLine(receiver, /^READY/);
      return bench;
    } catch (err) {
      await topo.destroy();
      unTopo();
      throw err;
    }
  }

  /** One bulk transfer server -> client; measures the steady-state window. */
  async transfer(o: SteadyTcpOptions): Promise<SteadyTcpResult> {
    const { topo } = this;
    await this.backend.update(parseProfile({ delay_ms: o.delayMs, downlink: { loss_pct: o.lossPct }, seed: o.seed }));
    // the sender's congestion control is its namespace's default at socket creation
    await sysctl(topo.ns.server, 'net.ipv4.tcp_congestion_control', o.cc);
    if ((await readCc(topo.ns.server)) !== o.cc) throw new Error(`congestion control ${o.cc} did not stick in ${topo.ns.server}`);
    await this.log.until(() => this.log.accepts === this.log.receipts.length, 30_000, 'the previous transfer to end');
    const nAccepts = this.log.accepts;
    const nReceipts = this.log.receipts.length;
    const seconds = o.warmupS + o.measureS + 1;
    const [node, argv] = tsArgv(BULK_TS, ['send', '--host', topo.addr.client, '--port', String(PORT), '--seconds', String(seconds)]);
    const sender = run(node, argv, { ns: topo.ns.server, timeoutMs: seconds * 1000 + 60_000 });
    sender.catch(() => {});
    await this.log.until(() => this.log.accepts > nAccepts, 30_000, 'the connection');
    const t0 = performance.now();
    const port = await this.senderPort();
    // TcpExt counters are per namespace and cumulative: this transfer's own start
    const ext0 = lossIndications(await this.tcpExt());

    await sleep(t0 + o.warmupS * 1000 - performance.now());
    const a = await this.snapshot(port);
    const srtt: number[] = [a.sock.srttMs];
    const rto: number[] = [a.sock.rtoMs];
    let wmin = a.sock.sndWndBytes ?? Infinity;
    let cwndMax = a.sock.cwndPkts;
    const end = t0 + (o.warmupS + o.measureS) * 1000;
    for (let next = performance.now() + SAMPLE_EVERY_MS; next < end - SAMPLE_EVERY_MS / 2; next += SAMPLE_EVERY_MS) {
      await sleep(next - performance.now());
      const s = await this.ss(port);
      srtt.push(s.srttMs);
      rto.push(s.rtoMs);
      wmin = Math.min(wmin, s.sndWndBytes ?? Infinity);
      cwndMax = Math.max(cwndMax, s.cwndPkts);
    }
    await sleep(end - performance.now());
    const b = await this.snapshot(port);
    srtt.push(b.sock.srttMs);
    rto.push(b.sock.rtoMs);
    wmin = Math.min(wmin, b.sock.sndWndBytes ?? Infinity);
    cwndMax = Math.max(cwndMax, b.sock.cwndPkts);
    await sender;
    await this.log.until(() => this.log.receipts.length > nReceipts, 60_000, 'the receiver to finish');

    if (a.sock.cc !== o.cc) throw new Error(`the sender's socket uses ${a.sock.cc}, expected ${o.cc}`);
    const windowS = (b.tMs - a.tMs) / 1000;
    const down = (s: Snapshot) => s.stats.downlink;
    const packets = down(b).packets - down(a).packets;
    const drops = down(b).drops.loss - down(a).drops.loss;
    const la = lossIndications(a.tcpExt);
    const lb = lossIndications(b.tcpExt);
    const dataSegs = b.sock.dataSegsOut - a.sock.dataSegsOut;
    const recoveries = lb.recoveries - la.recoveries;
    const timeouts = lb.timeouts - la.timeouts;
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    return {
      cc: a.sock.cc,
      lossPctConfigured: o.lossPct,
      seed: o.seed,
      steady: a.sock.ssthreshPkts !== null && la.recoveries + la.timeouts > ext0.recoveries + ext0.timeouts,
      windowS,
      goodputBps: ((b.sock.bytesAcked - a.sock.bytesAcked) * 8) / windowS,
      sendBps: ((b.sock.bytesSent - a.sock.bytesSent) * 8) / windowS,
      dataSegs,
      downlinkPackets: packets,
      downlinkLossDrops: drops,
      pPkt: packets > 0 ? drops / packets : NaN,
      recoveries,
      timeouts,
      pEvt: dataSegs > 0 ? (recoveries + timeouts) / dataSegs : NaN,
      srttMs: mean(srtt),
      rtoMs: mean(rto),
      samples: srtt.length,
      mssBytes: a.sock.mssBytes,
      wmaxPkts: wmin / a.sock.mssBytes,
      cwndMaxPkts: cwndMax,
    };
  }

  /** The local port of the one established connection to the receiver. */
  private async senderPort(): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const socks = await this.ssAll();
      if (socks.length === 1) return socks[0]!.local.split(':').pop()!;
      await sleep(100);
    }
    throw new Error(`steady TCP: expected exactly one established connection to port ${PORT} in ${this.topo.ns.server}`);
  }

  private async ssAll(): Promise<SsSocket[]> {
    const r = await run('ss', ['-tinH', 'state', 'established', 'dport', '=', `:${PORT}`], { ns: this.topo.ns.server });
    return parseSs(r.stdout);
  }

  private async ss(port: string): Promise<SsSocket> {
    const s = (await this.ssAll()).find((x) => x.local.endsWith(`:${port}`));
    if (!s) throw new Error(`steady TCP: the sender's connection (port ${port}) is gone`);
    return s;
  }

  private async snapshot(port: string): Promise<Snapshot> {
    const before = performance.now();
    const sock = await this.ss(port);
    const after = performance.now();
    const stats = await this.backend.stats();
    const tcpExt = await this.tcpExt();
    return { tMs: (before + after) / 2, sock, stats, tcpExt };
  }

  private async tcpExt(): Promise<Record<string, number>> {
    return parseTcpExt((await run('cat', ['/proc/net/netstat'], { ns: this.topo.ns.server })).stdout);
  }

  async close(): Promise<void> {
    this.receiver.kill('SIGTERM');
    await this.backend.teardown().catch(() => {});
    await this.topo.destroy();
    this.unregister();
  }
}
