// Per-run topology: three namespaces joined by two veth pairs, router in the middle.
//
//   client ns                router ns                       server ns
//   eth0 198.18.0.2/24 <-> to-client 198.18.0.1 | to-server 198.19.0.1 <-> eth0 198.19.0.2/24
//
// Uplink (client -> server) leaves the router on `to-server`; downlink leaves on
// `to-client`. Nothing is created in the root namespace: veths are created directly
// inside the namespaces, so the host's own network configuration is never touched.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { run } from '../proc/exec.ts';
import { registerRun, unregisterRun } from '../proc/registry.ts';

/** From the congestion-control table (netem/cc.ts). */
export type { TcpCc as CongestionControl } from './cc.ts';
import type { TcpCc as CongestionControl } from './cc.ts';

export interface TopologyOptions {
  /** default: 8 random hex chars */
  runId?: string;
  /** TCP congestion control in the client and server namespaces (default cubic) */
  tcpCc?: CongestionControl;
  mtu?: number;
}

export interface Topology {
  runId: string;
  ns: { client: string; router: string; server: string };
  addr: { client: string; server: string; routerClient: string; routerServer: string };
  /** router egress interface per direction: uplink leaves towards the server */
  egress: { uplink: string; downlink: string };
  /** the endpoint-side interface in client and server namespaces */
  hostIf: string;
  tcpCc: CongestionControl;
  mtu: number;
  /** host-level changes that had to be made (recorded in provenance) */
  hostNotes: string[];
  destroy(): Promise<void>;
}

export const NS_PREFIX = 'holbench-';
export const ADDR = {
  client: '198.18.0.2',
  routerClient: '198.18.0.1',
  routerServer: '198.19.0.1',
  server: '198.19.0.2',
} as const;

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

export function nsNames(runId: string) {
  return { client: `${NS_PREFIX}${runId}-c`, router: `${NS_PREFIX}${runId}-r`, server: `${NS_PREFIX}${runId}-s` };
}

async function ipn(ns: string, ...args: string[]) {
  await run('ip', ['-n', ns, ...args]);
}

export async function sysctl(ns: string, key: string, value: string) {
  await run('sysctl', ['-q', '-w', `${key}=${value}`], { ns });
}

/** Turn off segmentation/receive offloads so every packet the impairment sees is one MTU frame. */
async function offloadsOff(ns: string, dev: string) {
  const r = await run('ethtool', ['-K', dev, 'gso', 'off', 'tso', 'off', 'gro', 'off'], { ns, allowFail: true });
  if (r.exitCode !== 0) {
    // ethtool missing: bound GSO size instead, which has the same effect on veth.
    await ipn(ns, 'link', 'set', 'dev', dev, 'gso_max_size', '1500', 'gso_max_segs', '1');
  }
}

const ALLOWED_CC = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';

/** A non-init namespace may only pick a default TCP congestion control that the kernel's
 *  global allowed list names (tcp_set_default_congestion_control returns EPERM otherwise).
 *  When the scenario asks for one that is available but not allowed, extend the list; this
 *  is additive, changes no namespace's default, and is recorded in run.json. */
export async function ensureCcAllowed(cc: CongestionControl): Promise<string | null> {
  const avail = (await readFile('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8')).trim().split(/\s+/);
  if (!avail.includes(cc)) {
    throw new Error(`tcp congestion control "${cc}" is not available in this kernel (available: ${avail.join(' ')})`);
  }
  const allowed = (await readFile(ALLOWED_CC, 'utf8')).trim().split(/\s+/).filter(Boolean);
  if (allowed.includes(cc)) return null;
  const next = [...allowed, cc].join(' ');
  await writeFile(ALLOWED_CC, next);
  return `net.ipv4.tcp_allowed_congestion_control extended to "${next}" so namespaces may select ${cc}`;
}

export async function readCc(ns: string): Promise<string> {
  return (await run('sysctl', ['-n', 'net.ipv4.tcp_congestion_control'], { ns })).stdout.trim();
}

export async function createTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const runId = opts.runId ?? newRunId();
  const ns = nsNames(runId);
  const tcpCc = opts.tcpCc ?? 'cubic';
  const mtu = opts.mtu ?? 1500;
  const ccNote = await ensureCcAllowed(tcpCc);
  await registerRun(runId, [ns.client, ns.router, ns.server]);
  const topo: Topology = {
    runId,
    ns,
    addr: { ...ADDR },
    egress: { uplink: 'to-server', downlink: 'to-client' },
    hostIf: 'eth0',
    tcpCc,
    mtu,
    hostNotes: ccNote ? [ccNote] : [],
    destroy: () => destroyNamespaces(runId),
  };
  try {
    for (const n of Object.values(ns)) {
      await run('ip', ['netns', 'add', n]);
      await ipn(n, 'link', 'set', 'lo', 'up');
      // IPv4 only: no IPv6 router solicitations or DAD packets to muddy counters.
      await sysctl(n, 'net.ipv6.conf.all.disable_ipv6', '1');
      await sysctl(n, 'net.ipv6.conf.default.disable_ipv6', '1');
    }
    await ipn(ns.client, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'to-client', 'netns', ns.router);
    await ipn(ns.server, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'to-server', 'netns', ns.router);
    const ends: [string, string, string][] = [
      [ns.client, 'eth0', `${ADDR.client}/24`],
      [ns.router, 'to-client', `${ADDR.routerClient}/24`],
      [ns.router, 'to-server', `${ADDR.routerServer}/24`],
      [ns.server, 'eth0', `${ADDR.server}/24`],
    ];
    for (const [n, dev, cidr] of ends) {
      await ipn(n, 'link', 'set', 'dev', dev, 'mtu', String(mtu));
      await offloadsOff(n, dev);
      await ipn(n, 'addr', 'add', cidr, 'dev', dev);
      await ipn(n, 'link', 'set', 'dev', dev, 'up');
    }
    // Static neighbours on both links: ARP would otherwise cross the impaired qdisc, and a
    // blackhole or heavy loss longer than the kernel's probe budget (~8 s) fails resolution;
    // IP packets then die in the neighbour queue, uncounted by the backend, and come back only
    // after a fresh ARP exchange. Real paths do not lose L2 reachability to a lossy WAN.
    const mac = async (n: string, dev: string) => {
      const r = await run('ip', ['-n', n, '-j', 'link', 'show', 'dev', dev]);
      const a = (JSON.parse(r.stdout) as { address?: string }[])[0]?.address;
      if (!a) throw new Error(`no MAC address on ${dev} in ${n}`);
      return a;
    };
    const pairs: [string, string, string, string, string][] = [
      // [ns, dev, peer address, peer ns, peer dev]
      [ns.client, 'eth0', ADDR.routerClient, ns.router, 'to-client'],
      [ns.router, 'to-client', ADDR.client, ns.client, 'eth0'],
      [ns.router, 'to-server', ADDR.server, ns.server, 'eth0'],
      [ns.server, 'eth0', ADDR.routerServer, ns.router, 'to-server'],
    ];
    for (const [n, dev, peer, pns, pdev] of pairs) {
      await ipn(n, 'neigh', 'replace', peer, 'lladdr', await mac(pns, pdev), 'dev', dev, 'nud', 'permanent');
    }
    await ipn(ns.client, 'route', 'add', 'default', 'via', ADDR.routerClient);
    await ipn(ns.server, 'route', 'add', 'default', 'via', ADDR.routerServer);
    await sysctl(ns.router, 'net.ipv4.ip_forward', '1');
    for (const n of [ns.client, ns.server, ns.router]) {
      await sysctl(n, 'net.ipv4.tcp_congestion_control', tcpCc);
      const got = await readCc(n);
      if (got !== tcpCc) throw new Error(`TCP congestion control ${tcpCc} did not stick in ${n} (reads ${got})`);
    }
    return topo;
  } catch (err) {
    await destroyNamespaces(runId);
    throw err;
  }
}

/** Kill every process still in the run's namespaces, then delete them. Idempotent. */
export async function destroyNamespaces(runId: string): Promise<void> {
  const ns = nsNames(runId);
  for (const n of [ns.client, ns.server, ns.router]) {
    const pids = await run('ip', ['netns', 'pids', n], { allowFail: true });
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      if (pid !== process.pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    await run('ip', ['netns', 'del', n], { allowFail: true });
  }
  await unregisterRun(runId);
}
