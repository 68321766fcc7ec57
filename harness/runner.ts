// The run pipeline: scenario -> topology -> impairment -> servers -> drivers -> records -> outputs.
// Library code: it never exits the process or prints; progress goes out as events, and the
// result comes back as an object. Every resource is registered with proc/lifecycle so a
// signal tears it down too.
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createTopology, readCc, sysctl, type Topology } from '../netem/topology.ts';
import { createBackend, resolveBackend } from '../netem/backends/index.ts';
import type { BackendChoice, ImpairmentBackend } from '../netem/backend.ts';
import { describeProfile, passThrough } from '../netem/profile.ts';
import { PRESET_TABLE } from '../netem/presets.ts';
import { reapStale } from '../netem/cleanup.ts';
import { describeNat, installNat, natAvailable, type Nat } from '../netem/nat.ts';
import { isExiting, onCleanup } from '../proc/lifecycle.ts';
import { startChild, type ChildChannel } from '../proc/channel.ts';
import { makeCert, SERVER_NAME } from '../servers/cert.ts';
import type { PluginName } from '../servers/registry.ts';
import { needsWebTransport, pluginOf, wireOf } from './protocols.ts';
import { SERVER_MAIN, type ServerControl } from '../servers/main.ts';
import { AGENT_MAIN, type AgentControl, type Job, type JobResult } from './agent.ts';
import type { Cell, LoadedScenario, ProtocolSpec } from './scenario/load.ts';
import type { ChunkRow, RequestRow } from './records.ts';
import { CsvSink } from './outputs/csv.ts';
import { summarize, SUMMARY_COLUMNS, type SummaryRow } from './summary.ts';
import { collectVersions, loadAvg, machine, scenarioHash } from './provenance.ts';
import { inShard, PARTITION_RULE, shardUnits, unitIndex, type Shard } from './shard/partition.ts';
import { keepaliveOf } from './scenario/schema.ts';
import type { MessageRow } from './workloads/messages.ts';
import { startProbes } from './probes/index.ts';
import { jobSeed } from '../netem/seed.ts';
import { DROP_COLUMNS, type DropRow, type ProbeContext } from './probes/types.ts';
import { startExternalServers, type ExternalServers } from './extservers/index.ts';
import { serverName } from './extservers/spec.ts';

const REQUEST_COLUMNS: (keyof RequestRow)[] = ['cell', 'protocol', 'rep', 'req_id', 'object', 'path', 'conn_id', 'stream_id', 'start_ms', 'ttfb_ms', 'ttlb_ms', 'bytes', 'status', 'error',
  'conn_start_ms', 'tcp_connect_ms', 'tls_handshake_ms', 'quic_handshake_ms', 'resumed', 'zero_rtt', 'next_hop_protocol', 'priority'];
const CHUNK_COLUMNS: (keyof ChunkRow)[] = ['cell', 'protocol', 'rep', 'req_id', 'conn_id', 'stream_id', 't_ms', 'bytes', 'cum_bytes'];
const MESSAGE_COLUMNS: (keyof MessageRow)[] = ['cell', 'protocol', 'rep', 'seq', 'sent_ms', 'recv_ms', 'latency_ms', 'bytes', 'dup', 'lost_ms', 'lost_by'];

export interface RunOptions {
  loaded: LoadedScenario;
  outRoot?: string;
  backend?: BackendChoice;
  repetitions?: number;
  /** stamp used in the results folder name (default: now) */
  stamp?: string;
  /** capture every job (run --capture); the scenario's `capture` also turns it on */
  capture?: boolean;
  /** run only this shard's (cell, repetition) units (harness/shard/partition.ts) */
  shard?: Shard;
}

export type RunEvent =
  | { type: 'phase'; message: string }
  | { type: 'plan'; jobs: number; cells: number; protocols: string[]; repetitions: number; backend: string; outDir: string }
  | { type: 'job-start'; index: number; jobs: number; cell: string; protocol: string; rep: number }
  | { type: 'job-end'; index: number; jobs: number; row: SummaryRow };

export interface RunResult {
  outDir: string;
  name: string;
  rows: SummaryRow[];
  failed: number;
  unsupported: number;
  backend: string;
}

function emptyResult(id: number, status: JobResult['status'], reason: string): JobResult {
  return { id, status, reason, connectionsOpened: 0, bytes: 0, elapsedMs: 0, requests: [], chunks: [] };
}

function stampNow(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** What every job of a run shares: the topology, the impairment, the two processes. */
interface Stack {
  topo: Topology;
  backend: ImpairmentBackend;
  server: ChildChannel<ServerControl>;
  agent: ChildChannel<AgentControl>;
  /** the per-run certificate the drivers verify against */
  tlsCert: string;
  /** caddy, nginx, the user's servers (protocol entries with `server:`) */
  ext: ExternalServers;
  /** the NAT middlebox (scenario nat:), else null */
  nat: Nat | null;
}

/** One job: reseed the impairment (paired repetitions), start the probes, send the job to the
 *  agent, finish the probes. A protocol whose server plugin did not start is UNSUPPORTED. */
async function runJob(o: { stack: Stack; cell: Cell; rep: number; proto: ProtocolSpec; index: number; sc: LoadedScenario['scenario']; capture: ProbeContext['capture'] }) {
  const { stack, cell, rep, proto, index, sc, capture } = o;
  const plugin: PluginName = pluginOf(proto.protocol, proto.tls);
  const t = proto.server ? stack.ext.target(proto) : null;
  if (t && 'status' in t) return { result: emptyResult(index, t.status, t.reason), probed: {}, seed: null, drops: [], paired: null };
  const port = t ?? stack.server.ready.ports[plugin];
  if (!port) return { result: emptyResult(index, 'UNSUPPORTED', stack.server.ready.unsupported[plugin] ?? `no ${plugin} server`), probed: {}, seed: null, drops: [], paired: null };
  // paired repetitions: every protocol of (cell, rep) meets the same loss decisions
  const seed = jobSeed(cell.profile.seed, cell.id, rep);
  const paired = await stack.backend.reseed(seed);
  const pctx: ProbeContext = { topo: stack.topo, backend: stack.backend, server: stack.server, plugin, transport: port.transport, external: proto.server && serverName(proto.server), cell, rep, protocol: proto.label, t0: 0, capture, nat: stack.nat };
  const probes = await startProbes(pctx);
  pctx.t0 = Date.now();
  const job: Job = {
    type: 'job', id: index, cell: cell.id, rep, protocol: proto,
    target: { host: stack.topo.addr.server, port: port.port, tls: proto.tls, caPem: stack.tlsCert, servername: SERVER_NAME, keylogFile: pctx.keylogFile },
    workload: sc.workload, requestTimeoutMs: sc.timeouts.request_ms, jobTimeoutMs: sc.timeouts.cell_s * 1000, quicCc: sc.quic_cc,
    connection: cell.connection,
  };
  let result: JobResult;
  try {
    result = await stack.agent.request(job, job.jobTimeoutMs + 20_000);
  } catch (e) {
    result = emptyResult(index, 'FAILED', `client agent: ${(e as Error).message}`);
  }
  const out = await probes.finish(result);
  return { result, probed: out.columns, seed, drops: out.drops, paired };
}

export class Runner extends EventEmitter {
  async run(o: RunOptions): Promise<RunResult> {
    const { loaded } = o;
    const sc = loaded.scenario;
    const reps = o.repetitions ?? sc.repetitions;
    const name = `${loaded.name}-${o.stamp ?? stampNow()}${o.shard ? `-shard${o.shard.index}of${o.shard.count}` : ''}`;
    // the units this process runs: all of them, or its shard's
    const units = o.shard ? shardUnits(loaded.cells.map((c) => c.id), reps, o.shard) : null;
    const mine = (ci: number, rep: number) => !o.shard || inShard(unitIndex(ci, rep, reps), o.shard);
    const outDir = resolve(o.outRoot ?? 'results', name);
    const emit = (e: RunEvent) => this.emit('event', e);

    await reapStale();
    const chosen = await resolveBackend(o.backend ?? sc.backend, loaded.cells.map((c) => c.profile));
    if (sc.nat) {
      // the NAT needs iptables (nat table) and the conntrack tool in the router namespace, with either backend
      const a = await natAvailable();
      if (!a.ok) throw new Error(`nat: cannot install a NAT here: ${a.reason}`);
    }
    await mkdir(outDir, { recursive: true });
    const jobsTotal = (units ? units.length : loaded.cells.length * reps) * loaded.protocols.length;
    emit({ type: 'plan', jobs: jobsTotal, cells: loaded.cells.length, protocols: loaded.protocols.map((p) => p.label), repetitions: reps, backend: chosen.name, outDir });

    const disposers: (() => Promise<void>)[] = [];
    // One teardown, however many callers: a signal's cleanup and this function's `finally`
    // can both get here; the second must wait for the first to finish, not return early
    // (the signal handler exits the process as soon as its cleanups resolve).
    let disposing: Promise<void> | null = null;
    const dispose = () =>
      (disposing ??= (async () => {
        for (const d of disposers.splice(0).reverse()) await d().catch(() => {});
      })());
    const unregister = onCleanup(dispose);
    const rows: SummaryRow[] = [];
    const startedAt = new Date().toISOString();
    const runJson: Record<string, unknown> = {
      name, scenario: { file: loaded.file, name: loaded.name, ...sc }, backend: chosen.name, backend_reason: chosen.why,
      ...machine(), tcp_cc: sc.tcp_cc, quic_cc: sc.quic_cc, seed: sc.seed, repetitions: reps,
      // per protocol: its label and what the label stands for (TLS included: http1.1x6 is
      // HTTPS, http1.1x6-clear is not), and the server plugin that served it
      protocols: loaded.protocols.map((p) => ({ label: p.label, protocol: p.protocol, connections: p.connections, tls: p.tls, ...(p.server ? { server: serverName(p.server) } : { plugin: pluginOf(p.protocol, p.tls), ...wireOf(p.protocol) }), ...(p.client ? { client: p.client } : {}) })),
      scheduling: sc.scheduling,
      cells: loaded.cells.map((c) => ({ id: c.id, params: c.params, profile: c.profile, description: describeProfile(c.profile), scheduling: c.scheduling })),
      // every network preset a cell started from: its source, revision, original values, conversion
      network_presets: Object.fromEntries(loaded.cells.flatMap((c) => (c.profile.preset ? [[c.profile.preset.name, PRESET_TABLE[c.profile.preset.name]]] : []))),
      // a run with Chromium records its version and playwright-core's
      versions: { ...(await collectVersions()), ...(loaded.protocols.some((p) => p.client) ? await (await import('./drivers/chromium.ts')).chromiumVersions() : {}) },
      started_at: startedAt,
      // the host's 1/5/15-min load averages at the start (and load_avg_finished at the end)
      load_avg_started: loadAvg(),
      // what `holbench merge` checks shards against: the same scenario content, seed, version
      scenario_sha256: scenarioHash(sc),
      ...(o.shard && units ? { shard: { index: o.shard.index, count: o.shard.count, rule: PARTITION_RULE, units } } : {}),
    };
    const writeRunJson = () => writeFile(join(outDir, 'run.json'), JSON.stringify(runJson, null, 2));
    await writeRunJson();
    try {
      emit({ type: 'phase', message: `building topology (backend ${chosen.name}, TCP ${sc.tcp_cc})` });
      const topo: Topology = await createTopology({ tcpCc: sc.tcp_cc });
      disposers.push(() => topo.destroy());
      runJson.run_id = topo.runId;
      runJson.host_changes = topo.hostNotes;
      runJson.tcp_cc_measured = { client: await readCc(topo.ns.client), server: await readCc(topo.ns.server) };
      if (sc.workload.kind === 'messages') {
        // TCP keepalive probe spacing and count are per-namespace sysctls (Node sets only the idle time)
        const k = sc.workload.keepalive;
        const set: Record<string, string> = {};
        if (k.tcp_keepalive_interval_s) set['net.ipv4.tcp_keepalive_intvl'] = String(k.tcp_keepalive_interval_s);
        if (k.tcp_keepalive_probes) set['net.ipv4.tcp_keepalive_probes'] = String(k.tcp_keepalive_probes);
        for (const [key, v] of Object.entries(set)) for (const n of [topo.ns.client, topo.ns.server]) await sysctl(n, key, v);
        if (Object.keys(set).length) runJson.namespace_sysctls = set;
      }
      // the NAT (scenario nat:) lives in the router namespace beside the impairment, whichever backend
      const nat = sc.nat ? await installNat(topo, sc.nat) : null;
      if (nat) {
        disposers.push(() => nat.teardown());
        runJson.nat = { ...sc.nat, description: describeNat(sc.nat!), mechanism: 'iptables SNAT + conntrack timeouts in the router namespace (netem/nat.ts)' };
      }
      const backend: ImpairmentBackend = await createBackend(chosen.name, topo);
      disposers.push(() => backend.teardown());
      // a cell the backend cannot emulate faithfully is not applied; its jobs are UNSUPPORTED
      const unsupportedWhy = (c: Cell) => backend.unsupported?.(c.profile) ?? null;
      let applied = loaded.cells.find((c) => !unsupportedWhy(c))?.profile ?? passThrough(loaded.cells[0]!.profile.seed);
      await backend.apply(applied);

      emit({ type: 'phase', message: 'starting servers' });
      const tls = await makeCert(topo.addr.server);
      const plugins = [...new Set(loaded.protocols.filter((p) => !p.server).map((p) => pluginOf(p.protocol, p.tls)))];
      const server: ChildChannel<ServerControl> = await startChild<ServerControl>(SERVER_MAIN, {
        ns: topo.ns.server,
        env: { HOLBENCH_SERVER_CONFIG: JSON.stringify({ host: topo.addr.server, plugins, tls, quicCc: sc.quic_cc, keepalive: sc.workload.kind === 'messages' ? keepaliveOf(sc.workload.keepalive) : undefined, scheduling: loaded.cells[0]!.scheduling, webtransport: loaded.protocols.some((p) => needsWebTransport(p.protocol)) }) },
      });
      disposers.push(async () => server.kill());
      const ready = server.ready;
      runJson.server_unsupported = ready.unsupported;
      // caddy, nginx, the user's own servers (harness/extservers/); one process each per run
      const ext = await startExternalServers({ ns: topo.ns.server, host: topo.addr.server, protocols: loaded.protocols, workload: sc.workload, outDir, tls, cwd: dirname(resolve(loaded.file)) });
      disposers.push(() => ext.stop());
      if (ext.provenance.length) runJson.external_servers = ext.provenance;
      const agent: ChildChannel<AgentControl> = await startChild<AgentControl>(AGENT_MAIN, { ns: topo.ns.client });
      disposers.push(async () => agent.kill());
      await writeRunJson();

      const requestsCsv = new CsvSink<RequestRow>(join(outDir, 'requests.csv'), REQUEST_COLUMNS);
      const chunksCsv = new CsvSink<ChunkRow>(join(outDir, 'chunks.csv'), CHUNK_COLUMNS);
      const summaryCsv = new CsvSink<SummaryRow>(join(outDir, 'summary.csv'), SUMMARY_COLUMNS);
      const dropsCsv = new CsvSink<DropRow>(join(outDir, 'drops.csv'), DROP_COLUMNS);
      const messagesCsv = sc.workload.kind === 'messages' ? new CsvSink<MessageRow>(join(outDir, 'messages.csv'), MESSAGE_COLUMNS) : null;

      const stack: Stack = { topo, backend, server, agent, tlsCert: tls.cert, ext, nat };
      // packet capture (opt-in): one pcap + key log per job in <run>/capture/
      const capture = o.capture || sc.capture ? { dir: join(outDir, 'capture'), snaplenBytes: sc.capture_snaplen, maxBytes: sc.capture_max_mb * 1e6 } : null;
      let index = 0;
      for (const [ci, cell] of loaded.cells.entries()) {
        if (!Array.from({ length: reps }, (_, r) => mine(ci, r + 1)).some(Boolean)) continue;
        const why = unsupportedWhy(cell);
        if (why) {
          emit({ type: 'phase', message: `cell ${cell.id}: ${why}` });
          for (let rep = 1; rep <= reps; rep++) {
            if (!mine(ci, rep)) continue;
            for (const proto of loaded.protocols) {
              index++;
              const row = summarize(emptyResult(index, 'UNSUPPORTED', why), {
                scenario: loaded.name, cell: cell.id, rep, protocol: proto.label, profile: cell.profile, tcpCc: sc.tcp_cc, quicCc: sc.quic_cc, scheduling: cell.scheduling, connection: cell.connection, probes: {},
              });
              summaryCsv.add([row]);
              rows.push(row);
              emit({ type: 'job-end', index, jobs: jobsTotal, row });
            }
          }
          continue;
        }
        if (cell.profile !== applied) await backend.update(cell.profile);
        applied = cell.profile;
        // the servers' discipline for this cell (servers/scheduler.ts)
        await server.request({ type: 'configure', scheduling: cell.scheduling }, 10_000);
        emit({ type: 'phase', message: `cell ${cell.id}: ${describeProfile(cell.profile)}` });
        for (let rep = 1; rep <= reps; rep++) {
          if (!mine(ci, rep)) continue;
          // rotate the protocol order each repetition so no protocol always runs first
          const order = loaded.protocols.map((_, i) => loaded.protocols[(i + rep - 1) % loaded.protocols.length]!);
          for (const proto of order) {
            if (isExiting()) throw new Error('interrupted');
            index++;
            emit({ type: 'job-start', index, jobs: jobsTotal, cell: cell.id, protocol: proto.label, rep });
            const { result, probed, seed, drops, paired } = await runJob({ stack, cell, rep, proto, index, sc, capture });
            dropsCsv.add(drops);
            if (paired && !runJson.pairing) runJson.pairing = { exact: paired.exact, note: paired.note, seed_of: 'jobSeed(scenario seed, cell id, rep), netem/seed.ts' };
            const row = summarize(result, {
              scenario: loaded.name, cell: cell.id, rep, protocol: proto.label, profile: cell.profile, tcpCc: sc.tcp_cc, quicCc: sc.quic_cc, scheduling: proto.server ? "server's own" : cell.scheduling, connection: cell.connection,
              probes: { ...probed, seed },
            });
            requestsCsv.add(result.requests);
            chunksCsv.add(result.chunks);
            if (messagesCsv && result.messageRows) messagesCsv.add(result.messageRows);
            summaryCsv.add([row]);
            rows.push(row);
            emit({ type: 'job-end', index, jobs: jobsTotal, row });
          }
        }
      }
      await agent.stop();
      runJson.backend_stats_final = await backend.stats().catch(() => null);
    } finally {
      runJson.finished_at = new Date().toISOString();
      runJson.load_avg_finished = loadAvg();
      await writeRunJson().catch(() => {});
      await dispose();
      unregister();
    }
    return {
      outDir,
      name,
      rows,
      failed: rows.filter((r) => r.status === 'FAILED').length,
      unsupported: rows.filter((r) => r.status === 'UNSUPPORTED').length,
      backend: chosen.name,
    };
  }
}
