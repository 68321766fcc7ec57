// Shared pieces of the helper-backend tests on real namespaces (root): a fresh topology
// with the helper and a UDP echo in the server namespace, and the two UDP probes run in
// the client namespace. Test support only; nothing in the harness imports this.
import type { ChildProcess } from 'node:child_process';
import { run, startTs, tsArgv, waitForLine } from '../../proc/exec.ts';
import type { ProbeResult } from '../probe.ts';
import type { LossProbeResult } from '../lossprobe.ts';
import { parseProfile } from '../profile.ts';
import { createTopology, type Topology } from '../topology.ts';
import { HelperBackend } from './helper.ts';

const NETEM = new URL('..', import.meta.url).pathname;
export const ECHO_PORT = 7000;

export interface Env {
  topo: Topology;
  backend: HelperBackend;
}

/** Fresh topology + helper backend + UDP echo in the server namespace; always torn down. */
export async function withHelper(profile: unknown, fn: (env: Env) => Promise<void>): Promise<void> {
  const topo = await createTopology();
  const backend = new HelperBackend(topo);
  let echo: ChildProcess | null = null;
  try {
    await backend.apply(parseProfile(profile));
    echo = startTs(`${NETEM}probe.ts`, ['echo', '--host', topo.addr.server, '--port', String(ECHO_PORT)], { ns: topo.ns.server, stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(echo, /^READY/);
    await fn({ topo, backend });
  } finally {
    echo?.kill('SIGTERM');
    await backend.teardown();
    await topo.destroy();
  }
}

/** probe.ts (RTT per datagram) from the client namespace. */
export async function probe(topo: Topology, count: number, intervalMs: number): Promise<ProbeResult> {
  const [node, argv] = tsArgv(`${NETEM}probe.ts`, ['probe', '--host', topo.addr.server, '--port', String(ECHO_PORT), '--count', String(count), '--interval-ms', String(intervalMs), '--wait-ms', '1000']);
  const r = await run(node, argv, { ns: topo.ns.client, timeoutMs: Math.ceil(count * intervalMs) + 30_000 });
  return JSON.parse(r.stdout) as ProbeResult;
}

/** lossprobe.ts (which sequence numbers came back) from the client namespace. */
export async function lossProbe(topo: Topology, count: number, intervalMs: number): Promise<LossProbeResult> {
  const [node, argv] = tsArgv(`${NETEM}lossprobe.ts`, ['--host', topo.addr.server, '--port', String(ECHO_PORT), '--count', String(count), '--interval-ms', String(intervalMs), '--wait-ms', '1000']);
  const r = await run(node, argv, { ns: topo.ns.client, timeoutMs: Math.ceil(count * intervalMs) + 30_000 });
  return JSON.parse(r.stdout) as LossProbeResult;
}

/** UDP datagrams the kernel dropped at full receive buffers in a namespace (the probe's own loss). */
export async function udpRcvbufErrors(ns: string): Promise<number> {
  const snmp = (await run('cat', ['/proc/net/snmp'], { ns })).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const [head, vals] = [snmp[0]!.split(/\s+/), snmp[1]!.split(/\s+/)];
  return Number(vals[head.indexOf('RcvbufErrors')]);
}

/** Socket-buffer drops in the client and server namespaces together. */
export async function sockDrops(topo: Topology): Promise<number> {
  return (await udpRcvbufErrors(topo.ns.client)) + (await udpRcvbufErrors(topo.ns.server));
}

/** Packets the kernel dropped at the helper's NFQUEUE (queue full, or the helper too slow to
 *  read: /proc/net/netfilter/nfnetlink_queue, queue_dropped + user_dropped) in the router
 *  namespace: the probe's loss on a busy machine, not the emulation's. */
export async function nfqueueDrops(topo: Topology): Promise<number> {
  const lines = (await run('cat', ['/proc/net/netfilter/nfnetlink_queue'], { ns: topo.ns.router, allowFail: true })).stdout.trim().split('\n');
  return lines.filter(Boolean).reduce((a, l) => { const f = l.trim().split(/\s+/).map(Number); return a + (f[5] ?? 0) + (f[6] ?? 0); }, 0);
}

/** Packets lost outside the helper's model: socket buffers and the NFQUEUE itself. */
export async function probeDrops(topo: Topology): Promise<number> {
  return (await sockDrops(topo)) + (await nfqueueDrops(topo));
}

/** Warm the path (ARP both sides) so later counts are not polluted by the first packets. */
export async function warm(topo: Topology): Promise<void> {
  await probe(topo, 5, 20);
}
