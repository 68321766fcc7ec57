// The h2 response writer's turns, with a stand-in response that records writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Http2ServerResponse } from 'node:http2';
import { EventEmitter } from 'node:events';
import { H2SessionWriter, HEADERS_ROOM_BYTES } from './h2-writer.ts';
import { TURN_BYTES } from './scheduler.ts';

/** TLS 1.3 record overhead (5-byte header, content type, 16-byte tag) and frame headers */
const TLS_RECORD_OVERHEAD = 22;
const FRAME_HEADER = 9;
/** one TCP segment on a 1500-byte path with timestamps */
const MSS = 1448;

function fakeResponse(log: { id: number; kind: 'head' | 'data'; bytes: number }[], id: number) {
  const res = new EventEmitter() as EventEmitter & { stream: { destroyed: boolean }; write: Function; end: Function };
  res.stream = { destroyed: false };
  res.write = (d: Buffer, cb: () => void) => (log.push({ id, kind: 'data', bytes: d.length }), setImmediate(cb), true);
  res.end = (d: Buffer, cb: () => void) => (log.push({ id, kind: 'data', bytes: d.length }), setImmediate(cb), res);
  return res as unknown as Http2ServerResponse;
}

test('incremental responses: the first turn leaves room for the HEADERS, so HEADERS + DATA fit one TCP segment; later turns are whole', async () => {
  const log: { id: number; kind: 'head' | 'data'; bytes: number }[] = [];
  const w = new H2SessionWriter(() => ({ urgency: 3, incremental: true }));
  const SIZE = 5000;
  const ids = [1, 3, 5];
  for (const id of ids) w.add(id, fakeResponse(log, id), undefined, () => log.push({ id, kind: 'head', bytes: 0 }), [Buffer.alloc(SIZE)]);
  for (let i = 0; i < 200 && w.size > 0; i++) await new Promise((r) => setImmediate(r));
  assert.equal(w.size, 0, 'every response written');
  for (const id of ids) {
    const mine = log.filter((e) => e.id === id);
    assert.equal(mine[0]!.kind, 'head', `${id}: HEADERS first`);
    const data = mine.filter((e) => e.kind === 'data').map((e) => e.bytes);
    assert.equal(data.reduce((a, b) => a + b, 0), SIZE, `${id}: all bytes`);
    assert.equal(data[0], TURN_BYTES - HEADERS_ROOM_BYTES, `${id}: first turn`);
    // a HEADERS frame of up to HEADERS_ROOM_BYTES - 9 bytes of field block still fits
    assert.ok(TLS_RECORD_OVERHEAD + HEADERS_ROOM_BYTES + FRAME_HEADER + data[0]! <= MSS);
    for (const b of data.slice(1, -1)) assert.equal(b, TURN_BYTES, `${id}: later turns are whole`);
    assert.ok(TLS_RECORD_OVERHEAD + FRAME_HEADER + TURN_BYTES <= MSS, 'a later turn fits one segment too');
  }
  // round-robin: the first data write of each response comes before any response's second
  const firsts = ids.map((id) => log.findIndex((e) => e.id === id && e.kind === 'data'));
  const seconds = ids.map((id) => log.filter((e) => e.kind === 'data').length && log.findIndex((e, i) => e.id === id && e.kind === 'data' && i > firsts[ids.indexOf(id)]!));
  assert.ok(Math.max(...firsts) < Math.min(...seconds), `rotation: ${JSON.stringify(log.filter((e) => e.kind === 'data').map((e) => e.id))}`);
});
