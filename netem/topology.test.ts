// The bare topology (no impairment) on real namespaces: addressing, routing, and static
// neighbours. The latter matter for outages: with dynamic ARP a blackhole longer than the
// kernel's probe budget (~8 s) fails neighbour resolution, and IP packets then die in the
// neighbour queue where no backend counts them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../proc/exec.ts';
import { createTopology } from './topology.ts';

test('topology: client reaches server through the router; neighbours are static', { timeout: 60_000 }, async () => {
  const topo = await createTopology();
  try {
    const expect: [string, string, string][] = [
      [topo.ns.client, 'eth0', topo.addr.routerClient],
      [topo.ns.router, 'to-client', topo.addr.client],
      [topo.ns.router, 'to-server', topo.addr.server],
      [topo.ns.server, 'eth0', topo.addr.routerServer],
    ];
    for (const [ns, dev, peer] of expect) {
      const r = await run('ip', ['-n', ns, '-j', 'neigh', 'show', 'dev', dev]);
      const entry = (JSON.parse(r.stdout) as { dst: string; state: string[] }[]).find((e) => e.dst === peer);
      assert.ok(entry, `${ns} ${dev}: no neighbour entry for ${peer}`);
      assert.deepEqual(entry.state, ['PERMANENT'], `${ns} ${dev} -> ${peer}`);
    }
    const ping = await run('ping', ['-c', '2', '-i', '0.2', '-W', '2', topo.addr.server], { ns: topo.ns.client, allowFail: true });
    assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /ttl=63/, 'one routed hop');
  } finally {
    await topo.destroy();
  }
});
