// The protocol-neutral recorder: hands out RequestHandles and turns their calls into
// RequestRow/ChunkRow records. Timestamps come from one clock (performance.now()),
// relative to the job's t0.
import type { ChunkRow, RequestHandle, RequestRow } from './records.ts';
import { bytesPath, payloadMismatchAt } from '../servers/payload.ts';

export interface RecorderOptions {
  cell: string;
  protocol: string;
  rep: number;
  /** keep per-chunk rows (page workloads); load runs keep only request rows */
  keepChunks: boolean;
  /** keep per-request rows (off for long load runs; latencies go to histograms) */
  keepRequests?: boolean;
  /** called when a request ends successfully, with its TTLB measured from `start_ms` */
  onDone?: (row: RequestRow) => void;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export class Recorder {
  readonly t0 = performance.now();
  readonly requests: RequestRow[] = [];
  readonly chunks: ChunkRow[] = [];
  private nextId = 0;
  errors = 0;
  bytes = 0;

  constructor(private readonly o: RecorderOptions) {}

  now(): number {
    return performance.now() - this.t0;
  }

  /** Start a request now (or at `startMs`, the intended start, for coordinated-omission correction). */
  begin(path: string, object: number, startMs?: number): RequestHandle {
    const rec = this;
    const o = this.o;
    const row: RequestRow = {
      cell: o.cell, protocol: o.protocol, rep: o.rep, req_id: this.nextId++, object, path,
      conn_id: '', stream_id: '', start_ms: r3(startMs ?? this.now()), ttfb_ms: null, ttlb_ms: null,
      bytes: 0, status: null, error: '',
    };
    if (o.keepRequests !== false) this.requests.push(row);
    let finished = false;
    // a /bytes/<n> body is checked against the deterministic payload (servers/payload.ts):
    // an external server serving other bytes fails the request, not just a counter
    const expected = bytesPath(path);
    let wrong = '';
    return {
      reqId: row.req_id,
      headers(status, ids) {
        row.status = status;
        row.conn_id = ids.connId;
        row.stream_id = String(ids.streamId);
        row.ttfb_ms = r3(rec.now() - row.start_ms);
      },
      data(bytes, chunk) {
        if (expected !== null && !wrong && chunk) {
          const at = payloadMismatchAt(chunk, row.bytes);
          if (at >= 0) wrong = `wrong body: byte ${at} differs from the ${path} payload`;
        }
        row.bytes += bytes;
        rec.bytes += bytes;
        if (o.keepChunks) {
          rec.chunks.push({ cell: o.cell, protocol: o.protocol, rep: o.rep, req_id: row.req_id, conn_id: row.conn_id, stream_id: row.stream_id, t_ms: r3(rec.now()), bytes, cum_bytes: row.bytes });
        }
      },
      end() {
        if (finished) return;
        finished = true;
        row.ttlb_ms = r3(rec.now() - row.start_ms);
        if (row.ttfb_ms === null) row.ttfb_ms = row.ttlb_ms;
        if (row.status !== null && row.status >= 400) {
          row.error = `HTTP ${row.status}`;
          rec.errors++;
        } else if (expected !== null && (wrong || row.bytes !== expected)) {
          row.error = (wrong || `wrong body: ${row.bytes} bytes, ${path} has ${expected}`).slice(0, 200);
          rec.errors++;
        } else o.onDone?.(row);
      },
      fail(err) {
        if (finished) return;
        finished = true;
        row.error = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);
        rec.errors++;
      },
    };
  }
}
