// The run pipeline: scenario -> topology -> impairment -> servers -> drivers -> records -> outputs.
// Library code: it never exits the process or prints; progress goes out as events, and the
// result comes back as an object. Every resource is registered with proc/lifecycle so a
// signal tears it down too.
import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createTopology, readCc, sysctl, type Topology } from '../netem/topology.ts';
import { createBackend, resolveBackend } from '../netem/backends/index.ts';
import type { BackendChoice, BackendStats, ImpairmentBackend } from '../netem/backend.ts';
import { describeProfile } from '../netem/profile.ts';
import { reapStale } from '../netem/cleanup.ts';
import { isExiting, onCleanup } from '../proc/lifecycle.ts';
import { run, startTs } from '../proc/exec.ts';
import { makeCert, SERVER_NAME } from '../servers/cert.ts';
import { pluginFor, type PluginName } from '../servers/registry.ts';
import type { ServerReady } from '../servers/main.ts';
import type { Job, JobResult } from './agent.ts';
import type { LoadedScenario } from './scenario/load.ts';
import type { ChunkRow, RequestRow } from './records.ts';
import { CsvSink } from './outputs/csv.ts';
import { summarize, SUMMARY_COLUMNS, type SummaryRow } from './summary.ts';
import { collectVersions, machine } from './provenance.ts';
import { keepaliveOf } from './scenario/schema.ts';
import { nowMs, type DeadPeerEvent } from '../contract/messages.ts';
import type { MessageRow } from './workloads/messages.ts';

const HERE = new URL('.', import.meta.url).pathname;
const REQUEST_COLUMNS: (keyof RequestRow)[] = ['cell', 'protocol', 'rep', 'req_id', 'object', 'path', 'conn_id', 'stream_id', 'start_ms', 'ttfb_ms', 'ttlb_ms', 'bytes', 'status', 'error'];
const CHUNK_COLUMNS: (keyof ChunkRow)[] = ['cell', 'protocol', 'rep', 'req_id', 'conn_id', 'stream_id', 't_ms', 'bytes', 'cum_bytes'];
const MESSAGE_COLUMNS: (keyof MessageRow)[] = ['cell', 'protocol', 'rep', 'seq', 'sent_ms', 'recv_ms', 'latency_ms', 'bytes', 'dup'];
interface DropRow { cell: string; rep: number; protocol: string; t_ms: number; direction: string; cause: string; proto: string; src_port: number; dst_port: number }
const DROP_COLUMNS: (keyof DropRow)[] = ['cell', 'rep', 'protocol', 't_ms', 'direction', 'cause', 'proto', 'src_port', 'dst_port'];

export interface RunOptions {
  loaded: LoadedScenario;
  outRoot?: string;
  backend?: BackendChoice;
  repetitions?: number;
  /** stamp used in the results folder name (default: now) */
  stamp?: string;
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

function stampNow(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Start a child in a namespace with IPC and wait for its first message (the ready handshake). */
async function startWithIpc(script: string, ns: string, env: Record<string, string>, timeoutMs: number): Promise<{ child: ChildProcess; first: any }> {
  const child = startTs(script, [], { ns, stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const first = await new Promise((resolveP, reject) => {
    const t = setTimeout(() => reject(new Error(`${script} not ready after ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.once('message', (m) => (clearTimeout(t), resolveP(m)));
    child.once('exit', (code) => (clearTimeout(t), reject(new Error(`${script} exited (${code}) before ready: ${stderr}`))));
  });
  child.stderr?.on('data', (d) => process.env.HOLBENCH_DEBUG && process.stderr.write(d));
  return { child, first };
}

function request<T>(child: ChildProcess, msg: object, match: (m: any) => boolean, timeoutMs: number): Promise<T> {
  return new Promise((resolveP, reject) => {
    const t = setTimeout(() => (cleanup(), reject(new Error(`no reply within ${Math.round(timeoutMs / 1000)} s`))), timeoutMs);
    const onMsg = (m: any) => match(m) && (cleanup(), resolveP(m));
    const onExit = (code: number | null) => (cleanup(), reject(new Error(`process exited (${code})`)));
    const cleanup = () => (clearTimeout(t), child.off('message', onMsg), child.off('exit', onExit));
    child.on('message', onMsg);
    child.once('exit', onExit);
    child.send(msg);
  });
}

/** L2 byte counters of a namespace's eth0 (tx = towards the router). */
async function vethBytes(ns: string): Promise<{ tx: number; rx: number; packets: number } | null> {
  const r = await run('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'dev', 'eth0'], { allowFail: true });
  if (r.exitCode !== 0) return null;
  const st = (JSON.parse(r.stdout) as any[])[0]?.stats64;
  return st ? { tx: Number(st.tx.bytes), rx: Number(st.rx.bytes), packets: Number(st.tx.packets) + Number(st.rx.packets) } : null;
}

/** First detection at or after `from` (wall ms): its delay and mechanism. */
function firstDetection(events: { atMs: number; mechanism: string }[], from: number): { ms: number | null; mech: string } {
  const e = events.filter((x) => x.atMs >= from).sort((a, b) => a.atMs - b.atMs)[0];
  return e ? { ms: Math.round((e.atMs - from) * 10) / 10, mech: e.mechanism } : { ms: null, mech: '' };
}

async function retransSegs(ns: string): Promise<number | null> {
  const r = await run('cat', ['/proc/net/snmp'], { ns, allowFail: true });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  if (lines.length < 2) return null;
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  const i = keys.indexOf('RetransSegs');
  return i > 0 ? Number(vals[i]) : null;
}

export class Runner extends EventEmitter {
  async run(o: RunOptions): Promise<RunResult> {
    const { loaded } = o;
    const sc = loaded.scenario;
    const reps = o.repetitions ?? sc.repetitions;
    const name = `${loaded.name}-${o.stamp ?? stampNow()}`;
    const outDir = resolve(o.outRoot ?? 'results', name);
    const emit = (e: RunEvent) => this.emit('event', e);

    await reapStale();
    const chosen = await resolveBackend(o.backend ?? sc.backend);
    await mkdir(outDir, { recursive: true });
    const jobsTotal = loaded.cells.length * loaded.protocols.length * reps;
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
      protocols: loaded.protocols.map((p) => p.label),
      cells: loaded.cells.map((c) => ({ id: c.id, params: c.params, profile: c.profile, description: describeProfile(c.profile) })),
      versions: await collectVersions(), started_at: startedAt,
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
      const backend: ImpairmentBackend = await createBackend(chosen.name, topo);
      disposers.push(() => backend.teardown());
      await backend.apply(loaded.cells[0]!.profile);

      emit({ type: 'phase', message: 'starting servers' });
      const tls = await makeCert(topo.addr.server);
      const plugins = [...new Set(loaded.protocols.map((p) => pluginFor(p.protocol)))];
      const server = await startWithIpc(join(HERE, '../servers/main.ts'), topo.ns.server, {
        HOLBENCH_SERVER_CONFIG: JSON.stringify({ host: topo.addr.server, plugins, tls, quicCc: sc.quic_cc, keepalive: sc.workload.kind === 'messages' ? keepaliveOf(sc.workload.keepalive) : undefined }),
      }, 30_000);
      disposers.push(async () => void server.child.kill('SIGKILL'));
      const ready = server.first as ServerReady;
      runJson.server_unsupported = ready.unsupported;
      const agent = await startWithIpc(join(HERE, 'agent.ts'), topo.ns.client, {}, 30_000);
      disposers.push(async () => void agent.child.kill('SIGKILL'));
      await writeRunJson();

      const requestsCsv = new CsvSink<RequestRow>(join(outDir, 'requests.csv'), REQUEST_COLUMNS);
      const chunksCsv = new CsvSink<ChunkRow>(join(outDir, 'chunks.csv'), CHUNK_COLUMNS);
      const summaryCsv = new CsvSink<SummaryRow>(join(outDir, 'summary.csv'), SUMMARY_COLUMNS);
      const dropsCsv = new CsvSink<DropRow>(join(outDir, 'drops.csv'), DROP_COLUMNS);
      const messagesCsv = sc.workload.kind === 'messages' ? new CsvSink<MessageRow>(join(outDir, 'messages.csv'), MESSAGE_COLUMNS) : null;

      let index = 0;
      for (const [ci, cell] of loaded.cells.entries()) {
        if (ci > 0) await backend.update(cell.profile);
        emit({ type: 'phase', message: `cell ${cell.id}: ${describeProfile(cell.profile)}` });
        for (let rep = 1; rep <= reps; rep++) {
          // rotate the protocol order each repetition so no protocol always runs first
          const order = loaded.protocols.map((_, i) => loaded.protocols[(i + rep - 1) % loaded.protocols.length]!);
          for (const proto of order) {
            if (isExiting()) throw new Error('interrupted');
            index++;
            emit({ type: 'job-start', index, jobs: jobsTotal, cell: cell.id, protocol: proto.label, rep });
            const plugin: PluginName = pluginFor(proto.protocol);
            const port = ready.ports[plugin];
            const ctx = { scenario: loaded.name, cell: cell.id, rep, protocol: proto.label, profile: cell.profile, tcpCc: sc.tcp_cc, quicCc: sc.quic_cc, serverConnections: null, retransmissions: null };
            let result: JobResult;
            let statsBefore: BackendStats | undefined;
            let statsAfter: BackendStats | undefined;
            let serverConnections: number | null = null;
            let retrans: number | null = null;
            let wire: { up: number; down: number; packets: number; transport: 'tcp' | 'udp' } | null = null;
            let detect: { clientMs: number | null; clientMech: string; serverMs: number | null; serverMech: string } | undefined;
            const emptyResult = (status: JobResult['status'], reason: string): JobResult => ({ type: 'result', id: index, status, reason, connectionsOpened: 0, bytes: 0, elapsedMs: 0, requests: [], chunks: [] });
            if (!port) {
              result = emptyResult('UNSUPPORTED', ready.unsupported[plugin] ?? `no ${plugin} server`);
            } else {
              statsBefore = await backend.stats();
              const srvBefore = await request<any>(server.child, { type: 'stats' }, (m) => m.type === 'stats', 10_000);
              const rtBefore = [await retransSegs(topo.ns.client), await retransSegs(topo.ns.server)];
              const wireBefore = await vethBytes(topo.ns.client);
              const t0 = Date.now();
              // wall time (nowMs) each outage was in force; detection delays count from the first
              const outageOn: number[] = [];
              const timers = cell.profile.outages.flatMap((out) => [
                setTimeout(() => void backend.setBlackhole(out.direction, true).then(() => outageOn.push(nowMs())), out.fromS * 1000),
                setTimeout(() => void backend.setBlackhole(out.direction, false), out.toS * 1000),
              ]);
              const job: Job = {
                type: 'job', id: index, cell: cell.id, rep, protocol: proto,
                target: { host: topo.addr.server, port: port.port, caPem: tls.cert, servername: SERVER_NAME },
                workload: sc.workload, requestTimeoutMs: sc.timeouts.request_ms, jobTimeoutMs: sc.timeouts.cell_s * 1000, quicCc: sc.quic_cc,
              };
              try {
                result = await request<JobResult>(agent.child, job, (m) => m.type === 'result' && m.id === index, job.jobTimeoutMs + 20_000);
              } catch (e) {
                result = emptyResult('FAILED', `client agent: ${(e as Error).message}`);
              } finally {
                timers.forEach(clearTimeout);
                if (cell.profile.outages.length) await backend.setBlackhole('both', false);
              }
              statsAfter = await backend.stats();
              const wireAfter = await vethBytes(topo.ns.client);
              if (wireBefore && wireAfter) wire = { up: wireAfter.tx - wireBefore.tx, down: wireAfter.rx - wireBefore.rx, packets: wireAfter.packets - wireBefore.packets, transport: port.transport };
              const srvAfter = await request<any>(server.child, { type: 'stats' }, (m) => m.type === 'stats', 10_000);
              serverConnections = srvAfter.stats[plugin].connections - srvBefore.stats[plugin].connections;
              if (outageOn.length) {
                const from = Math.min(...outageOn);
                const dead: DeadPeerEvent[] = (srvAfter.stats[plugin].deadPeers ?? []).slice((srvBefore.stats[plugin].deadPeers ?? []).length);
                const c = firstDetection(result.messages?.dead ?? [], from);
                const sv = firstDetection(dead, from);
                detect = { clientMs: c.ms, clientMech: c.mech, serverMs: sv.ms, serverMech: sv.mech };
              }
              const rtAfter = [await retransSegs(topo.ns.client), await retransSegs(topo.ns.server)];
              if (proto.protocol !== 'h3' && rtBefore.every((x) => x !== null) && rtAfter.every((x) => x !== null)) {
                retrans = rtAfter[0]! - rtBefore[0]! + rtAfter[1]! - rtBefore[1]!;
              }
              const drops = await backend.drops(t0);
              // drop times are wall-clock; express them on the job's clock (t0 ~ the job's start)
              dropsCsv.add(drops.map((d) => ({ cell: cell.id, rep, protocol: proto.label, t_ms: d.tMs - t0, direction: d.direction, cause: d.cause, proto: d.proto, src_port: d.srcPort, dst_port: d.dstPort })));
            }
            const row = summarize(result, { ...ctx, statsBefore, statsAfter, serverConnections, retransmissions: retrans, wire, detect });
            requestsCsv.add(result.requests);
            chunksCsv.add(result.chunks);
            if (messagesCsv && result.messageRows) messagesCsv.add(result.messageRows);
            summaryCsv.add([row]);
            rows.push(row);
            emit({ type: 'job-end', index, jobs: jobsTotal, row });
          }
        }
      }
      agent.child.send({ type: 'exit' });
      runJson.backend_stats_final = await backend.stats().catch(() => null);
    } finally {
      runJson.finished_at = new Date().toISOString();
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
