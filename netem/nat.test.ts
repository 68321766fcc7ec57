// The NAT middlebox on real namespaces (root): what the server sees, idle expiry, rebinding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { run, startTs, tsArgv, waitForLine } from '../proc/exec.ts';
import { createTopology, type Topology } from './topology.ts';
import { installNat, NatSchema, toSourceOf, type Nat, type NatInput } from './nat.ts';

const PEER = new URL('./testdata/natpeer.ts', import.meta.url).pathname;
const PORT = 7100;

async function withNat(input: NatInput, fn: (topo: Topology, nat: Nat) => Promise<void>) {
  const topo = await createTopology();
  let srv: ChildProcess | null = null;
  let nat: Nat | null = null;
  try {
    nat = await installNat(topo, NatSchema.parse(input));
    srv = startTs(PEER, ['server', '--host', topo.addr.server, '--port', String(PORT)], { ns: topo.ns.server, stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(srv, /^READY/);
    await fn(topo, nat);
  } finally {
    srv?.kill('SIGKILL');
    await nat?.teardown();
    await topo.destroy();
  }
}

function client(topo: Topology, mode: string, args: string[], timeoutMs = 60_000) {
  const [node, argv] = tsArgv(PEER, [mode, '--host', topo.addr.server, '--port', String(PORT), ...args]);
  return run(node, argv, { ns: topo.ns.client, timeoutMs }).then((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
}

/** A client that is already exchanging packets ("GO" = first answer) when this resolves. */
async function going(topo: Topology, mode: string, args: string[]): Promise<{ result: Promise<any> }> {
  const c = startTs(PEER, [mode, '--host', topo.addr.server, '--port', String(PORT), ...args], { ns: topo.ns.client, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<any>((resolve, reject) => {
    const t = setTimeout(() => (c.kill('SIGKILL'), reject(new Error(`${mode} did not finish`))), 60_000);
    c.on('exit', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`${mode} exited ${code} without a result: ${out}`));
      }
    });
  });
  exited.catch(() => {});
  await waitForLine(c, /^GO/);
  return { result: exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the server sees the NAT address; a TCP mapping idle past its timeout no longer delivers server data, a shorter idle does', { timeout: 90_000 }, async () => {
  await withNat({ idle_timeout_tcp_s: 3, idle_timeout_udp_s: 2, on_expiry: 'drop' }, async (topo, nat) => {
    const who = await client(topo, 'tcp-who', ['--count', '2', '--interval-ms', '100']);
    assert.equal(who.answered, 2);
    assert.equal(who.sources.length, 1);
    assert.match(who.sources[0], new RegExp(`^${topo.addr.routerServer.replace(/\./g, '\\.')}:\\d+$`), 'server sees the translated address, not the client');
    const short = await client(topo, 'tcp-late', ['--idle-ms', '1000']);
    assert.deepEqual(short, { late: true, error: '' }, 'an idle period under the timeout keeps the mapping');
    const long = await client(topo, 'tcp-late', ['--idle-ms', '6000']);
    assert.equal(long.late, false, 'after 6 s idle with a 3 s timeout the server\'s data never arrives');
    // UDP: the mapping is listed while in use and gone after its idle timeout
    const udp = await client(topo, 'udp-who', ['--count', '3', '--interval-ms', '100']);
    assert.equal(udp.answered, 3);
    assert.ok((await nat.mappings()).some((l) => l.startsWith('udp')), 'a UDP mapping exists right after use');
    await sleep(4000);
    assert.ok(!(await nat.mappings()).some((l) => l.startsWith('udp')), 'the UDP mapping expired after 2 s idle');
  });
});

test('rebind (port, remap): UDP continues from a new translated port; the TCP connection is reset', { timeout: 90_000 }, async () => {
  await withNat({ on_expiry: 'remap', rebind: 'port', rebind_at_s: [1] }, async (topo, nat) => {
    const udpP = (await going(topo, 'udp-who', ['--count', '30', '--interval-ms', '100'])).result;
    const tcpP = (await going(topo, 'tcp-who', ['--count', '30', '--interval-ms', '100'])).result;
    await sleep(500);
    const r = await nat.rebind();
    assert.equal(r.toSource, toSourceOf(topo, 'port', 1));
    assert.ok(r.flushed >= 2, `both flows' mappings were deleted (${r.flushed})`);
    const [udp, tcp] = await Promise.all([udpP, tcpP]);
    assert.equal(udp.sources.length, 2, `UDP seen from two sources: ${udp.sources}`);
    const [, port2] = udp.sources[1].split(':');
    assert.ok(udp.sources[1].startsWith(`${topo.addr.routerServer}:`) && Number(port2) >= 10_000 && Number(port2) < 11_000, `new port from the rebind range: ${udp.sources[1]}`);
    assert.ok(udp.answered >= 25, `UDP kept being answered (${udp.answered} of 30)`);
    assert.equal(tcp.sources.length, 1, 'TCP never appears from the new mapping');
    assert.equal(tcp.error, 'ECONNRESET', 'the server resets the unknown 4-tuple');
    assert.ok(tcp.answered < 30);
  });
});

test('rebind (address, reset): UDP continues from a new address; TCP is reset by the NAT', { timeout: 90_000 }, async () => {
  await withNat({ on_expiry: 'reset', rebind: 'address', rebind_at_s: [1] }, async (topo, nat) => {
    const udpP = (await going(topo, 'udp-who', ['--count', '30', '--interval-ms', '100'])).result;
    const tcpP = (await going(topo, 'tcp-who', ['--count', '30', '--interval-ms', '100'])).result;
    await sleep(500);
    await nat.rebind();
    const [udp, tcp] = await Promise.all([udpP, tcpP]);
    assert.equal(udp.sources.length, 2, `UDP seen from two sources: ${udp.sources}`);
    assert.ok(udp.sources[1].startsWith(`${toSourceOf(topo, 'address', 1)}:`), `new address: ${udp.sources[1]}`);
    assert.equal(tcp.error, 'ECONNRESET');
    assert.equal(tcp.sources.length, 1);
    await nat.reset();
    assert.equal(nat.toSource, topo.addr.routerServer, 'reset() returns to the first mapping');
  });
});

test('bad NAT input names the field', () => {
  const bad: [NatInput, string][] = [
    [{ idle_timeout_tcp_s: -1 }, 'idle_timeout_tcp_s'],
    [{ idle_timeout_udp_s: 0 }, 'idle_timeout_udp_s'],
    [{ on_expiry: 'explode' as 'drop' }, 'on_expiry'],
    [{ rebind: 'mac' as 'port' }, 'rebind'],
    [{ rebind_at_s: [-2] }, 'rebind_at_s'],
  ];
  for (const [input, field] of bad) {
    const r = NatSchema.safeParse(input);
    assert.equal(r.success, false, field);
    assert.equal(r.error!.issues[0]!.path[0], field);
  }
  assert.equal(bad.length, 5);
});
