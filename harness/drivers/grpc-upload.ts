// The client side of an Upload call, shared by grpc-client-stream (grpc-js, grpc.ts) and
// grpc-h3-client-stream (our HTTP/3, grpc-h3.ts): what was written, and the check of the
// server's single answer against it. The transports differ; this bookkeeping does not.
import { encodeMessage, nowMs, UploadDigest } from '../../contract/messages.ts';
import type { UploadSummary } from '../../contract/grpc.ts';
import { UploadMismatchError, type MessageEvents } from './messages.ts';

export class UploadLedger {
  /** seq -> the client's send stamp and the message's size */
  private readonly sent = new Map<number, { tMs: number; bytes: number }>();
  private readonly digest = new UploadDigest();

  /** Stamp and encode message `seq` of `bytes` and remember it; returns the data to write. */
  record(seq: number, bytes: number): string {
    const tMs = nowMs();
    const data = encodeMessage(seq, bytes, tMs);
    this.sent.set(seq, { tMs, bytes: data.length });
    this.digest.add(data);
    return data;
  }

  /** The server's answer: onMessage for every message it received that we wrote (with its
   *  arrival time), then UploadMismatchError if its count or checksum differ from ours. */
  settle(protocol: string, res: UploadSummary, events: MessageEvents): void {
    for (let i = 0; i < res.seq.length; i++) {
      const w = this.sent.get(res.seq[i]!);
      if (w) events.onMessage(res.seq[i]!, w.tMs, w.bytes, res.recv_ms[i]);
    }
    const { digest } = this;
    if (res.count !== digest.count || res.checksum !== digest.hex()) {
      throw new UploadMismatchError(`${protocol}: server got ${res.count} messages (checksum ${res.checksum.slice(0, 12)}), client sent ${digest.count} (checksum ${digest.hex().slice(0, 12)})`);
    }
  }
}
