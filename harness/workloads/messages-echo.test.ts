// The echo window of the messages workload with a scripted driver: when the client detects
// its connection dead, every message outstanding on it is settled lost at that moment (a
// row with lost_ms and lost_by = the mechanism) and frees its slot, so the schedule goes
// on after the outage instead of waiting out request_ms; a late reply to a message settled
// lost is not a delivery; an echo the driver cannot send is lost at once; one that is only
// late is lost at request_ms. (Real drivers through namespaces: harness/messages-echo-outage.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageDriver, MessageEvents } from '../drivers/messages.ts';
import { WorkloadSchema, type MessagesWorkloadT } from '../scenario/schema.ts';
import { runMessages, type MessageRow } from './messages.ts';
import { nowMs } from '../../contract/messages.ts';

const workload = (messages: number, window: number) =>
  WorkloadSchema.parse({ kind: 'messages', pattern: 'echo', messages, interval_ms: 5, window, duration_s: 20 }) as MessagesWorkloadT;

type State = 'up' | 'silent' | 'reconnecting';

/** An echo driver whose connection goes silent once `dieAt` was sent: what it sends then
 *  never comes back; after silentMs it reports the dead peer, refuses sends for
 *  reconnectMs ('not-sent'), then echoes again and delivers one late reply from the old
 *  connection. */
function scripted(o: { dieAt: number; silentMs: number; reconnectMs: number }) {
  let ev: MessageEvents;
  let state: State = 'up';
  const sent: number[] = [];
  const stamps = new Map<number, number>();
  const onDeadConn: number[] = [];
  const notSent: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => (timers.delete(t), f()), ms);
    timers.add(t);
  };
  const driver: MessageDriver = {
    protocol: 'scripted',
    patterns: ['echo'],
    async open(_p, e) {
      ev = e;
    },
    send(seq) {
      sent.push(seq);
      stamps.set(seq, nowMs());
      if (state === 'reconnecting') return void ev.onLost(seq, (notSent.push(seq), 'not-sent'));
      if (state === 'silent') return void onDeadConn.push(seq);
      later(2, () => ev.onMessage(seq, stamps.get(seq)!, 64));
      if (seq === o.dieAt) {
        state = 'silent';
        later(o.silentMs, () => {
          state = 'reconnecting';
          ev.onDead('scripted-ping', 'no pong');
          later(o.reconnectMs, () => {
            state = 'up';
            // the old connection's reply to its first lost message, after all
            const q = onDeadConn[0];
            if (q !== undefined) ev.onMessage(q, stamps.get(q)!, 64);
          });
        });
      }
    },
    connectionsOpened: () => 2,
    reconnects: () => 1,
    async close() {
      timers.forEach(clearTimeout);
    },
  };
  return { driver, sent, onDeadConn, notSent };
}

const ids = { cell: 'c', protocol: 'scripted', rep: 1 };

test('echo: a dead connection settles its outstanding messages lost at the detection; the run then sends them all', async () => {
  const n = 60;
  const window = 4;
  const s = scripted({ dieAt: 10, silentMs: 60, reconnectMs: 40 });
  const rows: MessageRow[] = [];
  // request_ms 30 s as the default: the old window waited that long before sending again
  const m = await runMessages(s.driver, workload(n, window), ids, rows, { requestTimeoutMs: 30_000 });
  await s.driver.close();

  // every message attempted, once, in order, well inside duration_s
  assert.deepEqual(s.sent, Array.from({ length: n }, (_, i) => i + 1));
  assert.equal(m.sent, n);
  assert.ok(m.durationS < 10, `the run ended after ${m.durationS} s (not waiting out request_ms)`);
  // the silent connection took at most the window (the messages after dieAt were echoing)
  assert.ok(s.onDeadConn.length >= 1 && s.onDeadConn.length <= window, `on the dead connection: ${s.onDeadConn}`);
  assert.equal(m.dead.length, 1);
  const detectedAt = Math.round((m.dead[0]!.atMs - m.t0Wall) * 1000) / 1000;

  const lostRows = rows.filter((r) => r.lost_by !== '');
  const byDead = lostRows.filter((r) => r.lost_by === 'scripted-ping');
  assert.deepEqual(byDead.map((r) => r.seq).sort((a, b) => a - b), s.onDeadConn, 'exactly the messages outstanding at the detection');
  for (const r of byDead) {
    assert.equal(r.lost_ms, detectedAt, `seq ${r.seq} lost at the detection`);
    assert.ok(r.sent_ms <= r.lost_ms && Number.isNaN(r.recv_ms) && r.bytes === 0, `seq ${r.seq}`);
  }
  const notSent = lostRows.filter((r) => r.lost_by === 'not-sent').map((r) => r.seq);
  assert.deepEqual(notSent, s.notSent, 'a message the driver could not send is lost at once');
  assert.equal(lostRows.length, byDead.length + notSent.length, `nothing else lost: ${JSON.stringify(lostRows.map((r) => [r.seq, r.lost_by]))}`);

  // the late reply from the old connection is not a delivery, nor a duplicate
  assert.equal(m.late, 1);
  assert.equal(m.dup, 0);
  assert.equal(m.lost, lostRows.length);
  assert.equal(m.received, n - lostRows.length);
  // one row per message: delivered or lost, never both
  const perSeq = new Map<number, number>();
  for (const r of rows) perSeq.set(r.seq, (perSeq.get(r.seq) ?? 0) + 1);
  assert.equal(perSeq.size, n);
  assert.ok([...perSeq.values()].every((c) => c === 1), 'no message counted twice');
  // everything sent after the reconnection came back
  const lastLost = Math.max(...lostRows.map((r) => r.seq));
  const after = rows.filter((r) => r.seq > lastLost);
  assert.equal(after.length, n - lastLost);
  assert.ok(after.every((r) => Number.isFinite(r.latency_ms)), 'delivered on the new connection');
});

test('echo: a message only late is lost at request_ms (request-timeout) and frees its slot', async () => {
  let ev: MessageEvents;
  const stamps = new Map<number, number>();
  const driver: MessageDriver = {
    protocol: 'scripted',
    patterns: ['echo'],
    async open(_p, e) {
      ev = e;
    },
    send(seq) {
      stamps.set(seq, nowMs());
      if (seq !== 3) setTimeout(() => ev.onMessage(seq, stamps.get(seq)!, 64), 1);
    },
    connectionsOpened: () => 1,
    reconnects: () => 0,
    async close() {},
  };
  const rows: MessageRow[] = [];
  const m = await runMessages(driver, workload(8, 1), ids, rows, { requestTimeoutMs: 150 });
  assert.equal(m.sent, 8);
  assert.equal(m.received, 7);
  const lost = rows.filter((r) => r.lost_by !== '');
  assert.deepEqual(lost.map((r) => [r.seq, r.lost_by]), [[3, 'request-timeout']]);
  assert.ok(lost[0]!.lost_ms - lost[0]!.sent_ms >= 150, `lost ${lost[0]!.lost_ms - lost[0]!.sent_ms} ms after its send`);
});
