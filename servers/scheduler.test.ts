// The write scheduler both multiplexing servers use (servers/scheduler.ts): RFC 9218 order as
// quiche applies it, the disciplines' priorities, and the Priority field parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRIORITY, formatPriority, parsePriority, priorityFor, SCHEDULINGS, TURN_BYTES, WriteScheduler, type Priority } from './scheduler.ts';

/** Drive a scheduler like a server: every stream has `bytes` to write; returns the sequence
 *  of (stream, bytes) writes until all are done. */
function drain(s: WriteScheduler, bytes: Map<number, number>): [number, number][] {
  const out: [number, number][] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const id = s.next();
    if (id === null) return out;
    const n = Math.min(bytes.get(id)!, s.allowance(id), 10_000);
    out.push([id, n]);
    s.charge(id, n);
    bytes.set(id, bytes.get(id)! - n);
    if (bytes.get(id) === 0) s.remove(id);
  }
  throw new Error('scheduler did not finish');
}

/** The order in which streams finished. */
const finishOrder = (writes: [number, number][], bytes: number) => {
  const sum = new Map<number, number>();
  const done: number[] = [];
  for (const [id, n] of writes) {
    sum.set(id, (sum.get(id) ?? 0) + n);
    if (sum.get(id) === bytes) done.push(id);
  }
  return done;
};

test('sequential: one response at a time, in stream order, whatever the order they were added', () => {
  const s = new WriteScheduler();
  const ids = [8, 0, 12, 4];
  for (const id of ids) s.add(id, priorityFor('sequential', 'u=0, i', 'u=1'));
  const writes = drain(s, new Map(ids.map((id) => [id, 25_000])));
  // each stream writes until done before the next starts
  const runs = writes.map(([id]) => id).filter((id, i, a) => i === 0 || a[i - 1] !== id);
  assert.deepEqual(runs, [0, 4, 8, 12]);
});

test('round-robin: every stream gets one turn of TURN_BYTES in rotation; equal bodies finish in one last round', () => {
  const s = new WriteScheduler();
  const n = 5;
  const size = 10 * TURN_BYTES + 300;
  for (let i = 0; i < n; i++) s.add(4 * i, priorityFor('round-robin', undefined, null));
  const writes = drain(s, new Map(Array.from({ length: n }, (_, i) => [4 * i, size])));
  // no write is bigger than a turn, and the streams strictly rotate
  assert.ok(writes.every(([, b]) => b <= TURN_BYTES));
  for (let i = n; i < writes.length; i++) assert.equal(writes[i]![0], writes[i - n]![0], `rotation broken at write ${i}`);
  // every stream finishes within the last n writes
  const lastWrite = new Map(writes.map(([id], i) => [id, i]));
  assert.ok([...lastWrite.values()].every((i) => i >= writes.length - n), JSON.stringify([...lastWrite]));
});

test('browser: urgency first, then non-incremental by stream id, then incremental in rotation', () => {
  const s = new WriteScheduler();
  const pr = (header: string) => priorityFor('browser', header, null);
  s.add(0, pr('u=0, i')); // document
  s.add(4, pr('i')); // image
  s.add(8, pr('u=1')); // script
  s.add(12, pr('i')); // image
  s.add(16, pr('u=3')); // non-incremental at the images' urgency
  s.add(20, pr('u=0')); // stylesheet
  const size = 3 * TURN_BYTES;
  const writes = drain(s, new Map([0, 4, 8, 12, 16, 20].map((id) => [id, size])));
  const order = finishOrder(writes, size);
  // urgency 0: the non-incremental stylesheet goes before the incremental document
  assert.deepEqual(order.slice(0, 4), [20, 0, 8, 16]);
  // the two images share the rest turn by turn
  const images = writes.filter(([id]) => id === 4 || id === 12).map(([id]) => id);
  assert.deepEqual(images, [4, 12, 4, 12, 4, 12]);
});

test('a reprioritized response (PRIORITY_UPDATE) moves at once; an update overrides the header', () => {
  const s = new WriteScheduler();
  for (const id of [0, 4, 8]) s.add(id, priorityFor('browser', undefined, null));
  assert.equal(s.next(), 0);
  s.setPriority(8, priorityFor('browser', 'u=3', 'u=0'));
  assert.equal(s.next(), 8);
  assert.deepEqual(s.priorityOf(8), { urgency: 0, incremental: false });
  // the disciplines that ignore the client ignore an update too
  assert.deepEqual(priorityFor('sequential', 'u=0', 'u=0, i'), { urgency: 3, incremental: false });
  assert.deepEqual(priorityFor('round-robin', 'u=7', 'u=0'), { urgency: 3, incremental: true });
  // skip() excludes streams that cannot write now (work-conserving)
  assert.equal(s.next((id) => id === 8), 0);
  assert.equal(s.next(() => true), null);
});

test('Priority field values: RFC 9218 members, defaults, and what is ignored', () => {
  const cases: [string | undefined, Priority][] = [
    [undefined, DEFAULT_PRIORITY],
    ['', DEFAULT_PRIORITY],
    ['u=0, i', { urgency: 0, incremental: true }],
    ['i', { urgency: 3, incremental: true }],
    ['u=5', { urgency: 5, incremental: false }],
    ['i=?0, u=1', { urgency: 1, incremental: false }],
    ['i=?1', { urgency: 3, incremental: true }],
    ['u=9', DEFAULT_PRIORITY], // out of range: ignored
    ['u=-1, i=maybe', DEFAULT_PRIORITY],
    ['u=2;foo=bar, x=1, i', { urgency: 2, incremental: true }], // parameters and unknown members ignored
  ];
  for (const [v, want] of cases) assert.deepEqual(parsePriority(v), want, String(v));
  // Chromium's serialization omits defaults
  assert.equal(formatPriority({ urgency: 0, incremental: true }), 'u=0, i');
  assert.equal(formatPriority({ urgency: 3, incremental: true }), 'i');
  assert.equal(formatPriority(DEFAULT_PRIORITY), '');
  assert.deepEqual([...SCHEDULINGS], ['sequential', 'round-robin', 'browser']);
});
