// Delivery times of a gRPC stream's body bytes from the driver's message rows (holmsg.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage } from '../../contract/messages.ts';
import { messageDeliveries, seqOfGrpcMessage } from './holmsg.ts';

/** one gRPC message on the wire: flag, length, protobuf Msg{data} (field 1, length-delimited) */
function grpcMessage(seq: number, bytes: number): Buffer {
  const text = Buffer.from(encodeMessage(seq, bytes, 1000));
  const len = text.length < 128 ? Buffer.from([text.length]) : Buffer.from([(text.length & 0x7f) | 0x80, text.length >> 7]);
  const pb = Buffer.concat([Buffer.from([0x0a]), len, text]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(pb.length, 1);
  return Buffer.concat([head, pb]);
}

test('holmsg: each gRPC message of a stream is delivered when the driver reported its seq', () => {
  const a = grpcMessage(7, 256);
  const b = grpcMessage(8, 40);
  assert.equal(seqOfGrpcMessage(a.subarray(5)), 7);
  const d = messageDeliveries(Buffer.concat([a, b]), new Map([[7, 500], [8, 650]]));
  assert.equal(d.length, a.length + b.length);
  assert.ok(d.subarray(0, a.length).every((t) => t === 500));
  assert.ok(d.subarray(a.length).every((t) => t === 650));
  // a seq the driver never reported: its bytes have no delivery (counted as undelivered)
  const lost = messageDeliveries(b, new Map());
  assert.ok(lost.every((t) => t === Infinity));
});

test('holmsg: a stream that is not a gRPC echo/push stream is refused with the reason', () => {
  const sse = Buffer.from('\0\0\0\0\x10data: 1 2 xxxxxx\n\n');
  assert.throws(() => messageDeliveries(sse, new Map()), /not a gRPC echo\/push stream/);
});
