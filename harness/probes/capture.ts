// Packet capture around a job (opt-in: scenario `capture: true` or `run --capture`): tcpdump
// on the client namespace's eth0 writes results/<run>/capture/<cell>_<protocol>_rep<r>.pcap
// (nanosecond timestamps), and the job's drivers append every TLS and QUIC connection's
// secrets to <same>.keys (NSS key log: `tshark -r X.pcap -o tls.keylog_file:X.keys`).
//
// Contract: start() returns once tcpdump printed "listening on" (it is capturing before the
// job is sent); finish() stops it with SIGINT and waits for it to exit (the file is complete
// then), and a SIGINT/SIGTERM of the run stops it through proc/lifecycle. A size bound
// (capture_max_mb) stops tcpdump early; the job goes on uncaptured and the capture note says
// so. The capture is pcap, not pcapng: tcpdump 4.99 writes only pcap (nanosecond pcap keeps
// the full timestamp precision); `editcap -F pcapng` converts for tools that want pcapng.
//
// Columns: the exact head-of-line delay of the job (harness/probes/hol.ts), from the capture,
// the key log and the job's chunk times; captures are analysed while the next job has not
// started, so their cost is between jobs, never inside one. Loss attribution
// (harness/probes/lossattr.ts): every loss of the job with the streams it held and for how
// long, appended to results/<run>/stalls-by-loss.csv (the capture folder's parent); drops
// come from the backend's drop log (read here, not from the drop-log probe: this probe
// finishes first), the netem backend has none and then the losses are the capture's holes.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { start } from '../../proc/exec.ts';
import { onCleanup } from '../../proc/lifecycle.ts';
import { analyzeCapture } from './hol.ts';
import type { JobProbe, ProbeContext } from './types.ts';
import type { DropIn, LinkOptions, LossRow } from './lossattr.ts';
import { CsvSink } from '../outputs/csv.ts';

/** a full-size Ethernet frame, bytes (the router queue's unit for the drop window) */
const FRAME_BYTES = 1514;

/** One row of results/<run>/stalls-by-loss.csv: a loss and what it held (lossattr.ts). */
export interface StallByLossRow {
  cell: string;
  protocol: string;
  rep: number;
  /** drop: a drop-log entry; capture: a hole no drop explains (time = gap - one-way delay) */
  source: string;
  /** on the job's clock (ms since the job was sent), like drops.csv */
  t_ms: number;
  direction: string;
  client_port: number;
  streams_stalled: number;
  blocked_ms_total: number;
  blocked_ms_max: number;
  cross_ms_total: number;
  cross_streams: number;
}
export const STALL_BY_LOSS_COLUMNS: (keyof StallByLossRow)[] = ['cell', 'protocol', 'rep', 'source', 't_ms', 'direction', 'client_port', 'streams_stalled', 'blocked_ms_total', 'blocked_ms_max', 'cross_ms_total', 'cross_streams'];
export const STALL_BY_LOSS_FILE = 'stalls-by-loss.csv';

/** The drop-to-hole window of the job's downlink (lossattr.ts header, 3): the configured
 *  delay and jitter, and the longest wait in the router's queue (full queue at the rate). */
export function linkOptions(ctx: Pick<ProbeContext, 'cell'>): LinkOptions {
  const d = ctx.cell.profile.downlink;
  const maxQueueMs = d.rateBps ? ((d.queuePackets + 1) * FRAME_BYTES * 8 * 1000) / d.rateBps : 0;
  return { delayMs: d.delayMs, jitterMs: d.jitterMs + 1, maxQueueMs };
}

/** Appends to <run>/stalls-by-loss.csv (header written by the first job of the run). */
function stallSink(capDir: string): CsvSink<StallByLossRow> {
  return new CsvSink<StallByLossRow>(join(dirname(capDir), STALL_BY_LOSS_FILE), STALL_BY_LOSS_COLUMNS, { append: true });
}

/** A file-name-safe form of a cell id or label ("loss_pct=2,rtt_ms=50" -> "loss_pct-2_rtt_ms-50"). */
export function safeName(s: string): string {
  return s.replace(/=/g, '-').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 100) || 'x';
}

/** The capture files of one job, without extension: <dir>/<cell>_<protocol>_rep<r>. */
export function captureBase(dir: string, cell: string, protocol: string, rep: number): string {
  return join(dir, `${safeName(cell)}_${safeName(protocol)}_rep${rep}`);
}

/** How often the size bound is checked. */
const SIZE_POLL_MS = 250;

/** Resolve once tcpdump says it is capturing (its "listening on" line on stderr); reject when
 *  it exits first or stays silent for `timeoutMs`. */
function waitListening(p: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => done(new Error(`tcpdump did not start capturing in ${timeoutMs} ms: ${err.trim()}`)), timeoutMs);
    const onData = (d: Buffer) => {
      err += d.toString();
      if (/listening on /.test(err)) done(null);
    };
    const onExit = (code: number | null) => done(new Error(`tcpdump exited (${code}) before capturing: ${err.trim()}`));
    function done(e: Error | null) {
      clearTimeout(timer);
      p.stderr?.off('data', onData);
      p.off('exit', onExit);
      if (e) reject(e);
      else resolve();
    }
    p.stderr?.on('data', onData);
    p.once('exit', onExit);
  });
}

/** SIGINT (tcpdump flushes and closes the file), SIGKILL if it is still there after 5 s. */
function stopTcpdump(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    p.kill('SIGINT');
  });
}

/** hol_self_ms, hol_cross_ms, hol_cross_ms_per_stream, hol_cross_bytes, loss_streams_max,
 *  loss_blocked_ms_max; rows of stalls-by-loss.csv */
export const packetCapture: JobProbe = {
  name: 'packet capture',
  applies: (ctx) => ctx.capture !== null,
  async start(ctx) {
    const cap = ctx.capture!;
    await mkdir(cap.dir, { recursive: true });
    const base = captureBase(cap.dir, ctx.cell.id, ctx.protocol, ctx.rep);
    const pcap = `${base}.pcap`;
    const keys = `${base}.keys`;
    await writeFile(keys, '');
    ctx.keylogFile = keys;
    // -Z root: Debian's tcpdump otherwise drops to user tcpdump, who cannot write results/.
    // --immediate-mode: without it libpcap hands packets over in blocks (up to 1 s late) and
    // the block still filling when SIGINT arrives is lost: the job's last second (seen: 20%
    // of a page's bytes missing from the file)
    const p = start('tcpdump', ['-i', 'eth0', '-n', '--immediate-mode', '-s', String(cap.snaplenBytes), '--time-stamp-precision', 'nano', '-Z', 'root', '-w', pcap], { ns: ctx.topo.ns.client, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const unregister = onCleanup(() => stopTcpdump(p));
    try {
      await waitListening(p, 10_000);
    } catch (e) {
      await stopTcpdump(p);
      unregister();
      throw e;
    }
    let bounded = '';
    const poll = setInterval(() => {
      void stat(pcap).then(
        (st) => {
          if (st.size < cap.maxBytes || bounded) return;
          bounded = `capture stopped at ${(st.size / 1e6).toFixed(1)} MB (capture_max_mb ${cap.maxBytes / 1e6}); the rest of the job was not captured`;
          void stopTcpdump(p);
        },
        () => {},
      );
    }, SIZE_POLL_MS);
    return {
      async finish(result) {
        clearInterval(poll);
        await stopTcpdump(p);
        unregister();
        const size = (await stat(pcap).catch(() => null))?.size ?? 0;
        const kernelDrops = Number(/(\d+) packets dropped by kernel/.exec(stderr)?.[1] ?? 0);
        const notes: string[] = [];
        if (bounded) notes.push(bounded);
        if (kernelDrops) notes.push(`tcpdump: ${kernelDrops} packets dropped by the kernel (capture incomplete)`);
        const drops: DropIn[] = (await ctx.backend.drops(ctx.t0).catch(() => [])).map((d) => ({ tMs: d.tMs, direction: d.direction, clientPort: d.direction === 'downlink' ? d.dstPort : d.srcPort }));
        const analysisStart = performance.now();
        const hol = bounded || kernelDrops || result.status !== 'SUCCEEDED' ? null : await analyzeCapture({ pcap, keys, result, transport: ctx.transport, serverAddr: ctx.topo.addr.server, snaplenBytes: cap.snaplenBytes }, { drops, link: linkOptions(ctx) }).catch((e: Error) => (notes.push(`analysis: ${e.message}`), null));
        if (hol) stallSink(cap.dir).add(hol.losses.map((l: LossRow) => ({ cell: ctx.cell.id, protocol: ctx.protocol, rep: ctx.rep, source: l.source, t_ms: Math.round((l.tMs - ctx.t0) * 1000) / 1000, direction: l.direction, client_port: l.clientPort, streams_stalled: l.streams_stalled, blocked_ms_total: l.blocked_ms_total, blocked_ms_max: l.blocked_ms_max, cross_ms_total: l.cross_ms_total, cross_streams: l.cross_streams })));
        if (hol?.summary.undelivered_bytes) notes.push(`analysis: ${hol.summary.undelivered_bytes} body bytes not found in the capture or the chunks (left out of the sums)`);
        await writeFile(`${base}.json`, JSON.stringify({ pcap, keys, bytes: size, t0_wall_ms: result.t0WallMs ?? null, notes, analysis_ms: Math.round(performance.now() - analysisStart), hol: hol?.summary ?? null, attribution: hol?.attribution ?? null }, null, 2));
        return { columns: hol ? hol.columns : {} };
      },
    };
  },
};
