// The h2 server's response writer for one session: response bodies go out one write at a
// time, in the order servers/scheduler.ts decides, so node:http2 (nghttp2, which would
// interleave every stream with data in 16 KB frames by its own RFC 7540 weights) only ever
// holds data of one stream. A write is one turn of TURN_BYTES for an incremental response, up
// to one 16 KB DATA frame for a response that keeps its turn (up to four such writes in
// flight); another stream's turn starts when the write callbacks say node handed all of the
// previous stream's writes to the socket. The response's HEADERS go out with its
// first turn (as on h3, where they are the first bytes of the stream's data).
//
// Wire order is write order: the kernel's send buffer keeps the order of the writes, so a
// later, more urgent response cannot overtake what is already in it (as on any TCP server
// without TCP_NOTSENT_LOWAT; node cannot set it).
import type { Http2ServerResponse } from 'node:http2';
import { WriteScheduler, type Priority } from './scheduler.ts';

/** The priority of a response from its request's Priority header and the last
 *  PRIORITY_UPDATE for its stream (null if none): priorityFor() under the current discipline. */
export type PriorityOf = (header: string | undefined, update: string | null) => Priority;

/** PRIORITY_UPDATE frames kept for streams not open yet (as on h3). */
const MAX_EARLY_UPDATES = 256;

/** Room an incremental response's first turn leaves for its HEADERS frame, which node sends in
 *  the same TLS record as the turn's DATA. A 1400-byte turn after a HEADERS frame made a
 *  1451-byte record, 3 bytes over a 1448-byte TCP segment, so every response's first turn
 *  cost two packets (1448 + 3) while the cwnd was small: about half the first flight's bytes.
 *  A HEADERS frame here is 9 + 11 bytes once HPACK's table holds the fields, ~70 before:
 *  96 keeps HEADERS + DATA + TLS overhead (22) within one segment. */
export const HEADERS_ROOM_BYTES = 96;

/** Largest write for a response that keeps its turn: one default-size (16 KB) DATA frame. */
const RUN_BYTES = 16384;
/** Bytes of one such response that may be in flight in node at once (a more urgent response
 *  waits at most this long behind it); incremental responses write one turn at a time. */
const PIPELINE_BYTES = 4 * RUN_BYTES;

interface Body {
  res: Http2ServerResponse;
  /** the request's Priority header */
  header: string | undefined;
  /** writes the response's HEADERS (called once, at the first turn) */
  head: () => void;
  started: boolean;
  chunks: Iterator<Buffer>;
  /** what is left of the chunk being written; null once the source is exhausted */
  cur: Buffer | null;
}

export class H2SessionWriter {
  private readonly sched = new WriteScheduler();
  private readonly bodies = new Map<number, Body>();
  /** the stream whose writes are in flight, and how many bytes */
  private writing: number | null = null;
  private inFlight = 0;
  private pending = false;
  /** PRIORITY_UPDATE values for streams whose request has not arrived yet */
  private readonly early = new Map<number, string>();
  private maxId = 0;

  constructor(private readonly priorityOf: PriorityOf) {}

  /** Queue the response body of stream `id`; `header` is its request's Priority header. */
  add(id: number, res: Http2ServerResponse, header: string | undefined, head: () => void, chunks: Iterable<Buffer>): void {
    const it = chunks[Symbol.iterator]();
    const first = it.next();
    this.maxId = Math.max(this.maxId, id);
    const update = this.early.get(id) ?? null;
    this.early.delete(id);
    this.bodies.set(id, { res, header, head, started: false, chunks: it, cur: first.done ? null : first.value });
    this.sched.add(id, this.priorityOf(header, update));
    // a reset stream or a closed session never calls the write back
    res.once('close', () => this.drop(id));
    this.kick();
  }

  /** The client's PRIORITY_UPDATE for stream `id` (RFC 9218 7.1): applies at once to a
   *  response being written, is kept for a request not arrived yet (the frame may come first),
   *  and is ignored for one already answered. */
  priorityUpdate(id: number, value: string): void {
    const b = this.bodies.get(id);
    if (b) {
      this.sched.setPriority(id, this.priorityOf(b.header, value));
      return this.kick();
    }
    if (id <= this.maxId) return;
    if (this.early.size >= MAX_EARLY_UPDATES && !this.early.has(id)) return;
    this.early.set(id, value);
  }

  /** responses queued or being written */
  get size(): number {
    return this.bodies.size;
  }

  private drop(id: number): void {
    this.bodies.delete(id);
    this.sched.remove(id);
    if (this.writing === id) {
      this.writing = null;
      this.inFlight = 0;
    }
    this.kick();
  }

  private kick(): void {
    if (this.pending || this.writing !== null || this.bodies.size === 0) return;
    this.pending = true;
    // On the next turn of the event loop: node's own pending frame writes (scheduled as
    // immediates, like the END_STREAM of the response just finished) go first.
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.pending = false;
    for (let guard = 0; guard < 64; guard++) {
      const id = this.sched.next();
      if (id === null) return;
      // Another stream's turn starts only once node handed all of this one's writes to the
      // socket; a response that keeps its turn may have up to PIPELINE_BYTES in flight.
      if (this.writing !== null && (id !== this.writing || this.inFlight >= PIPELINE_BYTES || this.sched.allowance(id) !== Infinity)) return;
      const b = this.bodies.get(id)!;
      if (b.res.stream.destroyed) return this.drop(id);
      if (!b.started) {
        b.started = true;
        b.head();
        // the HEADERS frame shares the first turn (and its packet) with the first DATA
        this.sched.charge(id, HEADERS_ROOM_BYTES);
      }
      const { data, last } = this.take(b, Math.min(this.sched.allowance(id), RUN_BYTES));
      this.writing = id;
      this.inFlight += data.length;
      const done = () => {
        if (this.writing !== id) return; // dropped meanwhile
        this.inFlight -= data.length;
        this.sched.charge(id, data.length);
        if (last) return this.drop(id); // kicks: the next turn waits for node's END_STREAM frame
        if (this.inFlight === 0) this.writing = null;
        this.turn(); // already asynchronous (a write callback): no need to wait a loop turn
      };
      if (last) {
        b.res.end(data, done);
        return;
      }
      b.res.write(data, done);
    }
  };

  /** Up to `budget` bytes of `b`, and whether they are its last. */
  private take(b: Body, budget: number): { data: Buffer; last: boolean } {
    const parts: Buffer[] = [];
    let n = 0;
    while (b.cur && n < budget) {
      const piece = b.cur.subarray(0, budget - n);
      parts.push(piece);
      n += piece.length;
      b.cur = b.cur.subarray(piece.length);
      if (b.cur.length === 0) {
        const r = b.chunks.next();
        b.cur = r.done ? null : r.value;
      }
    }
    return { data: parts.length === 1 ? parts[0]! : Buffer.concat(parts), last: b.cur === null };
  }
}
