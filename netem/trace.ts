// Packet-delivery traces in Mahimahi's format: one line per delivery opportunity of up to
// 1500 bytes, a whole number of milliseconds since the trace start, non-decreasing; the
// trace loops with period = its last timestamp (so the last line must be > 0). Several
// equal lines = several opportunities in that millisecond. Mahimahi's own traces (e.g.
// Verizon-LTE-driving.down) load as they are.
//
// Checked here at scenario load (errors name the file and the line, nothing is applied) and
// again by the helper when it loads the file (netem/helper/impair.c trace_load).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shipped synthetic traces (see netem/traces/README.md). */
export const TRACES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'traces');
/** Bytes one opportunity carries. */
export const TRACE_OPPORTUNITY_BYTES = 1500;
/** Lines a trace may have (the helper's cap too): 16 M, e.g. 4.6 h at 12 Mbit/s. */
export const MAX_TRACE_LINES = 1 << 24;
/** Largest timestamp, ms (the helper's cap): ~46 days. */
export const MAX_TRACE_MS = 4_000_000_000;
/** Largest trace file read, bytes. */
export const MAX_TRACE_BYTES = 256 << 20;

export class TraceError extends Error {
  readonly code = 'HOLBENCH_BAD_TRACE';
}

/** What a profile keeps of a trace (provenance for run.json; the helper reads `file`). */
export interface Trace {
  /** as written in the scenario */
  name: string;
  /** absolute path */
  file: string;
  sha256: string;
  /** delivery opportunities per period */
  lines: number;
  /** loop period = last timestamp, ms */
  periodMs: number;
  /** lines x 1500 B x 8 / period */
  meanRateBps: number;
}

/** Where a trace named `spec` is: absolute as given; else relative to `baseDir` (the
 *  scenario's folder) if that file exists; else in netem/traces/. */
export function resolveTracePath(spec: string, baseDir?: string): string {
  if (isAbsolute(spec)) return spec;
  if (baseDir) {
    const p = resolve(baseDir, spec);
    if (existsSync(p)) return p;
  }
  const shipped = join(TRACES_DIR, spec);
  if (existsSync(shipped)) return shipped;
  return baseDir ? resolve(baseDir, spec) : resolve(spec);
}

/** Parse trace text; throws TraceError naming `file` and the 1-based line. */
export function parseTraceText(text: string, file: string): number[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop(); // the final newline
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const where = `trace ${file} line ${i + 1}`;
    if (!/^\d{1,10}$/.test(raw)) throw new TraceError(`${where}: expected a whole number of milliseconds, got ${JSON.stringify(raw.slice(0, 20))}`);
    const v = Number(raw);
    if (v > MAX_TRACE_MS) throw new TraceError(`${where}: ${v} ms is beyond ${MAX_TRACE_MS} ms`);
    if (out.length && v < out[out.length - 1]!) throw new TraceError(`${where}: ${v} ms is earlier than the line before (${out[out.length - 1]} ms); timestamps must not decrease`);
    if (out.length >= MAX_TRACE_LINES) throw new TraceError(`${where}: more than ${MAX_TRACE_LINES} lines`);
    out.push(v);
  }
  if (!out.length) throw new TraceError(`trace ${file} line 1: the trace is empty (one line per 1500-byte delivery opportunity, in ms)`);
  if (out[out.length - 1] === 0) throw new TraceError(`trace ${file} line ${out.length}: the last timestamp must be > 0 ms (it is the period the trace loops with)`);
  return out;
}

/** Read and check a trace file; throws TraceError naming the file (and line). */
export function readTraceFile(file: string): number[] {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new TraceError(`trace ${file}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof TraceError) throw e;
    throw new TraceError(`trace ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a path relative to the scenario file, an absolute path, or a file name in ${TRACES_DIR}`);
  }
  if (size > MAX_TRACE_BYTES) throw new TraceError(`trace ${file}: larger than ${MAX_TRACE_BYTES} bytes`);
  return parseTraceText(readFileSync(file, 'utf8'), file);
}

const cache = new Map<string, { mtimeMs: number; trace: Trace }>();

/** Resolve, read and summarize a trace (cached per file and modification time). */
export function loadTrace(spec: string, baseDir?: string): Trace {
  const file = resolveTracePath(spec, baseDir);
  const mtimeMs = existsSync(file) ? statSync(file).mtimeMs : -1;
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return { ...hit.trace, name: spec };
  const ms = readTraceFile(file);
  const periodMs = ms[ms.length - 1]!;
  const trace: Trace = {
    name: spec,
    file,
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
    lines: ms.length,
    periodMs,
    meanRateBps: (ms.length * TRACE_OPPORTUNITY_BYTES * 8 * 1000) / periodMs,
  };
  cache.set(file, { mtimeMs, trace });
  return trace;
}

/** The rate a looping trace offers between fromMs and toMs after its start, bit/s
 *  (opportunities in [fromMs, toMs) x 1500 B). */
export function traceRateBps(ms: readonly number[], fromMs: number, toMs: number): number {
  const period = ms[ms.length - 1]!;
  let n = 0;
  // from the cycle before: its last line (= period) falls on the next cycle's start
  for (let cyc = Math.max(0, Math.floor(fromMs / period) - 1); cyc * period < toMs; cyc++) {
    for (const t of ms) {
      const at = cyc * period + t;
      if (at >= fromMs && at < toMs) n++;
    }
  }
  return (n * TRACE_OPPORTUNITY_BYTES * 8 * 1000) / (toMs - fromMs);
}
