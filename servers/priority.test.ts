// The h2 and h3 servers honour the client's RFC 9218 signals under `scheduling: browser`
// (the Priority header on both, PRIORITY_UPDATE on h3) and ignore them under the other
// disciplines, switched per cell by configure(). On loopback: six 1 MB responses, the last
// request marked urgent; the server writes non-incremental responses one at a time.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { makeCert } from './cert.ts';
import { h2Plugin } from './h2.ts';
import { h3Plugin, h3Support } from './h3.ts';
import type { Scheduling } from './scheduler.ts';
import type { ServerPlugin } from './types.ts';

const HOST = '127.0.0.1';
const N = 6;
const BYTES = 1_000_000;
let tls: { key: string; cert: string };

before(async () => {
  tls = await makeCert(HOST);
});

/** Indices of the requests in the order their responses completed. */
async function h2Order(port: number, urgent: Record<string, string>): Promise<number[]> {
  const s = http2.connect(`https://${HOST}:${port}`, { ca: tls.cert, servername: 'holbench.test', settings: { initialWindowSize: 8 << 20 } });
  await new Promise((r, j) => (s.once('connect', r), s.once('error', j)));
  s.setLocalWindowSize(16 << 20);
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: N }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const st = s.request({ ':path': `/bytes/${BYTES}?o=${i}`, ...(i === N - 1 ? urgent : {}) });
        let n = 0;
        st.on('data', (d: Buffer) => (n += d.length));
        st.on('end', () => (assert.equal(n, BYTES), done.push(i), resolve()));
        st.on('error', reject);
      }),
    ),
  );
  await new Promise<void>((r) => s.close(() => r()));
  return done;
}

async function h3Order(port: number, urgent: { headers?: Record<string, string>; priorityUpdate?: string }): Promise<number[]> {
  const { connect } = await import('../h3/client.ts');
  const c = await connect(HOST, port, { caPem: tls.cert, servername: 'holbench.test' });
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
  const { port } = await p.start({ host: HOST, tls, scheduling: 'browser' });
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

