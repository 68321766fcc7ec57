// The wire tally over replaced connections: a connection forgotten after GOAWAY keeps counting
// while it drains, and a freed one keeps its last counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { H3Client } from '../../h3/client.ts';
import { QuicWireTally } from './quic-wire.ts';

function fake() {
  const st = { recvBytes: 0, sentBytes: 0, freed: false };
  const c = { conn: { raw: { stats: () => { if (st.freed) throw new Error('freed'); return { recvBytes: st.recvBytes, sentBytes: st.sentBytes }; } } } } as unknown as H3Client;
  return { c, st };
}

test('every connection added counts: the draining one as it grows, a freed one at its last counters', () => {
  const t = new QuicWireTally();
  const a = fake();
  const b = fake();
  t.add(a.c);
  a.st.recvBytes = 1000;
  a.st.sentBytes = 100;
  assert.deepEqual(t.total(), { read: 1000, written: 100 });
  // GOAWAY: a new connection is dialled while `a` still finishes its streams
  t.add(b.c);
  t.add(b.c); // twice: counted once
  a.st.recvBytes = 1500;
  b.st.recvBytes = 200;
  b.st.sentBytes = 50;
  assert.deepEqual(t.total(), { read: 1700, written: 150 });
  a.st.freed = true;
  assert.deepEqual(t.total(), { read: 1700, written: 150 }, 'freed: its last counters stay');
});
