// How large a UDP datagram may be on the path to a peer, from the local interface's MTU.
// TCP on loopback sends 64 KiB segments; QUIC can use large datagrams too when the path
// allows, which cuts the per-datagram cost (one sendmsg, one quiche packet, one AEAD call).
//
// quiche 0.18 has no PMTU discovery: it sends min(our max_send_udp_payload_size, the peer's
// max_udp_payload_size transport parameter) once the handshake is done, and 1200 bytes before
// (Connection::max_send_udp_payload_size), capped at 16383 so a packet length always fits a
// 2-byte varint. So the value must be right for the path up front; we take it from the MTU
// of the interface the traffic leaves by: loopback (MTU 65536) for a peer on this host,
// otherwise the interface that owns the local address (a veth with MTU 1500 -> 1472 payload
// in the emulated namespaces). A smaller MTU further along the path (a router, a tunnel) is
// not visible from here; such paths need an explicit maxUdpPayload.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';

/** quiche 0.18 never sends a larger packet (see above); asking for more only inflates its
 *  congestion controller's idea of a datagram (initial window = 10 x this value). */
export const QUICHE_MAX_PACKET = 16383;
/** RFC 9000 minimum; also what quiche uses during the handshake. */
export const MIN_UDP_PAYLOAD = 1200;
/** When no MTU can be found: fits any path with a 1500-byte MTU, tunnels included. */
export const FALLBACK_UDP_PAYLOAD = 1350;

/** MTU of a network interface in this network namespace (/sys/class/net), or null. */
function deviceMtu(ifname: string): number | null {
  try {
    const n = Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8').trim());
    return Number.isInteger(n) && n >= 576 ? n : null;
  } catch {
    return null;
  }
}

function isUnspecified(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::' || addr === '';
}

function normalise(addr: string): string {
  const a = addr.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  return a.toLowerCase().startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

interface Interfaces {
  /** address -> interface name */
  byAddress: Map<string, string>;
  loopback: string | null;
  external: string[];
}

function scanInterfaces(): Interfaces {
  const byAddress = new Map<string, string>();
  let loopback: string | null = null;
  const external: string[] = [];
  let all: ReturnType<typeof os.networkInterfaces> = {};
  try {
    all = os.networkInterfaces();
  } catch {
    /* some sandboxes refuse; nothing known */
  }
  for (const [name, list] of Object.entries(all)) {
    for (const i of list ?? []) {
      if (i.internal) loopback ??= name;
      else if (!external.includes(name)) external.push(name);
      byAddress.set(normalise(i.address), name);
    }
  }
  return { byAddress, loopback, external };
}

function isLoopbackAddress(a: string): boolean {
  return a === '::1' || (net.isIPv4(a) && a.startsWith('127.'));
}

/**
 * Largest UDP payload to send from `local` to `peer` (peer null: any peer of a server bound
 * to `local`): the MTU of the interface the datagrams leave by, minus the IP and UDP
 * headers, within [1200, 16383]. A peer on this host (loopback, or one of our own
 * addresses) is reached over loopback. An unspecified local address and a peer elsewhere
 * take the smallest MTU of the non-loopback interfaces. Unknown -> 1350. Not cached: an
 * interface's MTU may change, and this costs one getifaddrs and one small file read, once
 * per connection.
 */
export function pathMaxUdpPayload(local: string, peerAddr: string | null): number {
  const l = normalise(local);
  const p = peerAddr === null ? null : normalise(peerAddr);
  const v6 = p !== null ? net.isIPv6(p) : net.isIPv6(l);
  const headers = v6 ? 48 : 28;
  const ifs = scanInterfaces();
  let mtu: number | null = null;
  if (p !== null && (isLoopbackAddress(p) || ifs.byAddress.has(p))) {
    mtu = ifs.loopback ? deviceMtu(ifs.loopback) : null;
  } else if (isLoopbackAddress(l)) {
    mtu = ifs.loopback ? deviceMtu(ifs.loopback) : null; // bound to loopback: only local peers
  } else if (!isUnspecified(l)) {
    const owner = ifs.byAddress.get(l);
    mtu = owner ? deviceMtu(owner) : null;
  } else {
    const mtus = ifs.external.map(deviceMtu).filter((m): m is number => m !== null);
    mtu = mtus.length ? Math.min(...mtus) : null;
  }
  if (mtu === null) return FALLBACK_UDP_PAYLOAD;
  return Math.max(MIN_UDP_PAYLOAD, Math.min(QUICHE_MAX_PACKET, mtu - headers));
}
