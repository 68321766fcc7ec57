// The client agent: runs inside the client namespace, started by the runner over the control
// channel (proc/channel.ts, contract AgentControl), and executes one job per request: build the protocol's driver, run the workload,
// close the driver, send the records back. It exits when the runner goes away.
import type { ProtocolSpec } from './scenario/load.ts';
import type { Workload } from './scenario/schema.ts';
import type { ConnectionInfo, ConnectionMode, DriverTarget } from './drivers/types.ts';
import type { ChunkRow, RequestRow } from './records.ts';
import { driverFor, messageDriverFor } from './drivers/registry.ts';
import { keepaliveOf, type MessagesWorkloadT } from './scenario/schema.ts';
import { runMessages, type MessageRow, type MessagesResult } from './workloads/messages.ts';
import { Recorder } from './recorder.ts';
import { withTimeout } from './timeout.ts';
import { runPage, type PageResult } from './workloads/page.ts';
import { runLoad, type LoadResult } from './workloads/load.ts';
import { isMain, serveChannel } from '../proc/channel.ts';
import { wallOfPerf } from '../contract/clock.ts';
import { runCleanups } from '../proc/lifecycle.ts';

export interface Job {
  type: 'job';
  id: number;
  cell: string;
  rep: number;
  protocol: ProtocolSpec;
  target: DriverTarget;
  workload: Workload;
  requestTimeoutMs: number;
  jobTimeoutMs: number;
  quicCc: string;
  /** how the job's connections begin (default cold); warm/resumed run driver.prepare()
   *  before the job's clock starts */
  connection?: ConnectionMode;
}

/** A connection the driver reported, on the job's clock (ms since the recorder's t0). */
export interface JobConnection extends Omit<ConnectionInfo, 'startedAt'> {
  /** negative: opened before the page clock (warm) */
  startMs: number;
}

export interface JobResult {
  id: number;
  status: 'SUCCEEDED' | 'FAILED' | 'UNSUPPORTED';
  reason: string;
  connectionsOpened: number;
  bytes: number;
  elapsedMs: number;
  page?: PageResult;
  load?: LoadResult;
  messages?: MessagesResult;
  requests: RequestRow[];
  chunks: ChunkRow[];
  messageRows?: MessageRow[];
  /** connections the client opened inside the job only to obtain a session (full handshakes),
   *  closed before its clock started, and not in `connections` (Chromium's resumed mode; the
   *  holbench drivers report resumption themselves) */
  primedConnections?: number;
  /** the connections the job's requests used, in the order their handshakes completed */
  connections?: JobConnection[];
  /** wall clock (epoch ms, fractional) of the job's time zero (the recorder's t0): adds to
   *  chunk/request t_ms to put them on a packet capture's clock (harness/wallclock.ts) */
  t0WallMs?: number;
}

/** `work`, or a rejection once `ms` pass (the job's time bound). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return withTimeout(work, ms, `timed out after ${ms / 1000} s`);
}

/** Each request row gets the handshake facts of its connection (matched by conn_id). */
function annotateRequests(rows: RequestRow[], conns: JobConnection[]): void {
  if (!conns.length) return;
  const byId = new Map(conns.map((c) => [c.connId, c]));
  const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  const flag = (b: boolean | null) => (b === null ? null : b ? 1 : 0);
  for (const row of rows) {
    const c = byId.get(row.conn_id);
    if (!c) continue;
    row.conn_start_ms = r3(c.startMs);
    row.tcp_connect_ms = r3(c.tcpConnectMs);
    row.tls_handshake_ms = r3(c.tlsHandshakeMs);
    row.quic_handshake_ms = r3(c.quicHandshakeMs);
    row.resumed = flag(c.resumed);
    row.zero_rtt = flag(c.zeroRtt);
  }
}

export async function runJob(job: Job): Promise<JobResult> {
  // a page loaded by Chromium (scenario client: chromium): its own job, no driver
  if (job.protocol.client === 'chromium') {
    const r = await (await import('./drivers/chromium.ts')).runChromiumJob(job);
    annotateRequests(r.requests, r.connections ?? []);
    return r;
  }
  if (job.workload.kind === 'messages') return runMessagesJob(job, job.workload);
  const newRecorder = () =>
    new Recorder({
      cell: job.cell,
      protocol: job.protocol.label,
      rep: job.rep,
      keepChunks: job.workload.kind === 'page',
      keepRequests: job.workload.kind === 'page',
    });
  let rec = newRecorder();
  const base = () => ({ id: job.id, connectionsOpened: 0, bytes: 0, elapsedMs: 0, requests: rec.requests, chunks: rec.chunks, t0WallMs: wallOfPerf(rec.t0) });
  let factory;
  try {
    factory = await driverFor(job.protocol.protocol);
  } catch (e) {
    return { ...base(), status: 'UNSUPPORTED', reason: (e as Error).message.split('\n')[0]! };
  }
  const mode = job.connection ?? 'cold';
  const reported: ConnectionInfo[] = [];
  const driver = await factory({
    target: job.target, connections: job.protocol.connections, requestTimeoutMs: job.requestTimeoutMs, quicCc: job.quicCc,
    connection: mode, onConnection: (c) => reported.push(c),
  });
  /** the reported connections on the job's clock (rec.t0) */
  const connections = (): JobConnection[] => reported.map(({ startedAt, ...c }) => ({ ...c, startMs: startedAt - rec.t0 }));
  try {
    // warm / resumed: connections or the session ticket are made before the job's clock
    if (mode !== 'cold') {
      if (!driver.prepare) return { ...base(), status: 'FAILED', reason: `${job.protocol.label} driver has no connection modes (connection: ${mode})` };
      try {
        await withDeadline(driver.prepare(), job.jobTimeoutMs);
      } catch (e) {
        return { ...base(), status: 'FAILED', reason: `connection ${mode}: ${(e as Error).message.split('\n')[0]!}`, connectionsOpened: driver.connectionsOpened() };
      }
      rec = newRecorder();
    }
    const work: Promise<{ page?: PageResult; load?: LoadResult }> =
      job.workload.kind === 'page' ? runPage(driver, job.workload, rec).then((page) => ({ page })) : runLoad(driver, job.workload, rec).then((load) => ({ load }));
    const out = await withDeadline(work, job.jobTimeoutMs);
    const failed = out.page ? out.page.failed : 0;
    const ok = out.page ? failed === 0 : out.load!.requests > 0 && out.load!.errors < out.load!.requests;
    const conns = connections();
    annotateRequests(rec.requests, conns);
    return {
      ...base(),
      connections: conns,
      ...out,
      status: ok ? 'SUCCEEDED' : 'FAILED',
      reason: ok ? '' : out.page ? `${failed} of ${out.page.objects} objects failed: ${rec.requests.find((r) => r.error)?.error ?? ''}` : `${out.load!.errors} errors in ${out.load!.requests} requests`,
      connectionsOpened: driver.connectionsOpened(),
      bytes: rec.bytes,
      elapsedMs: rec.now(),
    };
  } catch (e) {
    const conns = connections();
    annotateRequests(rec.requests, conns);
    return { ...base(), connections: conns, status: 'FAILED', reason: (e as Error).message.split('\n')[0]!, connectionsOpened: driver.connectionsOpened(), bytes: rec.bytes, elapsedMs: rec.now() };
  } finally {
    await Promise.race([driver.close(), new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** A `messages` job: same shape as runJob, over a MessageDriver. */
async function runMessagesJob(job: Job, w: MessagesWorkloadT): Promise<JobResult> {
  const rows: MessageRow[] = [];
  const base = { id: job.id, connectionsOpened: 0, bytes: 0, elapsedMs: 0, requests: [], chunks: [], messageRows: rows };
  let factory;
  try {
    factory = await messageDriverFor(job.protocol.protocol);
  } catch (e) {
    return { ...base, status: 'UNSUPPORTED', reason: (e as Error).message.split('\n')[0]! };
  }
  const t0 = performance.now();
  const driver = await factory({ target: job.target, keepalive: keepaliveOf(w.keepalive), requestTimeoutMs: job.requestTimeoutMs });
  try {
    const m = await withDeadline(runMessages(driver, w, { cell: job.cell, protocol: job.protocol.label, rep: job.rep }, rows, { requestTimeoutMs: job.requestTimeoutMs }), job.jobTimeoutMs);
    const ok = m.received > 0;
    return {
      ...base,
      messages: m,
      // the rows' recv_ms are on nowMs() (performance.timeOrigin-based), since m.t0Wall; the
      // capture analysis (harness/probes/holmsg.ts) needs the true wall clock of that origin
      t0WallMs: wallOfPerf(m.t0Wall - performance.timeOrigin),
      status: ok ? 'SUCCEEDED' : 'FAILED',
      reason: ok ? (m.lost ? `${m.lost} of ${m.pattern === 'push' ? w.messages : m.sent} messages lost` : '') : `no message arrived${m.dead.length ? ` (${m.dead[0]!.mechanism}: ${m.dead[0]!.detail})` : ''}`,
      connectionsOpened: driver.connectionsOpened(),
      bytes: rows.reduce((a, r) => a + r.bytes, 0),
      elapsedMs: performance.now() - t0,
    };
  } catch (e) {
    return { ...base, status: 'FAILED', reason: (e as Error).message.split('\n')[0]!, connectionsOpened: driver.connectionsOpened(), elapsedMs: performance.now() - t0 };
  } finally {
    await Promise.race([driver.close(), new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** The control contract of the agent process (proc/channel.ts). */
export interface AgentControl {
  ready: { agent: true };
  requests: { job: { request: Job; reply: JobResult } };
}

/** Where the runner and perf start the agent from. */
export const AGENT_MAIN = new URL('./agent.ts', import.meta.url).pathname;

// on stop, the cleanups of a job in flight run (a Chromium job closes its browser)
if (isMain(import.meta.url)) serveChannel<AgentControl>({ agent: true }, { job: runJob }, runCleanups);
