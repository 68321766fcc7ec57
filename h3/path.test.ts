// Datagram size from the path MTU (path.ts) and the socket-backed receive window (quic.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import dgram from 'node:dgram';
import { FALLBACK_UDP_PAYLOAD, MIN_UDP_PAYLOAD, pathMaxUdpPayload, QUICHE_MAX_PACKET } from './path.ts';
import { recvWindowFor } from './quic.ts';

const loName = Object.entries(os.networkInterfaces()).find(([, l]) => l?.some((i) => i.internal))?.[0];
const loMtu = loName ? Number(readFileSync(`/sys/class/net/${loName}/mtu`, 'utf8')) : null;

test('a peer on this host is reached over loopback: its MTU less IP+UDP headers, capped at 16383', { skip: loMtu === null && 'no loopback MTU in /sys' }, () => {
  const want = Math.max(MIN_UDP_PAYLOAD, Math.min(QUICHE_MAX_PACKET, loMtu! - 28));
  assert.equal(pathMaxUdpPayload('127.0.0.1', '127.0.0.1'), want);
  assert.equal(pathMaxUdpPayload('0.0.0.0', '127.0.0.1'), want);
  assert.equal(pathMaxUdpPayload('127.0.0.1', null), want, 'a server bound to loopback only has local peers');
  assert.equal(pathMaxUdpPayload('::', '::1'), Math.max(MIN_UDP_PAYLOAD, Math.min(QUICHE_MAX_PACKET, loMtu! - 48)));
  // One of our own non-loopback addresses is a local peer too.
  const own = Object.values(os.networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
  if (own) assert.equal(pathMaxUdpPayload('0.0.0.0', own.address), want);
});

test('a remote peer gets the MTU of the interface that owns the local address', () => {
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    const v4 = list?.find((i) => !i.internal && i.family === 'IPv4');
    if (!v4) continue;
    let mtu: number;
    try {
      mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8'));
    } catch {
      continue;
    }
    assert.equal(pathMaxUdpPayload(v4.address, '192.0.2.200' === v4.address ? '192.0.2.201' : '192.0.2.200'), Math.max(MIN_UDP_PAYLOAD, Math.min(QUICHE_MAX_PACKET, mtu - 28)), name);
  }
  // An address that is not ours tells nothing: the conservative fallback.
  assert.equal(pathMaxUdpPayload('198.51.100.77', '198.51.100.78'), FALLBACK_UDP_PAYLOAD);
});

test('receive window: half the socket receive buffer, within 1..32 MiB', async () => {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    s.setRecvBufferSize(1 << 20);
    const buf = s.getRecvBufferSize();
    assert.equal(recvWindowFor(s), Math.min(32 << 20, Math.max(1 << 20, Math.floor(buf / 2))));
  } finally {
    s.close();
  }
});
