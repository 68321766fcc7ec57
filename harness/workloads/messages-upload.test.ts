// The upload pattern of the messages workload with a scripted driver: messages go out on
// the schedule, the driver's answer becomes one record per message with the server's
// arrival time, a transport failure loses every message, a count/checksum mismatch fails
// the job. (The real drivers: harness/grpc-messages.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UploadMismatchError, type MessageDriver, type MessageEvents } from '../drivers/messages.ts';
import { WorkloadSchema, type MessagesWorkloadT } from '../scenario/schema.ts';
import { runMessages, type MessageRow } from './messages.ts';

const workload = (messages: number) => WorkloadSchema.parse({ kind: 'messages', pattern: 'upload', messages, interval_ms: 1, duration_s: 10 }) as MessagesWorkloadT;

/** A driver that answers the upload with `answer` (seq -> arrival = send + 7 ms) or fails. */
function scripted(answer: 'ok' | 'mismatch' | 'fail'): MessageDriver & { sent: number[] } {
  let ev: MessageEvents;
  const sent: number[] = [];
  const stamps = new Map<number, number>();
  return {
    protocol: 'scripted',
    patterns: ['upload'],
    sent,
    async open(_p, e) {
      ev = e;
    },
    send(seq) {
      sent.push(seq);
      stamps.set(seq, performance.timeOrigin + performance.now());
    },
    async finish() {
      if (answer === 'fail') {
        ev.onDead('error:UNAVAILABLE', 'gone');
        throw new Error('upload failed');
      }
      for (const seq of sent) ev.onMessage(seq, stamps.get(seq)!, 64, stamps.get(seq)! + 7);
      if (answer === 'mismatch') throw new UploadMismatchError('server got 3, client sent 4');
    },
    connectionsOpened: () => 1,
    reconnects: () => 0,
    async close() {},
  };
}

const ids = { cell: 'c', protocol: 'scripted', rep: 1 };

test('upload: every message sent once in order, latency = the server arrival time - the send stamp', async () => {
  const d = scripted('ok');
  const rows: MessageRow[] = [];
  const m = await runMessages(d, workload(20), ids, rows, { requestTimeoutMs: 1000 });
  assert.deepEqual(d.sent, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(m.pattern, 'upload');
  assert.equal(m.sent, 20);
  assert.equal(m.received, 20);
  assert.equal(m.lost, 0);
  assert.equal(rows.length, 20);
  for (const r of rows) assert.equal(r.latency_ms, 7, `seq ${r.seq}`);
  assert.equal(m.latencyMs?.p50, 7);
});

test('upload: a failed call loses every message; a mismatched answer fails the job', async () => {
  const rows: MessageRow[] = [];
  const f = await runMessages(scripted('fail'), workload(5), ids, rows, { requestTimeoutMs: 1000 });
  assert.equal(f.sent, 5);
  assert.equal(f.received, 0);
  assert.equal(f.lost, 5);
  assert.equal(f.dead[0]?.mechanism, 'error:UNAVAILABLE');
  await assert.rejects(runMessages(scripted('mismatch'), workload(4), ids, [], { requestTimeoutMs: 1000 }), UploadMismatchError);
});
