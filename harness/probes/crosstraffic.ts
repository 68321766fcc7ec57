// Competing traffic around a job (scenario cross_traffic): each entry is one iperf3 test
// between the client and server namespaces, through the router and its impairment (the
// addresses are the namespaces' own, never the host's). The receiving side runs
// `iperf3 -s -1` (one test, then exit), the sending side `iperf3 -c ... -J` (TCP: -P flows,
// -C congestion control; UDP: -u -b rate), so the data flows in the entry's direction.
//
// Contract:
// - Timing is relative to the job's start: start() starts the servers, schedules each client
//   at its start_s and returns start_s seconds early for the earliest negative start_s (the
//   job is sent when start() returns). Each client runs for stop_s - start_s (iperf3 -t).
// - finish() waits for every client to end by itself (a job lasts at least until its flows'
//   stop_s), bounded: FINISH_GRACE_MS after the last stop_s a client is killed and its
//   flow counts as failed (cross_error). Servers are then stopped; every process is killed
//   on a run's SIGINT/SIGTERM through proc/lifecycle, and reaped here.
// - Columns: cross_goodput_mbps = sum over entries of the receiver's goodput (iperf3
//   end.sum_received, over each flow's own duration); cross_retransmits = the TCP senders'
//   retransmitted segments; cross_udp_lost_pct = UDP datagrams lost, %. These flows also
//   count in the job's retransmissions, wire_bytes_* and drops_* columns (same namespaces,
//   same router): read those with that in mind.
import type { ChildProcess } from 'node:child_process';
import { haveCommand, start, waitForLine } from '../../proc/exec.ts';
import { onCleanup } from '../../proc/lifecycle.ts';
import { describeCross, type CrossFlow } from '../scenario/crosstraffic.ts';
import type { JobProbe, ProbeContext } from './types.ts';

/** iperf3 ports, one per entry, in the receiving namespace (far from the servers' ports). */
export const IPERF_PORT_BASE = 15201;
/** How long after the last stop_s a client may take to exchange its results. */
const FINISH_GRACE_MS = 15_000;
const SERVER_READY_MS = 10_000;
/** looked up once per process */
let iperf3Found: boolean | undefined;

interface FlowRun {
  flow: CrossFlow;
  server: ChildProcess;
  client: ChildProcess | null;
  timer: NodeJS.Timeout | null;
  stdout: string;
  stderr: string;
  /** resolves when the client exited (or never started: resolved by finish) */
  done: Promise<void>;
  markDone: () => void;
}

/** The end-of-test numbers of one iperf3 client's -J output. */
export interface IperfResult {
  receivedBps: number;
  retransmits: number | null;
  lostPct: number | null;
}

/** Parse `iperf3 -c -J` output; throws with iperf3's own error when the test failed. */
export function parseIperf(json: string): IperfResult {
  const d = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number; lost_percent?: number }; sum_sent?: { retransmits?: number } } };
  if (d.error) throw new Error(d.error);
  const rcv = d.end?.sum_received;
  if (typeof rcv?.bits_per_second !== 'number') throw new Error('no end.sum_received in the iperf3 output');
  return { receivedBps: rcv.bits_per_second, retransmits: d.end?.sum_sent?.retransmits ?? null, lostPct: rcv.lost_percent ?? null };
}

/** Sender/receiver namespaces and the receiver's address for a direction. */
function ends(ctx: ProbeContext, f: CrossFlow) {
  const { ns, addr } = ctx.topo;
  return f.direction === 'downlink' ? { sender: ns.server, receiver: ns.client, to: addr.client } : { sender: ns.client, receiver: ns.server, to: addr.server };
}

export function clientArgs(f: CrossFlow, to: string, port: number): string[] {
  const a = ['-c', to, '-p', String(port), '-t', String(f.stopS - f.startS), '-J', '--connect-timeout', '5000'];
  if (f.kind === 'tcp') a.push('-P', String(f.flows), '-C', f.cc!);
  else a.push('-u', '-b', String(Math.round(f.rateBps!)));
  return a;
}

const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
const waitExit = (p: ChildProcess) => (exited(p) ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** cross_traffic, cross_goodput_mbps, cross_retransmits, cross_udp_lost_pct, cross_error */
export const crossTraffic: JobProbe = {
  name: 'cross traffic',
  applies: (ctx) => (ctx.cell.crossTraffic?.length ?? 0) > 0,
  async start(ctx) {
    const flows = ctx.cell.crossTraffic!;
    if (!(iperf3Found ??= await haveCommand('iperf3'))) throw new Error('cross_traffic needs iperf3, which is not installed: apt-get install iperf3 (holbench doctor)');
    const runs: FlowRun[] = [];
    const kill = () => {
      for (const r of runs) {
        if (r.timer) clearTimeout(r.timer);
        for (const p of [r.client, r.server]) if (p && !exited(p)) p.kill('SIGKILL');
      }
    };
    const unregister = onCleanup(async () => {
      kill();
      await Promise.all(runs.flatMap((r) => [r.server, r.client].filter((p): p is ChildProcess => p !== null).map(waitExit)));
    });
    try {
      for (const [i, f] of flows.entries()) {
        const { receiver, to } = ends(ctx, f);
        const server = start('iperf3', ['-s', '-1', '--forceflush', '-B', to, '-p', String(IPERF_PORT_BASE + i)], { ns: receiver, stdio: ['ignore', 'pipe', 'pipe'] });
        let markDone = () => {};
        const done = new Promise<void>((r) => (markDone = r));
        runs.push({ flow: f, server, client: null, timer: null, stdout: '', stderr: '', done, markDone });
        server.stderr?.resume();
        await waitForLine(server, /Server listening on/, SERVER_READY_MS);
        server.stdout?.resume();
      }
    } catch (e) {
      kill();
      unregister();
      throw new Error(`cross traffic: iperf3 server did not start: ${(e as Error).message}`);
    }
    const leadS = Math.max(0, -Math.min(...flows.map((f) => f.startS)));
    const startedAt = Date.now();
    runs.forEach((r, i) => {
      const { sender, to } = ends(ctx, r.flow);
      r.timer = setTimeout(() => {
        r.timer = null;
        const c = start('iperf3', clientArgs(r.flow, to, IPERF_PORT_BASE + i), { ns: sender, stdio: ['ignore', 'pipe', 'pipe'] });
        r.client = c;
        c.stdout?.on('data', (d) => (r.stdout += d));
        c.stderr?.on('data', (d) => (r.stderr = (r.stderr + d).slice(-4000)));
        // 'close', not 'exit': the JSON is complete only once stdout has closed
        c.once('close', () => r.markDone());
        c.once('error', (e) => ((r.stderr += String(e)), r.markDone()));
      }, (r.flow.startS + leadS) * 1000);
    });
    await sleep(leadS * 1000);
    return {
      async finish() {
        const lastStopMs = startedAt + (leadS + Math.max(...flows.map((f) => f.stopS))) * 1000;
        const deadline = lastStopMs + FINISH_GRACE_MS;
        const late = await Promise.race([Promise.all(runs.map((r) => r.done)).then(() => false), sleep(Math.max(0, deadline - Date.now())).then(() => true)]);
        // the clients still running at the deadline: killed, their flows reported as failed
        const killedLate = new Set(late ? runs.filter((r) => r.client && !exited(r.client)) : []);
        if (late) kill();
        for (const r of runs) if (!r.client) r.markDone();
        // the servers exit after their one test; a server whose client failed is stopped
        for (const r of runs) if (!exited(r.server)) r.server.kill('SIGTERM');
        await Promise.all(runs.flatMap((r) => [r.server, r.client].filter((p): p is ChildProcess => p !== null).map(waitExit)));
        unregister();
        let goodput = 0;
        let retrans: number | null = null;
        let lost: number | null = null;
        const errors: string[] = [];
        runs.forEach((r, i) => {
          try {
            if (!r.client) throw new Error('never started: its start_s came after the deadline');
            if (killedLate.has(r)) throw new Error(`killed: still running ${FINISH_GRACE_MS / 1000} s after its stop_s`);
            if (!r.stdout.trim()) throw new Error(`no output${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`);
            const res = parseIperf(r.stdout);
            goodput += res.receivedBps;
            if (r.flow.kind === 'tcp' && res.retransmits !== null) retrans = (retrans ?? 0) + res.retransmits;
            if (r.flow.kind === 'udp' && res.lostPct !== null) lost = Math.max(lost ?? 0, res.lostPct);
          } catch (e) {
            errors.push(`entry ${i} (${r.flow.kind}): ${(e as Error).message.split('\n')[0]}`);
          }
        });
        return {
          columns: {
            cross_traffic: describeCross(flows),
            cross_goodput_mbps: errors.length ? null : Math.round(goodput / 1e3) / 1e3,
            cross_retransmits: retrans,
            cross_udp_lost_pct: lost === null ? null : Math.round(lost * 1000) / 1000,
            cross_error: errors.join('; '),
          },
        };
      },
    };
  },
};
