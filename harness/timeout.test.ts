// withTimeout: the work's outcome when it settles first, the caller's message (after
// onTimeout) when the bound passes first. No timing precision is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTimeout } from './timeout.ts';

test('work that settles first: its value or its error, onTimeout never called', async () => {
  let cancelled = 0;
  assert.equal(await withTimeout(Promise.resolve(42), 60_000, 'late', () => cancelled++), 42);
  await assert.rejects(withTimeout(Promise.reject(new Error('refused')), 60_000, 'late', () => cancelled++), /^Error: refused$/);
  assert.equal(cancelled, 0);
});

test('work that never settles: rejects with the message, after onTimeout ran once', async () => {
  let cancelled = 0;
  const never = new Promise<number>(() => {});
  await assert.rejects(withTimeout(never, 10, 'x: not open within 10 ms', () => cancelled++), { message: 'x: not open within 10 ms' });
  assert.equal(cancelled, 1);
});

test('work that settles after the bound: the rejection stands, the late error is not unhandled', async () => {
  let fail!: (e: Error) => void;
  const late = new Promise<number>((_, rej) => (fail = rej));
  await assert.rejects(withTimeout(late, 10, 'timed out'), { message: 'timed out' });
  fail(new Error('late failure'));
  await new Promise((r) => setImmediate(r)); // an unhandled rejection would fail the test file
});
