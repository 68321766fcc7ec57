// A NAT middlebox in the router namespace: the client's flows leave towards the server with
// a translated source (the server never sees 198.18.0.2), mappings expire after an idle
// time, and the mapping can be moved mid-job (NAT rebinding, as in the QUIC interop
// runner's rebind-port / rebind-addr cases).
//
// Mechanism (all inside the router namespace, so deleting it removes everything; nothing
// here ever runs in the root namespace):
//   - mapping = a conntrack entry; SNAT in nat/POSTROUTING translates the client's source to
//     198.19.0.1 (the router's server-side address);
//   - idle timeout = the namespace's conntrack timeouts: nf_conntrack_tcp_timeout_established
//     (TCP) and nf_conntrack_udp_timeout + _udp_timeout_stream (UDP; "stream" is a flow that
//     has seen both directions, e.g. QUIC). Linux refreshes an entry on a packet in EITHER
//     direction; many real NATs refresh on outbound packets only, so a server-only push
//     keeps a Linux mapping alive where such a NAT would let it expire;
//   - an expired mapping (on_expiry):
//       drop:  a TCP segment of a flow without a mapping (not a SYN) is dropped in both
//              directions; a later outbound UDP datagram creates a fresh mapping (port
//              preserved when free, Linux's default), inbound ones are dropped;
//       reset: the same, but TCP is answered with a RST (to the client for outbound segments,
//              to the server for inbound ones);
//       remap: any outbound packet without a mapping gets a fresh mapping on a random port
//              (SNAT --random): a TCP server sees an unknown 4-tuple and answers RST, a QUIC
//              server sees a new path;
//     inbound packets without a mapping never reach the client;
//   - rebind = move the SNAT to a new port range (port), a new address (address) or both,
//     then delete the client's conntrack entries: the next packet of every flow is mapped
//     anew and what happens to it follows on_expiry (TCP: dropped, reset or remapped; UDP
//     is always remapped, which is the QUIC rebinding case).
// conntrack's TCP window checking is relaxed (tcp_be_liberal=1) so the NAT adds no drops of
// its own under impairment loss or reordering: only the timeout and rebinding act.
//
// What real NATs do (for choosing timeouts): RFC 4787 REQ-5 asks for a UDP mapping timer of at
// least 2 min (5 min recommended); RFC 5382 REQ-5 for at least 2 h 4 min on established TCP;
// carrier-grade and home NATs often use 30-60 s for UDP and minutes for TCP.
import { z } from 'zod';
import { haveCommand, run } from '../proc/exec.ts';
import type { Topology } from './topology.ts';

export const NAT_ON_EXPIRY = ['drop', 'reset', 'remap'] as const;
export const NAT_REBIND = ['port', 'address', 'both'] as const;
/** Rebinds one job may have (each is a rule swap + conntrack flush). */
export const MAX_REBINDS = 20;

export const NatSchema = z
  .object({
    idle_timeout_tcp_s: z.number().int().min(1).max(432_000).default(7440).describe('established TCP mapping idle timeout, s (default 7440 = RFC 5382\'s minimum of 2 h 4 min)'),
    idle_timeout_udp_s: z.number().int().min(1).max(86_400).default(120).describe('UDP mapping idle timeout, s (default 120 = RFC 4787\'s minimum; carrier NATs often use 30)'),
    on_expiry: z.enum(NAT_ON_EXPIRY).default('drop').describe('a packet of a flow whose mapping expired: drop (TCP dropped; UDP mapped afresh, port kept), reset (TCP answered with RST), remap (mapped afresh on a random port)'),
    rebind_at_s: z.array(z.number().positive().max(3600)).max(MAX_REBINDS).default([]).describe('seconds after each job starts at which the NAT moves the client to a new mapping (NAT rebinding)'),
    rebind: z.enum(NAT_REBIND).default('port').describe('what a rebind changes: the translated port, address, or both'),
  })
  .strict();

export type NatInput = z.input<typeof NatSchema>;
export type NatConfig = z.output<typeof NatSchema>;

/** The client's subnet (netem/topology.ts). */
const CLIENT_NET = '198.18.0.0/24';
/** Extra translated addresses for address rebinds: 198.19.0.(10 + k), on the router's server side. */
const ALIAS_BASE = 10;
/** Port ranges for port rebinds: k-th range, disjoint from Linux's ephemeral ports (32768-60999). */
const PORT_BASE = 10_000;
const PORT_SPAN = 1000;
/** Our nat chain (in the router namespace only). */
const NAT_CHAIN = 'HOLBENCH_NAT';

export interface RebindResult {
  /** wall clock (Date.now()) when the new mapping was in force */
  atMs: number;
  /** the new translated source: "addr" or "addr:lo-hi" */
  toSource: string;
  /** conntrack entries of the client that were deleted */
  flushed: number;
}

export interface Nat {
  readonly config: NatConfig;
  /** the SNAT target now in force */
  readonly toSource: string;
  /** Move the client to the next mapping (see the header). */
  rebind(): Promise<RebindResult>;
  /** Back to the first mapping, with no client flows left (between jobs). */
  reset(): Promise<void>;
  /** The client's current mappings as conntrack lists them (one line per flow). */
  mappings(): Promise<string[]>;
  /** Remove the rules (the namespace's deletion would too). Idempotent. */
  teardown(): Promise<void>;
}

/** One line for run.json and chart titles. */
export function describeNat(c: NatConfig): string {
  const r = c.rebind_at_s.length ? `, rebind (${c.rebind}) at ${c.rebind_at_s.join(', ')} s` : '';
  return `NAT: idle TCP ${c.idle_timeout_tcp_s} s, UDP ${c.idle_timeout_udp_s} s, on expiry ${c.on_expiry}${r}`;
}

/** The SNAT target of the k-th mapping (k = 0: the router's own address, ports preserved). */
export function toSourceOf(topo: Pick<Topology, 'addr'>, kind: NatConfig['rebind'], k: number): string {
  if (k === 0) return topo.addr.routerServer;
  const addr = kind === 'port' ? topo.addr.routerServer : aliasAddr(topo, k);
  if (kind === 'address') return addr;
  const lo = PORT_BASE + ((k - 1) % 50) * PORT_SPAN;
  return `${addr}:${lo}-${lo + PORT_SPAN - 1}`;
}

function aliasAddr(topo: Pick<Topology, 'addr'>, k: number): string {
  const base = topo.addr.routerServer.split('.').slice(0, 3).join('.');
  return `${base}.${ALIAS_BASE + ((k - 1) % 100)}`;
}

/** Install the NAT in the router namespace. Call before the impairment backend or after: the
 *  filter rules are inserted at the top of FORWARD, ahead of any NFQUEUE rule. */
export async function installNat(topo: Topology, config: NatConfig): Promise<Nat> {
  const ns = topo.ns.router;
  const ipt = (args: string[], allowFail = false) => run('iptables', ['-w', '5', ...args], { ns, allowFail });
  const sysctls: Record<string, string> = {
    'net.netfilter.nf_conntrack_tcp_timeout_established': String(config.idle_timeout_tcp_s),
    'net.netfilter.nf_conntrack_udp_timeout': String(config.idle_timeout_udp_s),
    'net.netfilter.nf_conntrack_udp_timeout_stream': String(config.idle_timeout_udp_s),
    'net.netfilter.nf_conntrack_tcp_loose': '1',
    'net.netfilter.nf_conntrack_tcp_be_liberal': '1',
  };
  // The SNAT rules live in a chain of ours: a port range needs one rule per port protocol.
  const snatRules = (toSource: string): string[][] => {
    const rnd = config.on_expiry === 'remap' ? ['--random'] : [];
    const addr = toSource.split(':')[0]!;
    return [
      ...['tcp', 'udp'].map((p) => ['-p', p, '-j', 'SNAT', '--to-source', toSource, ...rnd]),
      ['-j', 'SNAT', '--to-source', addr, ...rnd],
    ];
  };
  const jump = ['POSTROUTING', '-s', CLIENT_NET, '-o', topo.egress.uplink, '-j', NAT_CHAIN];
  const verdict = config.on_expiry === 'reset' ? ['REJECT', '--reject-with', 'tcp-reset'] : ['DROP'];
  // filter rules, in their final order
  const forward: string[][] = [
    // a packet conntrack calls INVALID has no mapping and would leave untranslated: never leak
    // the client's own address to the server side
    ['-i', topo.egress.downlink, '-o', topo.egress.uplink, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP'],
    // unmapped inbound traffic never reaches the client (a NAT is not a router for the outside)
    ['-i', topo.egress.uplink, '-o', topo.egress.downlink, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP'],
  ];
  if (config.on_expiry !== 'remap') {
    // a mid-flow TCP segment without a mapping: the mapping expired (or was rebound)
    forward.splice(1, 0, ['-i', topo.egress.downlink, '-o', topo.egress.uplink, '-p', 'tcp', '!', '--syn', '-m', 'conntrack', '--ctstate', 'NEW', '-j', ...verdict]);
  }
  // packets to the NAT's own addresses that no mapping claimed (replies after expiry)
  const input: string[][] = [
    ...(config.on_expiry === 'reset' ? [['-i', topo.egress.uplink, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']] : []),
    ['-i', topo.egress.uplink, '-j', 'DROP'],
  ];
  const installed: string[][] = [];
  let k = 0;
  let toSource = toSourceOf(topo, config.rebind, 0);
  const aliases = new Set<string>();

  const ensureAlias = async (addr: string) => {
    if (addr === topo.addr.routerServer || aliases.has(addr)) return;
    await run('ip', ['-n', ns, 'addr', 'add', `${addr}/32`, 'dev', topo.egress.uplink]);
    // the server resolves the alias statically too (no ARP across the impaired link)
    const mac = JSON.parse((await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', topo.egress.uplink])).stdout)[0].address as string;
    await run('ip', ['-n', topo.ns.server, 'neigh', 'replace', addr, 'lladdr', mac, 'dev', topo.hostIf, 'nud', 'permanent']);
    aliases.add(addr);
  };
  const flush = async (): Promise<number> => {
    const r = await run('conntrack', ['-D', '-s', topo.addr.client], { ns, allowFail: true });
    const m = /(\d+) flow entries have been deleted/.exec(r.stderr + r.stdout);
    return m ? Number(m[1]) : 0;
  };
  /** Point the chain at mapping `next`. `flows` (the client's flows mapped now) each get a rule
   *  of their own with ONE new port (address rebinds: the same port): the first packets after
   *  a rebind can sit in the impairment's queue before conntrack confirms their new entry, so
   *  every packet of the flow in that window would otherwise draw its own random port from the
   *  range (a storm of one-packet mappings no real NAT makes). With one candidate port the
   *  kernel merges those entries (UDP) or drops the later duplicates (TCP). */
  const moveTo = async (next: number, flows: Flow[] = []) => {
    const target = toSourceOf(topo, config.rebind, next);
    const [addr, range] = target.split(':') as [string, string | undefined];
    await ensureAlias(addr);
    const lo = range ? Number(range.split('-')[0]) : 0;
    const perFlow = flows.slice(0, PORT_SPAN).map((f, i) => [
      '-p', f.proto, '-s', f.src, '--sport', String(f.sport), '-d', f.dst, '--dport', String(f.dport),
      '-j', 'SNAT', '--to-source', `${addr}:${range ? lo + i : f.sport}`,
    ]);
    // one iptables-restore transaction replaces the chain's rules atomically: no packet ever
    // meets an empty chain (it would get a conntrack entry without NAT for good), and one
    // command keeps the rebind quick
    const rules = [...perFlow, ...snatRules(target)];
    const text = ['*nat', `-F ${NAT_CHAIN}`, ...rules.map((r) => `-A ${NAT_CHAIN} ${r.join(' ')}`), 'COMMIT', ''].join('\n');
    await run('iptables-restore', ['-w', '5', '--noflush'], { ns, input: text });
    toSource = target;
    k = next;
  };
  const flows = async (): Promise<Flow[]> => parseFlows((await run('conntrack', ['-L', '-s', topo.addr.client], { ns, allowFail: true })).stdout);

  for (const [key, v] of Object.entries(sysctls)) await run('sysctl', ['-q', '-w', `${key}=${v}`], { ns });
  try {
    await ipt(['-t', 'nat', '-N', NAT_CHAIN]);
    for (const r of snatRules(toSource)) await ipt(['-t', 'nat', '-A', NAT_CHAIN, ...r]);
    await ipt(['-t', 'nat', '-A', ...jump]);
    for (const r of [...forward].reverse()) {
      await ipt(['-I', 'FORWARD', '1', ...r]);
      installed.push(['FORWARD', ...r]);
    }
    for (const r of input) {
      await ipt(['-A', 'INPUT', ...r]);
      installed.push(['INPUT', ...r]);
    }
  } catch (e) {
    throw new Error(`NAT: could not install the rules in ${ns}: ${(e as Error).message}`);
  }
  let down = false;
  return {
    config,
    get toSource() {
      return toSource;
    },
    async rebind() {
      await moveTo(k + 1, await flows());
      const flushed = await flush();
      return { atMs: Date.now(), toSource, flushed };
    },
    async reset() {
      if (k !== 0) await moveTo(0);
      await flush();
    },
    async mappings() {
      const r = await run('conntrack', ['-L', '-s', topo.addr.client], { ns, allowFail: true });
      return r.stdout.split('\n').filter((l) => l.trim());
    },
    async teardown() {
      if (down) return;
      down = true;
      await ipt(['-t', 'nat', '-D', ...jump], true);
      await ipt(['-t', 'nat', '-F', NAT_CHAIN], true);
      await ipt(['-t', 'nat', '-X', NAT_CHAIN], true);
      for (const r of installed) await ipt(['-D', ...r], true);
      for (const a of aliases) await run('ip', ['-n', ns, 'addr', 'del', `${a}/32`, 'dev', topo.egress.uplink], { allowFail: true });
    },
  };
}

/** One flow of the client as conntrack lists it (its original direction). */
export interface Flow {
  proto: 'tcp' | 'udp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** `conntrack -L` lines -> TCP/UDP flows (original direction: the first src/dst/sport/dport). */
export function parseFlows(text: string): Flow[] {
  const out: Flow[] = [];
  for (const line of text.split('\n')) {
    const proto = /^(tcp|udp)\s/.exec(line)?.[1] as Flow['proto'] | undefined;
    const get = (k: string) => new RegExp(`\\b${k}=(\\S+)`).exec(line)?.[1];
    const [src, dst, sport, dport] = [get('src'), get('dst'), get('sport'), get('dport')];
    if (proto && src && dst && sport && dport) out.push({ proto, src, dst, sport: Number(sport), dport: Number(dport) });
  }
  return out;
}

/** Can the NAT be installed here? (iptables with the nat table, conntrack CLI.) */
export async function natAvailable(): Promise<{ ok: boolean; reason: string }> {
  for (const cmd of ['iptables', 'conntrack']) {
    if (!(await haveCommand(cmd))) return { ok: false, reason: `${cmd} not found (apt-get install ${cmd})` };
  }
  return { ok: true, reason: 'iptables and conntrack present' };
}
