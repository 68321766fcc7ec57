// Exact head-of-line delay of gRPC message jobs from a capture (holmsg.ts), on real
// namespaces (helper backend, seeded 2% loss each way, 50 ms RTT): unary echo with up to
// 32 calls in flight over grpc-js h2c (one TCP connection) and over our HTTP/3, and bidi
// echo on one h2c stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captureBase } from './capture.ts';
import { runScenario } from '../testdata/cli.ts';

const PROTOCOLS = ['grpc-unary', 'grpc-h3-unary', 'grpc-bidi'];
const MESSAGES = 300;
const MESSAGE_BYTES = 256;
/** one echo answer on the wire: gRPC prefix (flag + length: 5) + protobuf Msg{data} (tag 1 +
 *  length varint 2 for 256 + the text) */
const GRPC_MESSAGE_BYTES = 5 + 1 + 2 + MESSAGE_BYTES;

const scenario = `name: captmsg
protocols: [${PROTOCOLS.join(', ')}]
workload: {kind: messages, pattern: echo, messages: ${MESSAGES}, interval_ms: 5, message_bytes: ${MESSAGE_BYTES}, window: 32, duration_s: 20}
network: {delay_ms: 25, loss_pct: 2}
repetitions: 1
seed: 7
capture: true
`;

test('capture, messages: gRPC h2c unary waits for other calls (hol_cross_ms > 0), gRPC over HTTP/3 and one bidi stream do not', async () => {
  const r = await runScenario(scenario, { prefix: 'holbench-captmsg-' });
  assert.equal(r.code, 0, r.stderr);
  const { outDir: dir, summary: rows, messages: msgs } = r;
  assert.deepEqual(rows.map((x) => x.protocol).sort(), [...PROTOCOLS].sort());
  const by = Object.fromEntries(rows.map((x) => [x.protocol!, x]));
  const info = async (p: string) => JSON.parse(await readFile(`${captureBase(join(dir, 'capture'), 'base', p, 1)}.json`, 'utf8'));

  for (const p of PROTOCOLS) {
    const row = by[p]!;
    assert.equal(row.status, 'SUCCEEDED', `${p}: ${row.reason}`);
    const i = await info(p);
    assert.deepEqual(i.notes, [], `${p}: ${i.notes}`);
    assert.ok(i.hol, `${p}: the capture was analysed`);
    for (const c of ['hol_self_ms', 'hol_cross_ms', 'hol_cross_ms_per_stream', 'hol_cross_bytes']) assert.notEqual(row[c], '', `${p}: ${c} filled`);
    // every echoed message was found in the capture and matched to its delivery (by seq)
    const received = new Set(msgs.filter((m) => m.protocol === p && m.dup === '0').map((m) => m.seq)).size;
    assert.equal(received, Number(row.msgs_received));
    assert.equal(i.hol.bytes, received * GRPC_MESSAGE_BYTES, `${p}: body bytes = the gRPC messages received`);
    if (Number(row.msgs_lost) === 0) assert.equal(i.hol.undelivered_bytes, 0, `${p}: every response byte has a delivery`);
    // unary: one stream per call; bidi: one stream for all
    assert.equal(i.hol.streams, p === 'grpc-bidi' ? 1 : received, `${p}: streams`);
  }
  // h2c, many calls on one TCP connection: a lost response packet holds the responses of
  // other calls behind it until its retransmission (about one RTT after the loss)
  assert.ok(Number(by['grpc-unary']!.hol_cross_ms) > 0, `grpc-unary hol_cross_ms ${by['grpc-unary']!.hol_cross_ms}`);
  assert.ok(Number(by['grpc-unary']!.hol_cross_bytes) > 0);
  // QUIC delivers each stream on its own: no call waits for another's loss (0 by rule)
  assert.equal(Number(by['grpc-h3-unary']!.hol_cross_ms), 0);
  // one bidi stream: there is no other stream to wait for (0 by construction), and a lost
  // packet makes the stream wait for itself
  assert.equal(Number(by['grpc-bidi']!.hol_cross_ms), 0);
  assert.ok(Number(by['grpc-bidi']!.hol_self_ms) > 0, `grpc-bidi hol_self_ms ${by['grpc-bidi']!.hol_self_ms}`);
  process.stderr.write(`# capture, messages: ${PROTOCOLS.map((p) => `${p} self ${by[p]!.hol_self_ms} cross ${by[p]!.hol_cross_ms} ms, p50 ${by[p]!.msg_p50_ms} p99 ${by[p]!.msg_p99_ms}`).join('; ')}\n`);
});
