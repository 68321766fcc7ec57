// Datagram size from the path MTU (path.ts) and the socket-backed receive window (quic.ts),
// checked against values worked out by hand from the documented rules, not recomputed with
// path.ts's own expression: payload = MTU - 20 (IPv4) or 40 (IPv6) - 8 (UDP), at least 1200
// (RFC 9000), at most 16383 (quiche 0.18's cap); loopback for local peers; 1350 when unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { createSocket } from 'node:dgram';
import { run, tsArgv } from '../proc/exec.ts';
import { recvWindowFor } from './quic.ts';

const PROBE = new URL('./testdata/path-probe.ts', import.meta.url).pathname;
const NS = `holbench-test-h3path-${process.pid}`;
const isRoot = process.getuid?.() === 0;

/** pathMaxUdpPayload for each query, evaluated inside namespace NS. */
async function inNs(queries: [string, string | null][]): Promise<number[]> {
  const [node, argv] = tsArgv(PROBE, [JSON.stringify(queries)]);
  const out = await run(node, argv, { ns: NS, timeoutMs: 30_000 });
  const res = JSON.parse(out.stdout.trim()) as number[];
  assert.equal(res.length, queries.length);
  return res;
}

const ip = (args: string[]) => run('ip', ['-n', NS, ...args]);

test('path MTU -> UDP payload, in a namespace with known interfaces', { skip: !isRoot && 'needs root (builds a network namespace)', timeout: 120_000 }, async () => {
  await run('ip', ['netns', 'add', NS]);
  try {
    await ip(['link', 'set', 'lo', 'up']); // a new namespace's loopback: MTU 65536
    // Only loopback: a remote peer of an unspecified address has no interface to go by.
    assert.deepEqual(await inNs([['0.0.0.0', '192.0.2.1']]), [1350], 'no external interface: fallback 1350');

    // Three veth pairs, made inside the namespace (nothing touches the host): Ethernet 1500,
    // jumbo 9000, and 1280 (IPv6's minimum link MTU).
    const pairs: [string, number, string, string][] = [
      ['eth15', 1500, '198.18.0.2/24', '2001:db8:15::2/64'],
      ['jumbo', 9000, '198.18.1.2/24', '2001:db8:90::2/64'],
      ['min6', 1280, '198.18.2.2/24', '2001:db8:12::2/64'],
    ];
    for (const [name, mtu, v4, v6] of pairs) {
      await ip(['link', 'add', name, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', `${name}p`, 'mtu', String(mtu)]);
      await ip(['addr', 'add', v4, 'dev', name]);
      await ip(['-6', 'addr', 'add', v6, 'dev', name, 'nodad']);
      await ip(['link', 'set', name, 'up']);
      await ip(['link', 'set', `${name}p`, 'up']);
    }
    const cases: [string, string | null, number, string][] = [
      ['127.0.0.1', '127.0.0.1', 16383, 'loopback 65536 - 28 = 65508 -> capped at 16383'],
      ['::', '::1', 16383, 'IPv6 loopback 65536 - 48 -> capped at 16383'],
      ['127.0.0.1', null, 16383, 'a server bound to loopback only has local peers'],
      ['0.0.0.0', '198.18.0.2', 16383, 'a peer at one of our own addresses is reached over loopback'],
      ['198.18.0.2', '198.18.0.1', 1472, 'MTU 1500 veth, IPv4: 1500 - 20 - 8'],
      ['2001:db8:15::2', '2001:db8:15::1', 1452, 'MTU 1500 veth, IPv6: 1500 - 40 - 8'],
      ['198.18.0.2', null, 1472, 'a server bound to the 1500 veth'],
      ['198.18.1.2', '198.18.1.1', 8972, 'MTU 9000 veth, IPv4: 9000 - 28'],
      ['2001:db8:90::2', '2001:db8:90::1', 8952, 'MTU 9000 veth, IPv6: 9000 - 48'],
      ['198.18.2.2', '198.18.2.1', 1252, 'MTU 1280, IPv4: 1280 - 28'],
      ['2001:db8:12::2', '2001:db8:12::1', 1232, 'MTU 1280, IPv6: 1280 - 48 = 1232'],
      ['0.0.0.0', '192.0.2.1', 1252, 'unspecified local, remote peer: smallest external MTU (1280) - 28'],
      ['::', '2001:db8:ff::1', 1232, 'unspecified local, remote IPv6 peer: 1280 - 48'],
      ['198.51.100.77', '198.51.100.78', 1350, 'a local address that is not ours: fallback 1350'],
    ];
    const got = await inNs(cases.map(([l, p]) => [l, p]));
    assert.equal(got.length, cases.length);
    cases.forEach(([l, p, want, why], i) => assert.equal(got[i], want, `${l} -> ${p}: ${why}`));

    // Below RFC 9000's 1200 the floor applies: a 1200-byte MTU (IPv4 1172) still sends 1200.
    await ip(['link', 'set', 'min6', 'mtu', '1200']);
    await ip(['link', 'set', 'min6p', 'mtu', '1200']);
    assert.deepEqual(await inNs([['198.18.2.2', '198.18.2.1']]), [1200], 'MTU 1200: 1172 raised to the 1200 minimum');
  } finally {
    await run('ip', ['netns', 'del', NS], { allowFail: true });
  }
});

/** A socket whose kernel receive buffer reads `bytes` (or throws, like an unbound socket). */
const withBuffer = (bytes: number | null) =>
  ({
    getRecvBufferSize: () => {
      if (bytes === null) throw new Error('not bound');
      return bytes;
    },
  }) as unknown as dgram.Socket;

test('receive window: half the socket receive buffer, within 1..32 MiB', () => {
  const MiB = 1024 * 1024;
  assert.equal(recvWindowFor(withBuffer(8 * MiB)), 4 * MiB, 'half of 8 MiB');
  assert.equal(recvWindowFor(withBuffer(5_000_001)), 2_500_000, 'half, rounded down');
  assert.equal(recvWindowFor(withBuffer(212_992)), MiB, 'Linux default 208 KiB: the 1 MiB floor');
  assert.equal(recvWindowFor(withBuffer(128 * MiB)), 32 * MiB, 'the 32 MiB ceiling');
  assert.equal(recvWindowFor(withBuffer(null)), MiB, 'unknown buffer: the floor');
  // a real socket that is not bound yet has no buffer to read: the floor
  const s = createSocket('udp4');
  try {
    assert.equal(recvWindowFor(s), MiB);
  } finally {
    s.close();
  }
});
