// Shared by the namespace tests of the messaging servers (msg.test.ts,
// drivers/sse-h3.test.ts): the server process (servers/main.ts) in the server namespace, its
// stats over IPC, and a client fixture process (msg-client.ts) in the client namespace whose
// progress can be awaited message by message.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { run, startTs } from '../../../proc/exec.ts';
import type { Topology } from '../../../netem/topology.ts';
import type { Keepalive } from '../../../contract/messages.ts';
import type { ServerReady } from '../../../servers/main.ts';
import type { PluginName } from '../../../servers/registry.ts';
import type { ClientJob, ClientResult } from './msg-client.ts';

const SERVER_MAIN = new URL('../../../servers/main.ts', import.meta.url).pathname;
const CLIENT = new URL('./msg-client.ts', import.meta.url).pathname;

/** Start servers/main.ts with `plugin` in the server namespace; resolves once it listens. */
export async function startServer(topo: Topology, plugin: PluginName, o: { keepalive: Keepalive; tls?: { key: string; cert: string } }): Promise<{ server: ChildProcess; port: number }> {
  const server = startTs(SERVER_MAIN, [], {
    ns: topo.ns.server,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, HOLBENCH_SERVER_CONFIG: JSON.stringify({ host: topo.addr.server, plugins: [plugin], tls: o.tls ?? { key: '', cert: '' }, keepalive: o.keepalive }) },
  });
  try {
    let stderr = '';
    server.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const ready = await new Promise<ServerReady>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server not ready: ${stderr}`)), 30_000);
      server.once('message', (m) => (clearTimeout(t), resolve(m as ServerReady)));
      server.once('exit', (c) => (clearTimeout(t), reject(new Error(`server exited (${c}): ${stderr}`))));
    });
    const port = ready.ports[plugin]?.port;
    if (!port) throw new Error(`${plugin} plugin did not start: ${JSON.stringify(ready.unsupported)}`);
    return { server, port };
  } catch (e) {
    server.kill('SIGKILL');
    throw e;
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
export function stopServer(server: ChildProcess): Promise<void> {
  server.kill('SIGTERM');
  return new Promise<void>((r) => {
    const t = setTimeout(() => (server.kill('SIGKILL'), r()), 3000);
    if (server.exitCode !== null || server.signalCode !== null) return clearTimeout(t), r();
    server.once('exit', () => (clearTimeout(t), r()));
  });
}

/** after(): stop the server, lift the outage rule the tests may have left in the router's
 *  FORWARD chain, destroy the topology, and check no namespace of it is left. */
export async function teardown(topo: Topology, server: ChildProcess): Promise<void> {
  await stopServer(server);
  await run('iptables', ['-w', '5', '-D', 'FORWARD', '-j', 'DROP'], { ns: topo.ns.router, allowFail: true });
  await topo.destroy();
  const list = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!list.includes(topo.runId), `namespaces left behind: ${list}`);
}

/** One plugin's stats from the server process. */
export function serverStats<T>(server: ChildProcess, plugin: PluginName): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (server.off('message', on), reject(new Error('no stats reply'))), 10_000);
    const on = (m: any) => m.type === 'stats' && (clearTimeout(t), server.off('message', on), resolve(m.stats[plugin] as T));
    server.on('message', on);
    server.send({ type: 'stats' });
  });
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
