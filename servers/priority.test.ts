// The h2 and h3 servers honour the client's RFC 9218 signals under `scheduling: browser`
// (the Priority header on both, PRIORITY_UPDATE on h3) and ignore them under the other
// disciplines, switched per cell by configure(). On loopback: six 1 MB responses, the last
// request marked urgent; the server writes non-incremental responses one at a time.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import tls from 'node:tls';
import { makeCert } from './cert.ts';
import { h2Plugin } from './h2.ts';
import { H2FrameWatcher, tapInbound } from './h2-tap.ts';
import { h3Plugin, h3Support } from './h3.ts';
import type { Scheduling } from './scheduler.ts';
import type { ServerPlugin } from './types.ts';

const HOST = '127.0.0.1';
const N = 6;
const BYTES = 1_000_000;
let tls_: { key: string; cert: string };

before(async () => {
  tls_ = await makeCert(HOST);
});

/** An HTTP/2 PRIORITY_UPDATE frame (RFC 9218 7.1): type 0x10 on stream 0. node's client cannot
 *  send one, so the tests run the client over a JS stream and write the frame between node's
 *  own writes (each of which carries whole frames). */
function priorityUpdateFrame(streamId: number, value: string): Buffer {
  const v = Buffer.from(value, 'latin1');
  const f = Buffer.alloc(9 + 4 + v.length);
  f.writeUIntBE(4 + v.length, 0, 3);
  f[3] = 0x10;
  f.writeUInt32BE(0, 5);
  f.writeUInt32BE(streamId, 9);
  v.copy(f, 13);
  return f;
}

/** Indices of the requests in the order their responses completed. `update`: a
 *  PRIORITY_UPDATE for the last request, written before its HEADERS ('early') or after
 *  every request was sent ('late'). */
async function h2Order(port: number, urgent: Record<string, string>, update?: { when: 'early' | 'late'; value: string }): Promise<number[]> {
  const sock = tls.connect({ host: HOST, port, ca: tls_.cert, servername: 'holbench.test', ALPNProtocols: ['h2'] });
  await new Promise((r, j) => (sock.once('secureConnect', r), sock.once('error', j)));
  const s = http2.connect(`https://${HOST}:${port}`, { settings: { initialWindowSize: 8 << 20 }, createConnection: () => tapInbound(sock, () => {}) });
  // the server's SETTINGS arrived: our preface and SETTINGS are out, a raw frame can follow
  await new Promise((r, j) => (s.once('remoteSettings', r), s.once('error', j)));
  s.setLocalWindowSize(16 << 20);
  const lastId = 1 + 2 * (N - 1); // client streams 1, 3, 5, ...
  if (update?.when === 'early') sock.write(priorityUpdateFrame(lastId, update.value));
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const st = s.request({ ':path': `/bytes/${BYTES}?o=${i}`, ...(i === N - 1 ? urgent : {}) });
        let n = 0;
        st.on('data', (d: Buffer) => (n += d.length));
        st.on('end', () => (assert.equal(n, BYTES), done.push(i), resolve()));
        st.on('error', reject);
        if (i === N - 1 && update?.when === 'late') setImmediate(() => sock.write(priorityUpdateFrame(lastId, update.value)));
      }),
    ),
  );
  await new Promise<void>((r) => s.close(() => r()));
  return done;
}

async function h3Order(port: number, urgent: { headers?: Record<string, string>; priorityUpdate?: string }): Promise<number[]> {
  const { connect } = await import('../h3/client.ts');
  const c = await connect(HOST, port, { caPem: tls_.cert, servername: 'holbench.test' });
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        let n = 0;
        const last = i === N - 1;
        c.request('GET', `/bytes/${BYTES}?o=${i}`, last ? (urgent.headers ?? {}) : {}, {
          data: (d) => (n += d.length),
          end: () => (assert.equal(n, BYTES), done.push(i), resolve()),
          error: reject,
        }, last && urgent.priorityUpdate ? { priorityUpdate: urgent.priorityUpdate } : {});
      }),
    ),
  );
  await c.close();
  return done;
}

const inOrder = Array.from({ length: N }, (_, i) => i);
const urgentFirst = [N - 1, ...inOrder.slice(0, N - 1)];

async function withPlugin(p: ServerPlugin, fn: (port: number, set: (s: Scheduling) => void) => Promise<void>) {
  const { port } = await p.start({ host: HOST, tls: tls_, scheduling: 'browser' });
  try {
    await fn(port, (s) => p.configure!({ scheduling: s }));
  } finally {
    await p.stop();
  }
}

test('h2: the Priority header orders responses under browser, not under sequential', async () => {
  await withPlugin(h2Plugin(), async (port, set) => {
    assert.deepEqual(await h2Order(port, { priority: 'u=0' }), urgentFirst, 'browser: the urgent response first, the others in request order');
    set('sequential');
    assert.deepEqual(await h2Order(port, { priority: 'u=0' }), inOrder, 'sequential: request order');
    set('browser');
    // incremental at the default urgency: after the non-incremental ones (RFC 9218 as quiche orders it)
    assert.deepEqual(await h2Order(port, { priority: 'i' }), inOrder);
  });
});

test('h2: PRIORITY_UPDATE frames (node:http2 drops them; the server reads them on the way in) override the header', async () => {
  await withPlugin(h2Plugin(), async (port, set) => {
    // before the request's HEADERS: kept until the request arrives
    assert.deepEqual(await h2Order(port, {}, { when: 'early', value: 'u=0' }), urgentFirst, 'early update');
    assert.deepEqual(await h2Order(port, { priority: 'u=0' }, { when: 'early', value: 'u=5' }), inOrder, 'the frame overrides the header');
    // while the responses are being written: the urgent one overtakes what is not written yet
    const late = await h2Order(port, {}, { when: 'late', value: 'u=0' });
    assert.ok(late.indexOf(N - 1) <= 1, `late update: completion order ${late}`);
    set('sequential');
    assert.deepEqual(await h2Order(port, {}, { when: 'early', value: 'u=0' }), inOrder, 'sequential ignores it');
  });
});

test('h3: the Priority header and PRIORITY_UPDATE (sent before HEADERS, as Chromium does) order responses under browser', { skip: !h3Support().ok && h3Support().reason }, async () => {
  await withPlugin(h3Plugin(), async (port, set) => {
    assert.deepEqual(await h3Order(port, { headers: { priority: 'u=0' } }), urgentFirst, 'Priority header');
    assert.deepEqual(await h3Order(port, { priorityUpdate: 'u=0' }), urgentFirst, 'PRIORITY_UPDATE alone');
    // the frame overrides the header (RFC 9218 section 7)
    assert.deepEqual(await h3Order(port, { headers: { priority: 'u=0' }, priorityUpdate: 'u=5' }), inOrder, 'PRIORITY_UPDATE over the header');
    set('sequential');
    assert.deepEqual(await h3Order(port, { headers: { priority: 'u=0' }, priorityUpdate: 'u=0' }), inOrder, 'sequential ignores both');
  });
});


test('h2 frame watcher: finds PRIORITY_UPDATE frames however the bytes are split, skips everything else', () => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const frame = (type: number, stream: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h.writeUInt32BE(stream, 5);
    return Buffer.concat([h, payload]);
  };
  const bytes = Buffer.concat([
    preface,
    frame(0x4, 0, Buffer.alloc(12)), // SETTINGS
    frame(0x1, 1, Buffer.from('headers')),
    frame(0x10, 0, Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('u=0, i')])),
    frame(0x0, 1, Buffer.from([0x10, 0, 0, 0, 0x10])), // DATA that looks like a frame header
    frame(0x10, 3, Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('u=1')])), // not on stream 0: ignored
    frame(0x10, 0, Buffer.concat([Buffer.from([0x80, 0, 0, 7]), Buffer.from('i')])), // reserved bit set
    frame(0x10, 0, Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('u=2')])), // a server stream id: ignored
  ]);
  const want = [[1, 'u=0, i'], [7, 'i']];
  for (const step of [1, 2, 7, 9, 13, bytes.length]) {
    const got: [number, string][] = [];
    const w = new H2FrameWatcher((id, v) => got.push([id, v]));
    for (let o = 0; o < bytes.length; o += step) w.push(bytes.subarray(o, o + step));
    assert.deepEqual(got, want, `chunks of ${step}`);
  }
});
