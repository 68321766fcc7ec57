// Console progress for a run: a one-line bar with ETA on a TTY, plain lines otherwise.
import type { SummaryRow } from './summary.ts';
import type { RunEvent } from './runner.ts';
import { safeText } from './safetext.ts';

export function progressPrinter(opts: { quiet: boolean; json: boolean; stream?: NodeJS.WriteStream }) {
  const out = opts.stream ?? process.stderr;
  const tty = Boolean(out.isTTY) && !opts.json;
  let started = 0;
  let lastLine = '';
  const fmt = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);
  const clear = () => tty && lastLine && out.write('\r\x1b[K');
  return (e: RunEvent) => {
    if (opts.quiet) return;
    if (e.type === 'plan') {
      started = Date.now();
      out.write(`plan: ${e.cells} cell(s) x ${e.protocols.length} protocol(s) [${e.protocols.join(', ')}] x ${e.repetitions} rep(s) = ${e.jobs} jobs; backend ${e.backend}\nresults: ${safeText(e.outDir)}\n`);
    } else if (e.type === 'phase') {
      clear();
      out.write(`${safeText(e.message)}\n`);
      if (tty && lastLine) out.write(lastLine);
    } else if (e.type === 'job-start') {
      const done = e.index - 1;
      const el = (Date.now() - started) / 1000;
      const eta = done ? fmt((el / done) * (e.jobs - done)) : '?';
      const width = 24;
      const fill = Math.round((done / e.jobs) * width);
      const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${e.jobs} ETA ${eta}  ${e.protocol} ${e.cell} rep ${e.rep}`;
      if (tty) {
        clear();
        out.write(line);
        lastLine = line;
      }
    } else if (e.type === 'job-end') {
      const r = e.row;
      const what = r.status !== 'SUCCEEDED' ? `${r.status}: ${safeText(r.reason)}` : jobLine(r);
      clear();
      lastLine = '';
      out.write(`${String(e.index).padStart(String(e.jobs).length)}/${e.jobs} ${r.protocol.padEnd(9)} ${r.cell} rep ${r.rep}: ${what}\n`);
    }
  };
}

/** One job's outcome in a line, by workload. */
export function jobLine(r: SummaryRow): string {
  if (r.workload === 'page') return `page ${r.page_ms} ms, ${r.connections_used} conn, co-stall ${r.co_stall_index === null ? '-' : r.co_stall_index.toFixed(2)}, HoL ${r.hol_stall_index === null ? '-' : r.hol_stall_index.toFixed(2)}`;
  if (r.workload === 'load') return `p50 ${r.p50_ms} ms p99 ${r.p99_ms} ms, ${r.requests} req`;
  const parts = [`${r.msgs_received}/${r.msgs_sent} msgs`, `p50 ${r.msg_p50_ms} ms p99 ${r.msg_p99_ms} ms`, `${r.wire_bytes_per_msg} B/msg on the wire`, `${r.connections_used} conn`];
  if (r.msgs_lost || r.msgs_dup) parts.push(`lost ${r.msgs_lost} dup ${r.msgs_dup}`);
  if (r.detect_ms_client !== null || r.detect_ms_server !== null || r.detect_mech_client || r.detect_mech_server) {
    const d = (ms: number | null, mech: string) => (ms === null ? 'not detected' : `${ms} ms (${mech})`);
    parts.push(`detect client ${d(r.detect_ms_client, r.detect_mech_client)}, server ${d(r.detect_ms_server, r.detect_mech_server)}`);
  }
  return parts.join(', ');
}
