// Reads one results directory (requests.csv, chunks.csv, summary.csv, run.json, drops.csv,
// stalls-by-loss.csv, messages.csv) into typed rows. Tolerant: a missing optional file gives an empty list, a
// missing or empty numeric field gives null (so folders written before a column existed
// still load), unknown columns and run.json keys are kept or ignored.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkRow, RequestRow } from '../records.ts';
import { NUMERIC_COLUMNS, TEXT_COLUMNS, type SummaryRow as WrittenSummaryRow } from '../columns.ts';
import type { MessageRow } from '../workloads/messages.ts';
import type { StallByLossRow as WrittenStallByLossRow } from '../probes/capture.ts';
import { parseCsv } from './csv.ts';

export type Status = 'SUCCEEDED' | 'FAILED' | 'UNSUPPORTED';

/** One row of summary.csv as read back (columns: harness/summary.ts): numbers may be
 *  missing (null) and status may be any string, since older runs may differ. Times ms,
 *  rates Mbit/s. */
export type SummaryRow = {
  [K in keyof WrittenSummaryRow]: K extends 'rep' ? number : WrittenSummaryRow[K] extends string ? string : number | null;
};

/** One row of drops.csv (helper backend): a packet the emulator dropped. */
export interface DropRow {
  /** ms relative to the cell's t0 (same clock as requests.csv) */
  t_ms: number;
  cell: string;
  rep: number;
  protocol: string;
  direction: string;
  cause: string;
  proto: string;
  src_port: number | null;
  dst_port: number | null;
}

/** One row of stalls-by-loss.csv as read back: the row the capture probe writes
 *  (harness/probes/capture.ts), with an empty client port read as null. */
export type StallByLossRow = Omit<WrittenStallByLossRow, 'client_port'> & { client_port: number | null };

/** run.json; every key optional because older/other backends may omit some. */
export interface RunInfo {
  scenario?: { name?: string; file?: string; [k: string]: unknown };
  backend?: string;
  kernel?: string;
  tcp_cc?: string;
  quic_cc?: string;
  versions?: Record<string, unknown>;
  seed?: number | string;
  started_at?: string;
  finished_at?: string;
  cells?: unknown[];
  /** paired repetitions: exact = the backend reseeded its PRNG exactly before every job, so
   *  a job's seed fixes its loss decisions (harness/pairing.ts runPairingExact reads it) */
  pairing?: { exact?: boolean; note?: string; seed_of?: string };
  [k: string]: unknown;
}

export interface Results {
  dir: string;
  /** directory base name, e.g. "h2-vs-h3-20260101T120000Z" */
  name: string;
  run: RunInfo;
  summary: SummaryRow[];
  /** summary.csv as read, every column kept as text, including columns the column table
   *  does not declare (yet): what the findings read generically (harness/report/findings.ts) */
  summaryRaw: Record<string, string>[];
  requests: RequestRow[];
  chunks: ChunkRow[];
  drops: DropRow[];
  /** stalls-by-loss.csv (runs with capture; empty otherwise) */
  stallsByLoss: StallByLossRow[];
  /** messages.csv (messages workloads; empty for other runs and runs written before it existed) */
  messages: MessageRow[];
  /** files that were expected but missing or unreadable, for the report's notes */
  missing: string[];
}

/** '' / 'NaN' / non-numeric -> null. */
export function num(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  if (t === '') return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** A results folder that cannot be reported on (bad input, not a bug): the CLI exits 2. */
export class ResultsError extends Error {
  readonly code = 'HOLBENCH_BAD_RESULTS';
}

function readCsv(dir: string, file: string, missing: string[], optional = false): Record<string, string>[] {
  const p = join(dir, file);
  if (!existsSync(p)) {
    if (!optional) missing.push(file);
    return [];
  }
  // a named pipe would block the read forever
  if (!statSync(p).isFile()) throw new ResultsError(`${p}: not a regular file`);
  try {
    return parseCsv(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new ResultsError(`${p}: not a readable CSV table (${(e as Error).message.split('\n')[0]})`);
  }
}

export function toSummaryRow(r: Record<string, string>): SummaryRow {
  // column types from the column table (harness/columns.ts)
  const out: Record<string, unknown> = {};
  for (const k of TEXT_COLUMNS) out[k] = r[k] ?? '';
  for (const k of NUMERIC_COLUMNS) out[k] = num(r[k]);
  out.rep = num(r.rep) ?? 0;
  return out as unknown as SummaryRow;
}

export function toRequestRow(r: Record<string, string>): RequestRow {
  return {
    cell: r.cell ?? '', protocol: r.protocol ?? '', rep: num(r.rep) ?? 0, req_id: num(r.req_id) ?? 0, object: num(r.object) ?? 0,
    path: r.path ?? '', conn_id: r.conn_id ?? '', stream_id: r.stream_id ?? '', start_ms: num(r.start_ms) ?? 0,
    ttfb_ms: num(r.ttfb_ms), ttlb_ms: num(r.ttlb_ms), bytes: num(r.bytes) ?? 0, status: num(r.status), error: r.error ?? '',
  };
}

export function toChunkRow(r: Record<string, string>): ChunkRow {
  return {
    cell: r.cell ?? '', protocol: r.protocol ?? '', rep: num(r.rep) ?? 0, req_id: num(r.req_id) ?? 0, conn_id: r.conn_id ?? '',
    stream_id: r.stream_id ?? '', t_ms: num(r.t_ms) ?? NaN, bytes: num(r.bytes) ?? 0, cum_bytes: num(r.cum_bytes) ?? 0,
  };
}

export function toDropRow(r: Record<string, string>): DropRow {
  return {
    t_ms: num(r.t_ms) ?? NaN, cell: r.cell ?? '', rep: num(r.rep) ?? 0, protocol: r.protocol ?? '', direction: r.direction ?? '',
    cause: r.cause ?? '', proto: r.proto ?? '', src_port: num(r.src_port), dst_port: num(r.dst_port),
  };
}

export function toStallByLossRow(r: Record<string, string>): StallByLossRow {
  return {
    cell: r.cell ?? '', protocol: r.protocol ?? '', rep: num(r.rep) ?? 0, source: r.source ?? '', t_ms: num(r.t_ms) ?? NaN, direction: r.direction ?? '',
    client_port: num(r.client_port), streams_stalled: num(r.streams_stalled) ?? 0, blocked_ms_total: num(r.blocked_ms_total) ?? 0,
    blocked_ms_max: num(r.blocked_ms_max) ?? 0, cross_ms_total: num(r.cross_ms_total) ?? 0, cross_streams: num(r.cross_streams) ?? 0,
  };
}

export function toMessageRow(r: Record<string, string>): MessageRow {
  return {
    cell: r.cell ?? '', protocol: r.protocol ?? '', rep: num(r.rep) ?? 0, seq: num(r.seq) ?? 0, sent_ms: num(r.sent_ms) ?? NaN,
    recv_ms: num(r.recv_ms) ?? NaN, latency_ms: num(r.latency_ms) ?? NaN, bytes: num(r.bytes) ?? 0, dup: num(r.dup) ?? 0,
    lost_ms: num(r.lost_ms) ?? NaN, lost_by: r.lost_by ?? '',
  };
}

/** Load a results directory. Throws only if the directory has neither summary.csv nor
 *  requests.csv (nothing to report on). */
export function loadResults(dir: string, name: string): Results {
  const missing: string[] = [];
  let run: RunInfo = {};
  const runPath = join(dir, 'run.json');
  if (existsSync(runPath)) {
    try {
      if (!statSync(runPath).isFile()) throw new Error('not a regular file'); // a pipe would block
      const parsed: unknown = JSON.parse(readFileSync(runPath, 'utf8'));
      if (parsed && typeof parsed === 'object') run = parsed as RunInfo;
    } catch {
      missing.push('run.json (unreadable)');
    }
  } else missing.push('run.json');
  const summaryRaw = readCsv(dir, 'summary.csv', missing);
  const summary = summaryRaw.map(toSummaryRow);
  const requests = readCsv(dir, 'requests.csv', missing).map(toRequestRow);
  if (summary.length === 0 && requests.length === 0) {
    throw new ResultsError(`${dir}: no summary.csv or requests.csv rows (not a holbench results folder?)`);
  }
  const chunks = readCsv(dir, 'chunks.csv', missing).map(toChunkRow).filter((c) => Number.isFinite(c.t_ms));
  const drops = readCsv(dir, 'drops.csv', missing, true).map(toDropRow).filter((d) => Number.isFinite(d.t_ms));
  const stallsByLoss = readCsv(dir, 'stalls-by-loss.csv', missing, true).map(toStallByLossRow).filter((d) => Number.isFinite(d.t_ms));
  // messages.csv is expected only when the run has messages workloads
  const wantMessages = summary.some((r) => r.workload === 'messages');
  const messages = readCsv(dir, 'messages.csv', missing, !wantMessages).map(toMessageRow).filter((m) => Number.isFinite(m.latency_ms));
  return { dir, name, run, summary, summaryRaw, requests, chunks, drops, stallsByLoss, messages, missing };
}
