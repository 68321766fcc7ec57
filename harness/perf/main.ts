// `npm run perf`: is the harness ever the bottleneck? Ratios measured in one run, ours vs a
// reference tool on the same bundled server, through the same namespaces:
//   - HTTP/2 driver req/s vs h2load (nghttp2)          - HTTP/1.1 driver req/s vs autocannon
//     (both cleartext, on h1-clear: autocannon speaks no TLS)
//   - goodput / configured rate at 0% loss on a 20 Mbit/s path, per protocol (target >= 0.95
//     of what fits through the link; see `ceiling` below)
//   - HTTP/3 rows from harness/perf/h3.ts (loopback, vs Node http2 and vs Caddy)
// `--json` prints the rows as JSON; `--quick` shortens every measurement.
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { createTopology, type Topology } from '../../netem/topology.ts';
import { createBackend, resolveBackend } from '../../netem/backends/index.ts';
import { parseProfile } from '../../netem/profile.ts';
import { installSignalHandlers, onCleanup } from '../../proc/lifecycle.ts';
import { haveCommand, run, tsArgv } from '../../proc/exec.ts';
import { makeCert, SERVER_NAME } from '../../servers/cert.ts';
import { SERVER_MAIN, type ServerControl } from '../../servers/main.ts';
import { AGENT_MAIN, type AgentControl, type Job, type JobResult } from '../agent.ts';
import { startChild, type ChildChannel } from '../../proc/channel.ts';
import { protocolSpec, type ProtocolSpec } from '../scenario/load.ts';
import type { Workload } from '../scenario/schema.ts';

export interface PerfRow {
  name: string;
  ours: number;
  peer: number | null;
  ratio: number | null;
  unit: string;
  target: string;
  note: string;
}

const require = createRequire(import.meta.url);

let jobId = 0;
function job(agent: ChildChannel<AgentControl>, j: Omit<Job, 'type' | 'id' | 'cell' | 'rep' | 'requestTimeoutMs' | 'jobTimeoutMs' | 'quicCc'>): Promise<JobResult> {
  return agent.request({ type: 'job', id: ++jobId, cell: 'perf', rep: 1, requestTimeoutMs: 30_000, jobTimeoutMs: 120_000, quicCc: 'cubic', ...j }, 150_000);
}

/** A job's protocol; TLS as the table's default unless `tls` says otherwise. */
const spec = (protocol: ProtocolSpec['protocol'], connections = 1, tls?: boolean): ProtocolSpec => protocolSpec(tls === undefined ? { protocol, connections } : { protocol, connections, tls });
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, 'skip-h3': { type: 'boolean' } } });
  installSignalHandlers();
  const durS = values.quick ? 3 : 8;
  const log = (s: string) => process.stderr.write(`perf: ${s}\n`);
  const rows: PerfRow[] = [];
  const topo: Topology = await createTopology({ tcpCc: 'cubic' });
  onCleanup(() => topo.destroy());
  try {
    const tls = await makeCert(topo.addr.server);
    const server = await startChild<ServerControl>(SERVER_MAIN, {
      ns: topo.ns.server,
      stdout: 'inherit',
      env: { HOLBENCH_SERVER_CONFIG: JSON.stringify({ host: topo.addr.server, plugins: ['h1', 'h1-clear', 'h2', 'h3'], tls }) },
    });
    onCleanup(() => server.kill());
    const ready = server.ready;
    const agent = await startChild<AgentControl>(AGENT_MAIN, { ns: topo.ns.client });
    onCleanup(() => agent.kill());
    const target = (plugin: 'h1' | 'h1-clear' | 'h2' | 'h3') => ({ host: topo.addr.server, port: ready.ports[plugin]!.port, tls: plugin !== 'h1-clear', caPem: tls.cert, servername: SERVER_NAME });
    const closed = (conc: number): Workload => ({ kind: 'load', mode: 'closed', concurrency: conc, duration_s: durS, warmup_s: 1, body_bytes: 1024 });

    // 1. HTTP/2: our driver vs h2load, 1 connection, 10 streams in flight, 1 KB bodies
    log(`h2 req/s, ours vs h2load (${durS} s each)`);
    const ours2 = await job(agent, { protocol: spec('h2'), target: target('h2'), workload: closed(10) });
    let peer2: number | null = null;
    if (await haveCommand('h2load')) {
      const url = `https://${topo.addr.server}:${ready.ports.h2!.port}/bytes/1024`;
      const out = await run('h2load', ['-c', '1', '-m', '10', '-D', String(durS), '--warm-up-time', '1', url], { ns: topo.ns.client, timeoutMs: (durS + 30) * 1000 });
      peer2 = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out.stdout)?.[1] ?? NaN);
    }
    rows.push({ name: 'h2 driver req/s vs h2load (1 conn, 10 streams, 1 KB)', ours: r2(ours2.load!.rps), peer: peer2, ratio: peer2 ? r2(ours2.load!.rps / peer2) : null, unit: 'req/s', target: 'report', note: peer2 === null ? 'h2load missing (apt-get install nghttp2-client)' : '' });

    // 2. HTTP/1.1: our driver vs autocannon, 10 connections, 1 request in flight on each
    log(`http1.1 req/s, ours vs autocannon (${durS} s each)`);
    const ours1 = await job(agent, { protocol: spec('http1.1', 10, false), target: target('h1-clear'), workload: closed(10) });
    const acBin = require.resolve('autocannon/autocannon.js');
    const [node, args] = tsArgv(acBin, ['-j', '-c', '10', '-d', String(durS), `http://${topo.addr.server}:${ready.ports['h1-clear']!.port}/bytes/1024`]);
    const ac = JSON.parse((await run(node, args.slice(2), { ns: topo.ns.client, timeoutMs: (durS + 30) * 1000 })).stdout);
    const peer1 = ac.requests.average as number;
    rows.push({ name: 'http1.1 driver req/s vs autocannon (10 conns, 1 KB, cleartext)', ours: r2(ours1.load!.rps), peer: r2(peer1), ratio: r2(ours1.load!.rps / peer1), unit: 'req/s', target: 'report', note: '' });

    // 3. goodput through a 20 Mbit/s, 2x5 ms, loss-free path
    const chosen = await resolveBackend('auto');
    const backend = await createBackend(chosen.name, topo);
    onCleanup(() => backend.teardown());
    const rateBps = 20e6;
    await backend.apply(parseProfile({ delay_ms: 5, rate_bps: rateBps }));
    // Best possible: IP payload share of each 1500-byte packet (+14 B Ethernet the shaper counts)
    const ceiling = 1448 / 1514;
    const bytes = values.quick ? 2_500_000 : 10_000_000;
    for (const [p, plugin] of [['http1.0', 'h1'], ['http1.1', 'h1'], ['h2', 'h2'], ['h3', 'h3']] as const) {
      if (!ready.ports[plugin]) {
        rows.push({ name: `${p} goodput / 20 Mbit/s`, ours: NaN, peer: null, ratio: null, unit: 'ratio', target: '>= 0.95', note: `UNSUPPORTED: ${ready.unsupported[plugin]}` });
        continue;
      }
      log(`${p} goodput through 20 Mbit/s (${chosen.name})`);
      const r = await job(agent, { protocol: spec(p), target: target(plugin), workload: { kind: 'page', objects: 1, object_bytes: bytes } });
      // transfer goodput: first data chunk to last, so the handshake is not counted
      const c = r.chunks;
      const mbps = c.length > 2 ? ((r.bytes - c[0]!.bytes) * 8) / ((c[c.length - 1]!.t_ms - c[0]!.t_ms) / 1000) / 1e6 : NaN;
      rows.push({ name: `${p} goodput / configured 20 Mbit/s (${bytes / 1e6} MB, ${chosen.name})`, ours: r2(mbps), peer: 20, ratio: r2(mbps / 20), unit: 'Mbit/s', target: '>= 0.95', note: `first to last byte; the link carries at most ${r2(ceiling)} as TCP payload` });
    }
    await backend.teardown();
  } finally {
    await topo.destroy();
  }

  // 4. HTTP/3 on loopback
  if (!values['skip-h3']) {
    try {
      const { h3PerfRows } = await import('./h3.ts');
      log('h3 on loopback (vs Node http2, vs Caddy)');
      for (const r of await h3PerfRows({ quick: Boolean(values.quick) } as any)) rows.push({ target: 'report', ...r } as PerfRow);
    } catch (e) {
      rows.push({ name: 'h3', ours: NaN, peer: null, ratio: null, unit: '', target: '', note: `UNSUPPORTED: ${(e as Error).message.split('\n')[0]}` });
    }
  }

  if (values.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else {
    const w = Math.max(...rows.map((r) => r.name.length));
    process.stdout.write(`${'benchmark'.padEnd(w)}  ${'ours'.padStart(10)}  ${'peer'.padStart(10)}  ${'ratio'.padStart(6)}  unit     target   note\n`);
    for (const r of rows) {
      process.stdout.write(`${r.name.padEnd(w)}  ${String(r.ours).padStart(10)}  ${String(r.peer ?? '-').padStart(10)}  ${String(r.ratio ?? '-').padStart(6)}  ${r.unit.padEnd(7)}  ${(r.target ?? '').padEnd(7)}  ${r.note}\n`);
    }
  }
}

void main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`perf: ${(e as Error).stack}\n`);
    process.exit(1);
  },
);
