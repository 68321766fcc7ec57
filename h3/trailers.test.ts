// Request bodies streamed over time (client PushBody -> server readBody) and trailing HEADERS
// (RFC 9114 4.1) both ways a server can send them (PushBody.end(trailers), H3Reply.trailers),
// our client against our server on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, listen, PushBody, type H3Server, type H3Request, type H3Reply } from './index.ts';
import { makeTls, type TestTls } from './testdata/tls.ts';

let tls: TestTls;
let server: H3Server;

/** /echo: each request DATA payload is echoed as it arrives, then trailers with the byte
 *  count; /fixed: a Buffer body with trailers; /only: trailers after an empty body. */
function handler(req: H3Request): H3Reply {
  if (req.path === '/echo') {
    const out = new PushBody();
    let n = 0;
    req.readBody({
      data: (c) => {
        n += c.length;
        out.write(Buffer.from(c));
      },
      end: () => out.end({ 'x-bytes': String(n), 'x-status': 'ok' }),
    });
    return { status: 200, body: out };
  }
  if (req.path === '/fixed') return { status: 200, body: 'hello', trailers: { 'x-sum': '5' } };
  return { status: 200, trailers: { 'x-empty': 'yes' } };
}

before(async () => {
  tls = await makeTls();
  server = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, handler);
});
after(async () => {
  await server?.close(500);
  if (tls) await rm(tls.dir, { recursive: true, force: true });
});

interface Got {
  status: number;
  body: Buffer;
  trailers: Record<string, string> | null;
  /** body bytes received before the request body ended */
  early: number;
}

test('a streamed request body is echoed while it is still being sent, then trailers; Buffer and empty bodies carry trailers too', { timeout: 30_000 }, async () => {
  const c = await connect('127.0.0.1', server.port, { servername: tls.servername, caPem: tls.caPem });
  try {
    const body = new PushBody();
    let ended = false;
    const parts = ['one ', 'two ', 'three'];
    const got = await new Promise<Got>((resolve, reject) => {
      const g: Got = { status: 0, body: Buffer.alloc(0), trailers: null, early: 0 };
      let sent = 0;
      const next = () => {
        if (sent < parts.length) body.write(parts[sent++]!);
        else if (!ended) (ended = true), body.end();
      };
      c.request('POST', '/echo', {}, {
        headers: (s) => (g.status = s),
        data: (d) => {
          g.body = Buffer.concat([g.body, d]);
          if (!ended) g.early += d.length;
          next(); // the next part only once the previous one came back: a real bidi stream
        },
        trailers: (t) => (g.trailers = t),
        end: () => resolve(g),
        error: reject,
      }, { body });
      next();
    });
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), parts.join(''));
    assert.equal(got.early, Buffer.byteLength(parts.join('')), 'every part came back before the request ended');
    assert.deepEqual(got.trailers, { 'x-bytes': String(Buffer.byteLength(parts.join(''))), 'x-status': 'ok' });

    for (const [path, text, trailers] of [['/fixed', 'hello', { 'x-sum': '5' }], ['/only', '', { 'x-empty': 'yes' }]] as const) {
      const r = await new Promise<Got>((resolve, reject) => {
        const g: Got = { status: 0, body: Buffer.alloc(0), trailers: null, early: 0 };
        c.request('GET', path, {}, { headers: (s) => (g.status = s), data: (d) => (g.body = Buffer.concat([g.body, d])), trailers: (t) => (g.trailers = t), end: () => resolve(g), error: reject });
      });
      assert.equal(r.status, 200, path);
      assert.equal(r.body.toString(), text, path);
      assert.deepEqual(r.trailers, trailers, path);
    }
  } finally {
    await c.close();
  }
});
