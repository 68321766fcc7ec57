// Client side of the messaging protocols (ws, sse*, longpoll, grpc-* on grpc-js, grpc-h3-*
// on our HTTP/3). One file per transport family, picked in harness/drivers/registry.ts
// (messageDriverFor). Drivers run in the client namespace, in the agent, and never print.
// The message format, push schedule and keepalive settings are in contract/messages.ts.
import type { Keepalive } from '../../contract/messages.ts';
import type { DriverTarget } from './types.ts';

export type MessagePattern = 'echo' | 'push' | 'upload';

export interface MessageDriverOptions {
  target: DriverTarget;
  keepalive: Keepalive;
  /** connect / single request timeout, ms */
  requestTimeoutMs: number;
}

export interface OpenParams {
  pattern: MessagePattern;
  /** unique per job: the server's push schedule and resume state are keyed by it */
  stream: string;
  /** push: messages the server sends (seq 1..count) */
  count: number;
  /** push: spacing of the server's schedule (0 = back to back) */
  intervalMs: number;
  /** size of every message, both directions */
  bytes: number;
  /** after a dead or closed channel, reconnect and resume after the last seq received
   *  (SSE: Last-Event-ID; others: the `after` push parameter) */
  resume: boolean;
}

export interface MessageEvents {
  /** a message arrived: an echo of `send(seq)` or a pushed message; tMs is the sender's
   *  nowMs() stamp inside the message (client's for echo, server's for push). upload: a
   *  message the server reports it received, recvMs = the server's clock at its arrival
   *  (one-way latency = recvMs - tMs; the workload uses its own clock when absent) */
  onMessage(seq: number, tMs: number, bytes: number, recvMs?: number): void;
  /** the client noticed a dead peer/path by `mechanism` ('ws-ping', 'sse-heartbeat',
   *  'grpc-keepalive', 'tcp-keepalive', 'h2-ping', 'error:<code>' ...), before reconnecting */
  onDead(mechanism: string, detail: string): void;
  /** echo: message `seq` will never come back, known before any timeout: it could not be
   *  handed to an open channel ('not-sent': none open, e.g. while reconnecting) or its call
   *  failed ('error:<STATUS>'). The workload settles it lost at once and frees its window
   *  slot (harness/workloads/messages.ts); may be called from inside send(). */
  onLost(seq: number, reason: string): void;
}

export interface MessageDriver {
  readonly protocol: string;
  /** patterns this transport can carry (sse and longpoll: push only; grpc-unary: echo only) */
  readonly patterns: readonly MessagePattern[];
  /** Open the channel and, for push, ask the server to start the schedule. Resolves once
   *  the channel is usable; rejects if the first connection cannot be made. */
  open(p: OpenParams, ev: MessageEvents): Promise<void>;
  /** echo: send message `seq` (the server returns it unchanged); upload: stream it to the
   *  server. Never throws: an echo that cannot be sent now is reported with
   *  onLost(seq, 'not-sent') (the workload counts it lost at once). */
  send(seq: number): void;
  /** upload only: half-close the client stream and resolve once the server's answer came
   *  (onMessage per message it received, before resolving); rejects when the call failed or
   *  the answer does not match what was sent (count, checksum). */
  finish?(): Promise<void>;
  /** distinct transport connections opened so far (reconnects included) */
  connectionsOpened(): number;
  /** reconnections after a dead or closed channel */
  reconnects(): number;
  /** close everything; idempotent; no reconnect afterwards */
  close(): Promise<void>;
}

/** upload: the server's answer does not match what was sent (count or checksum); the job
 *  fails with it (a transport failure instead is a dead peer and lost messages) */
export class UploadMismatchError extends Error {
  override name = 'UploadMismatchError';
}

/** open()'s preconditions: the driver carries `p.pattern`, open() was not called before,
 *  close() was not. Throws an Error naming the protocol (a caller's bug, not a network fault). */
export function checkOpen(protocol: string, patterns: readonly MessagePattern[], p: OpenParams, state: { opened: boolean; closed: boolean }): void {
  if (!patterns.includes(p.pattern)) throw new Error(`${protocol} does not carry ${p.pattern} (only ${patterns.join(', ')})`);
  if (state.opened) throw new Error(`${protocol}: open() called twice`);
  if (state.closed) throw new Error(`${protocol}: driver closed`);
}

export type MessageDriverFactory = (opts: MessageDriverOptions) => Promise<MessageDriver>;

/** Echo messages sent while a resuming driver has no channel (dead, reconnecting): held in
 *  send order and written on the next channel as soon as it is open, as an application's
 *  outbox does. The workload's window bounds how many wait here; one that waits longer than
 *  request_ms is settled lost by the workload (and its late reply ignored). Without resume
 *  there is no next channel: such a message is onLost('not-sent') at once. */
export class HeldSends {
  private held: number[] = [];
  hold(seq: number): void {
    this.held.push(seq);
  }
  /** hand every held seq to `send` (on the new channel), in order */
  flush(send: (seq: number) => void): void {
    for (const seq of this.held.splice(0)) send(seq);
  }
  get size(): number {
    return this.held.length;
  }
}
