// WebTransport over HTTP/3 (h3/webtransport.ts): the wire pieces (SETTINGS, the extended
// CONNECT's :protocol, stream headers, the datagram's quarter stream id) and our client against
// our server on 127.0.0.1: a session, echo on a bidi stream, on uni streams and as datagrams,
// and a refused CONNECT. (Chromium against our server: harness/webtransport-chromium.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, listen, type H3Server } from './index.ts';
import { makeTls, type TestTls } from './testdata/tls.ts';
import { decodeSettings, encodeSettings, Frame, Setting } from './frames.ts';
import { decodeFieldSection, encodeFieldSection } from './qpack.ts';
import { parseFields } from './session.ts';
import { decodeH3Datagram, encodeH3Datagram, WT_BIDI_SIGNAL, WT_UNI_STREAM_TYPE, wtMissingSettings, wtSettings, wtStreamHeader, type WtSession, type WtStream } from './webtransport.ts';
import { readVarint, varintLen } from './varint.ts';

test('SETTINGS carry extended CONNECT, H3 datagrams and both WebTransport settings, and decode back', () => {
  const frame = encodeSettings(wtSettings());
  assert.equal(frame[0], Frame.SETTINGS);
  const payload = frame.subarray(1 + varintLen(frame[1]!));
  const m = decodeSettings(payload);
  assert.equal(m.get(0x08), 1, 'SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 9220)');
  assert.equal(m.get(0x33), 1, 'SETTINGS_H3_DATAGRAM (RFC 9297)');
  assert.equal(m.get(0x2b603742), 1, 'draft02 SETTINGS_ENABLE_WEBTRANSPORT');
  assert.ok(m.get(0xc671706a)! > 0, 'draft07 SETTINGS_WEBTRANSPORT_MAX_SESSIONS');
  assert.deepEqual(wtMissingSettings(m), []);
  // each one missing is named
  for (const [k] of wtSettings().slice(0, 2)) {
    const partial = new Map(m);
    partial.delete(k);
    assert.equal(wtMissingSettings(partial).length, 1, `setting 0x${k.toString(16)} missing is noticed`);
  }
  const noWt = new Map(m);
  noWt.delete(Setting.WEBTRANSPORT_ENABLE_DRAFT02);
  assert.deepEqual(wtMissingSettings(noWt), [], 'draft07 alone is enough');
  noWt.delete(Setting.WEBTRANSPORT_MAX_SESSIONS_DRAFT07);
  assert.match(wtMissingSettings(noWt)[0]!, /WEBTRANSPORT/);
});

test('extended CONNECT: :protocol passes request validation (CONNECT needs :scheme and :path only with it)', () => {
  const list: [string, string][] = [
    [':method', 'CONNECT'],
    [':scheme', 'https'],
    [':authority', 'h:1'],
    [':path', '/wt'],
    [':protocol', 'webtransport'],
  ];
  const f = parseFields(decodeFieldSection(encodeFieldSection(list), { maxSectionSize: 4096 }), 'request');
  assert.equal(f.pseudo.get(':protocol'), 'webtransport');
  assert.equal(f.pseudo.get(':method'), 'CONNECT');
});

test('datagram payload = quarter stream id varint + payload; stream headers = 0x41/0x54 + session id', () => {
  for (const id of [0, 4, 252, 256, 65532, 4 * 2 ** 20]) {
    const d = encodeH3Datagram(id, Buffer.from('hello'));
    assert.equal(readVarint(d, 0), id / 4);
    const back = decodeH3Datagram(d)!;
    assert.equal(back.streamId, id);
    assert.equal(back.payload.toString(), 'hello');
  }
  assert.deepEqual([...encodeH3Datagram(8, Buffer.from([7]))], [2, 7]);
  assert.equal(decodeH3Datagram(Buffer.from([0x40])), null, 'truncated varint');
  const b = wtStreamHeader('bidi', 4);
  assert.equal(readVarint(b, 0), WT_BIDI_SIGNAL);
  assert.deepEqual([...b], [0x40, 0x41, 4], '0x41 is a two-byte varint');
  const u = wtStreamHeader('uni', 0);
  assert.equal(readVarint(u, 0), WT_UNI_STREAM_TYPE);
  assert.deepEqual([...u], [0x40, 0x54, 0]);
});

let tls: TestTls;
let server: H3Server;
const sessionsSeen: { path: string; protocol?: string; headers: Record<string, string> }[] = [];

/** Lines ("...\n") from a stream's chunks. */
function lines(s: WtStream, onLine: (l: string) => void, onEnd?: () => void): void {
  let buf = '';
  s.listen({
    data: (c) => {
      buf += c.toString('latin1');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    },
    fin: () => onEnd?.(),
  });
}

before(async () => {
  tls = await makeTls();
  server = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert, webtransport: true }, (req) => {
    const wt = req.webtransport;
    if (!wt) return { status: 404, body: 'no\n' };
    sessionsSeen.push({ path: req.path, protocol: req.protocol, headers: req.headers });
    if (req.path !== '/echo') return { status: 404 };
    // echo: every line on a bidi stream back on it, every uni stream's lines on a new uni stream, every datagram back
    wt.listenStreams((s) => {
      if (s.kind === 'bidi') lines(s, (l) => s.write(Buffer.from(`${l}\n`)), () => s.end());
      else lines(s, (l) => wt.sendUni(Buffer.from(`${l}\n`)));
    });
    wt.ondatagram = (p) => void wt.sendDatagram(p);
    return { status: 200 };
  });
});
after(async () => {
  await server?.close(500);
  if (tls) await rm(tls.dir, { recursive: true, force: true });
});

const opts = () => ({ servername: tls.servername, caPem: tls.caPem, webtransport: true });

test('our client and server: a session echoes on a bidi stream, on uni streams and as datagrams', { timeout: 30_000 }, async () => {
  const c = await connect('127.0.0.1', server.port, opts());
  try {
    const wt: WtSession = await c.webtransport('/echo');
    assert.equal(wt.id % 4, 0, 'the session id is a client bidi stream id');
    const seen = sessionsSeen.at(-1)!;
    assert.equal(seen.protocol, 'webtransport');
    // bidi: 20 lines out, 20 back in order
    const bidi = wt.openBidi()!;
    assert.ok(bidi, 'a bidi stream opened');
    const back: string[] = [];
    const N = 20;
    const bidiDone = new Promise<void>((r) => lines(bidi, (l) => (back.push(l), back.length === N && r())));
    for (let i = 1; i <= N; i++) bidi.write(Buffer.from(`m${i}\n`));
    await bidiDone;
    assert.deepEqual(back, Array.from({ length: N }, (_, i) => `m${i + 1}`));
    // uni: one stream per message, each comes back on a server uni stream
    const uniBack = new Set<string>();
    const uniDone = new Promise<void>((r) => wt.listenStreams((s) => lines(s, (l) => (uniBack.add(l), uniBack.size === N && r()))));
    for (let i = 1; i <= N; i++) wt.sendUni(Buffer.from(`u${i}\n`));
    await uniDone;
    assert.deepEqual([...uniBack].sort(), Array.from({ length: N }, (_, i) => `u${i + 1}`).sort());
    // datagrams: loopback loses nothing, so every one comes back
    const max = wt.maxDatagramPayload();
    assert.ok(max !== null && max > 1000, `datagrams fit ${max} B`);
    const dgBack = new Set<string>();
    const dgDone = new Promise<void>((r) => (wt.ondatagram = (p) => (dgBack.add(p.toString()), dgBack.size === N && r())));
    for (let i = 1; i <= N; i++) assert.ok(wt.sendDatagram(Buffer.from(`d${i}`)));
    await dgDone;
    assert.equal(dgBack.size, N);
    assert.equal(wt.datagramsSent, N);
    assert.equal(wt.sendDatagram(Buffer.alloc(70_000)), false, 'a datagram larger than a packet is dropped, not sent');
    assert.equal(wt.datagramsDropped, 1);
    // closing the session ends it on both sides
    const closed = new Promise<Error | null>((r) => (wt.onclose = r));
    wt.close();
    assert.equal(await closed, null);
  } finally {
    await c.close();
  }
});

test('a refused CONNECT rejects naming the status; a server without WebTransport is named', { timeout: 30_000 }, async () => {
  const c = await connect('127.0.0.1', server.port, opts());
  try {
    await assert.rejects(c.webtransport('/nope'), /refused with status 404/);
  } finally {
    await c.close();
  }
  const plain = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, () => ({ status: 200 }));
  const c2 = await connect('127.0.0.1', plain.port, opts());
  try {
    await assert.rejects(c2.webtransport('/echo'), /SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL, SETTINGS_H3_DATAGRAM/);
  } finally {
    await c2.close();
    await plain.close(200);
  }
});
