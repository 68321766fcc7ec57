// Shared by the namespace tests of the messaging servers (msg.test.ts,
// drivers/sse-h3.test.ts): the server process (servers/main.ts) in the server namespace, its
// stats over IPC, and a client fixture process (msg-client.ts) in the client namespace whose
// progress can be awaited message by message.
import assert from 'node:assert/strict';
import { run, startTs } from '../../../proc/exec.ts';
import { createTopology, type Topology } from '../../../netem/topology.ts';
import { makeCert } from '../../../servers/cert.ts';
import type { Keepalive } from '../../../contract/messages.ts';
import { SERVER_MAIN, type ServerControl } from '../../../servers/main.ts';
import { startChild, type ChildChannel } from '../../../proc/channel.ts';

export type ServerChannel = ChildChannel<ServerControl>;
import type { PluginName } from '../../../servers/registry.ts';
import type { ClientJob, ClientResult } from './msg-client.ts';

const CLIENT = new URL('./msg-client.ts', import.meta.url).pathname;

/** Start servers/main.ts with `plugin` in the server namespace, the way the runner does;
 *  resolves once it listens. */
export async function startServer(topo: Topology, plugin: PluginName, o: { keepalive: Keepalive; tls?: { key: string; cert: string } }): Promise<{ server: ServerChannel; port: number }> {
  const server = await startChild<ServerControl>(SERVER_MAIN, {
    ns: topo.ns.server,
    env: { HOLBENCH_SERVER_CONFIG: JSON.stringify({ host: topo.addr.server, plugins: [plugin], tls: o.tls ?? { key: '', cert: '' }, keepalive: o.keepalive }) },
  });
  const port = server.ready.ports[plugin]?.port;
  if (!port) {
    server.kill();
    throw new Error(`${plugin} plugin did not start: ${JSON.stringify(server.ready.unsupported)}`);
  }
  return { server, port };
}

/** before(): a fresh topology with the server process in it (TLS from a per-run
 *  certificate when `tls`); the topology is destroyed again if the server fails to start. */
export async function serverInTopology(plugin: PluginName, o: { keepalive: Keepalive; tls?: boolean }): Promise<{ topo: Topology; server: ServerChannel; port: number; cert: string }> {
  const topo = await createTopology();
  try {
    const tls = o.tls ? await makeCert(topo.addr.server) : undefined;
    return { topo, ...(await startServer(topo, plugin, { keepalive: o.keepalive, tls })), cert: tls?.cert ?? '' };
  } catch (e) {
    await topo.destroy();
    throw e;
  }
}

/** after(): stop the server, lift the outage rule the tests may have left in the router's
 *  FORWARD chain, destroy the topology, and check no namespace of it is left. */
export async function teardown(topo: Topology, server: ServerChannel): Promise<void> {
  await server.stop();
  await run('iptables', ['-w', '5', '-D', 'FORWARD', '-j', 'DROP'], { ns: topo.ns.router, allowFail: true });
  await topo.destroy();
  const list = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!list.includes(topo.runId), `namespaces left behind: ${list}`);
}

/** One plugin's stats from the server process. */
export async function serverStats<T>(server: ServerChannel, plugin: PluginName): Promise<T> {
  return (await server.request({ type: 'stats' }, 10_000))[plugin] as T;
}

/** Run one client job (msg-client.ts) in namespace `ns`. `msgs(n)` resolves once n distinct
 *  seqs arrived (rejects if the client finishes first); `result` asserts no client error. */
export function messageClient(ns: string, job: ClientJob) {
  const child = startTs(CLIENT, [JSON.stringify(job)], { ns, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  let stderr = '';
  let distinct = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let resolveResult!: (r: ClientResult) => void;
  let rejectResult!: (e: Error) => void;
  const result = new Promise<ClientResult>((res, rej) => ((resolveResult = res), (rejectResult = rej)));
  const killer = setTimeout(() => child.kill('SIGKILL'), job.maxMs + 20_000);
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('MSG ')) {
        distinct = Number(line.slice(4));
        for (const w of waiters.filter((w) => distinct >= w.n)) waiters.splice(waiters.indexOf(w), 1), w.resolve();
      } else if (line.startsWith('RESULT ')) resolveResult(JSON.parse(line.slice(7)) as ClientResult);
    }
  });
  child.once('exit', (code) => {
    clearTimeout(killer);
    rejectResult(new Error(`client exited (${code}) without a result: ${stderr}`));
  });
  const msgs = (n: number) =>
    Promise.race([
      new Promise<void>((resolve) => (distinct >= n ? resolve() : waiters.push({ n, resolve }))),
      result.then(() => {
        throw new Error(`client finished with ${distinct} of the ${n} messages awaited`);
      }),
    ]);
  return {
    msgs,
    result: result.then((r) => {
      assert.equal(r.error, undefined, `client error: ${r.error}`);
      return r;
    }),
  };
}
