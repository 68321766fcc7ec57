// The pieces that map Chromium's requests to transport streams (hol-chromium.ts) and open the
// server's QUIC packets (quic1rtt.ts), on hand-made inputs: object names from paths, tshark's
// field lines (as tshark 4.0 prints them) aligned per frame, and 1-RTT packets sealed here by
// RFC 9001's rules (header protection, packet number recovery, coalesced long headers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { objectOf, parseSent, h3RequestPath } from './hol-chromium.ts';
import { ServerPackets, streamFrames } from './quic1rtt.ts';
import { hkdfExpandLabel } from './tls13.ts';
import { encodeFieldSection } from '../../h3/qpack.ts';

test('objectOf: ?o=<i> and ?o=html name page objects; warm pages\' ?w= none', () => {
  assert.equal(objectOf('/bytes/20000?o=3'), 3);
  assert.equal(objectOf('/bytes/5000?o=html'), -1);
  assert.equal(objectOf('/bytes/20000?w=0.1'), null);
  assert.equal(objectOf('/bytes/20000'), null);
});

test('parseSent: HEADERS frames keyed by stream id among other frames; HTTP/1.1 requests by order', () => {
  // tshark lines: tcp.srcport, http2.type, http2.streamid, http2.headers.path, http.request.uri
  const { byPort, h2Ports } = parseSent([
    '53562\t4;1\t0;1\t/bytes/20000?o=0\t',
    '53562\t1;8;1\t3;0;5\t/bytes/20000?o=2;/bytes/20000?o=1\t',
    '46078\t\t\t\t/bytes/20000?o=0',
    '46078\t\t\t\t/bytes/20000?o=3',
  ]);
  assert.deepEqual(byPort.get(53562), [{ key: '1', path: '/bytes/20000?o=0' }, { key: '3', path: '/bytes/20000?o=2' }, { key: '5', path: '/bytes/20000?o=1' }]);
  assert.deepEqual(byPort.get(46078), [{ key: '0', path: '/bytes/20000?o=0' }, { key: '1', path: '/bytes/20000?o=3' }]);
  assert.deepEqual([...h2Ports], [53562]);
  assert.throws(() => parseSent(['1\t1;1\t1;3\t/a?o=1\t']), /2 HEADERS frames and 1 :path/);
});

test('h3RequestPath: :path of a request stream\'s HEADERS (QPACK, static table and literals)', () => {
  const fs = encodeFieldSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'x:1'], [':path', '/bytes/20000?o=7']]);
  const frame = Buffer.concat([Buffer.from([0x01, fs.length]), fs]);
  assert.equal(h3RequestPath(frame), '/bytes/20000?o=7');
  assert.equal(h3RequestPath(Buffer.from([0x00, 0x01, 0x41])), null, 'a DATA frame first: no request');
});

const SECRET = Buffer.alloc(32, 7);
const hk = (label: string, n: number) => hkdfExpandLabel('sha256', SECRET, label, n);

/** A server 1-RTT packet to a zero-length connection id, sealed with AES-128-GCM (RFC 9001 5.3, 5.4). */
function seal(pn: number, pnLen: number, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(1 + pnLen);
  hdr[0] = 0x40 | (pnLen - 1);
  for (let i = 0; i < pnLen; i++) hdr[1 + i] = (pn >> (8 * (pnLen - 1 - i))) & 0xff;
  const nonce = hk('quic iv', 12);
  const pnb = Buffer.alloc(8);
  pnb.writeBigUInt64BE(BigInt(pn));
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= pnb[i]!;
  const c = createCipheriv('aes-128-gcm', hk('quic key', 16), nonce);
  c.setAAD(hdr);
  const pkt = Buffer.concat([hdr, c.update(payload), c.final(), c.getAuthTag()]);
  const mask = createCipheriv('aes-128-ecb', hk('quic hp', 16), null).update(pkt.subarray(1 + 4, 1 + 20));
  pkt[0]! ^= mask[0]! & 0x1f;
  for (let i = 0; i < pnLen; i++) pkt[1 + i]! ^= mask[1 + i]!;
  return pkt;
}

// ACK (largest 5, delay 0, 0 ranges, first 1), STREAM id 4 off 0 len 3 "abc", PADDING
const PAYLOAD = Buffer.concat([Buffer.from([0x02, 5, 0, 0, 1]), Buffer.from([0x0e, 4, 0, 3]), Buffer.from('abc'), Buffer.alloc(20)]);

test('ServerPackets: 1-RTT packets opened, coalesced long headers and zero padding skipped, packet numbers recovered', () => {
  const sp = new ServerPackets(0x1301, SECRET);
  // an Initial (version 1, DCID 0, SCID 2, token 0, length 4) coalesced before a 1-RTT packet
  const initial = Buffer.from([0xc0, 0, 0, 0, 1, 0, 2, 0xaa, 0xbb, 0, 4, 1, 2, 3, 4]);
  const f1 = sp.datagram(Buffer.concat([initial, seal(0, 1, PAYLOAD)]), 10);
  assert.deepEqual(f1.map((f) => [f.t, f.id, f.off, f.data.toString()]), [[10, 4, 0, 'abc']]);
  // a datagram of long headers and zero padding: nothing, no failure
  assert.deepEqual(sp.datagram(Buffer.concat([initial, Buffer.alloc(40)]), 11), []);
  // packet numbers past 255 sent with 1 byte: recovered from the largest one seen
  for (let pn = 1; pn <= 300; pn++) assert.equal(sp.datagram(seal(pn, 1, PAYLOAD), 12).length, 1, `pn ${pn}`);
  assert.equal(sp.failed, 0);
  const bad = seal(301, 2, PAYLOAD);
  bad[bad.length - 1]! ^= 1;
  assert.deepEqual(sp.datagram(bad, 13), []);
  assert.deepEqual([sp.failed, sp.trailing], [0, 1], 'the last packet so far: trailing (sent after the client left?)');
  assert.equal(sp.datagram(seal(302, 2, PAYLOAD), 14).length, 1);
  assert.deepEqual([sp.failed, sp.trailing], [1, 0], 'a later packet opened: the bad one was in the middle of the connection, counted as failed');
});

test('streamFrames: every frame type walked; an unknown one is an error', () => {
  const p = Buffer.concat([Buffer.from([0x01, 0x1e, 0x10, 0x44, 0x00, 0x18, 1, 0, 2, 0xaa, 0xbb]), Buffer.alloc(16), Buffer.from([0x0c, 8, 0x40, 0x80]), Buffer.from('xyz')]);
  assert.deepEqual(streamFrames(p, 1).map((f) => [f.id, f.off, f.data.toString()]), [[8, 128, 'xyz']]);
  assert.throws(() => streamFrames(Buffer.from([0x21]), 1), /unknown QUIC frame type 0x21/);
});
