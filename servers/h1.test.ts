// HTTP/1.x over TLS, on 127.0.0.1 (no root): the h1 plugin (TLS) and the h1 driver negotiate
// ALPN http/1.1 with the per-run certificate, verify it, deliver the exact bytes, and meet the
// same TLS as h2; http1.0 pays a full handshake per request (no silent session resumption);
// the cleartext plugin still serves the cleartext driver.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { Client } from 'undici';
import { makeCert, SERVER_NAME, type RunCert } from './cert.ts';
import { loadPlugin } from './registry.ts';
import { payload } from './payload.ts';
import type { ServerPlugin } from './types.ts';
import { observeTls, tlsServerOptions, type TlsStats } from './tls-settings.ts';
import { createH1Driver } from '../harness/drivers/h1.ts';
import { createH2Driver } from '../harness/drivers/h2.ts';
import type { Driver, DriverTarget } from '../harness/drivers/types.ts';
import type { RequestHandle } from '../harness/records.ts';

const HOST = '127.0.0.1';
let cert: RunCert;
before(async () => {
  cert = await makeCert(HOST);
});

async function withPlugin<T>(name: 'h1' | 'h1-clear' | 'h2', f: (port: number, plugin: ServerPlugin) => Promise<T>): Promise<T> {
  const plugin = await loadPlugin(name);
  const { port } = await plugin.start({ host: HOST, tls: cert });
  try {
    return await f(port, plugin);
  } finally {
    await plugin.stop();
  }
}

interface Got {
  status: number;
  body: Buffer;
  error: string;
  connId: string;
}

/** GET `path` on `driver`, keeping the body to compare byte for byte. */
async function get(driver: Driver, path: string): Promise<Got> {
  const chunks: Buffer[] = [];
  const g: Got = { status: 0, body: Buffer.alloc(0), error: '', connId: '' };
  const h: RequestHandle = {
    reqId: 0,
    headers: (s, ids) => ((g.status = s), (g.connId = ids.connId)),
    data: (_n, chunk) => void (chunk && chunks.push(Buffer.from(chunk))),
    end: () => {},
    fail: (e) => (g.error = String((e as Error)?.message ?? e)),
  };
  await driver.get(path, h);
  g.body = Buffer.concat(chunks);
  return g;
}

const target = (port: number, o: Partial<DriverTarget> = {}): DriverTarget => ({ host: HOST, port, tls: true, caPem: cert.cert, servername: SERVER_NAME, ...o });
const h1 = (version: '1.0' | '1.1', t: DriverTarget, connections: number) => createH1Driver(version)({ target: t, connections, requestTimeoutMs: 10_000 });
const tlsOf = (p: ServerPlugin): TlsStats => {
  const t = p.stats().tls;
  assert.ok(t, `${p.protocol} reports TLS stats`);
  return t;
};

test('h1 over TLS: ALPN http/1.1, TLS 1.3, exact bytes, keep-alive on the pool', async () => {
  await withPlugin('h1', async (port, plugin) => {
    const d = await h1('1.1', target(port), 2);
    try {
      const sizes = [1, 1000, 70_000, 300_001];
      const got = await Promise.all(sizes.map((n) => get(d, `/bytes/${n}`)));
      sizes.forEach((n, i) => {
        assert.equal(got[i]!.error, '', `${n}: ${got[i]!.error}`);
        assert.equal(got[i]!.status, 200);
        assert.ok(got[i]!.body.equals(payload(n)), `/bytes/${n}: body differs from the payload`);
      });
      // two keep-alive connections carried the four requests
      assert.equal(d.connectionsOpened(), 2);
      const st = plugin.stats();
      assert.equal(st.connections, 2);
      assert.equal(st.requests, sizes.length);
      const t = tlsOf(plugin);
      assert.deepEqual(t.alpn, { 'http/1.1': 2 });
      assert.equal(t.full, 2);
      assert.equal(t.resumed, 0);
      assert.deepEqual(Object.keys(t.suites).map((s) => s.split(' ')[0]), ['TLSv1.3']);
    } finally {
      await d.close();
    }
  });
});

test('h1 over TLS verifies the per-run certificate: another CA or another name fails', async () => {
  const other = await makeCert(HOST);
  await withPlugin('h1', async (port, plugin) => {
    const cases: [string, DriverTarget, RegExp][] = [
      ['a CA that did not sign it', target(port, { caPem: other.cert }), /self[- ]signed|unable to verify|certificate/i],
      ['a name it does not cover', target(port, { servername: 'other.test' }), /altnames|Hostname\/IP does not match|certificate/i],
      ['no CA at all (system store)', target(port, { caPem: undefined }), /self[- ]signed|unable to verify|certificate/i],
    ];
    for (const [what, t, re] of cases) {
      const d = await h1('1.1', t, 1);
      const g = await get(d, '/bytes/10');
      await d.close();
      assert.equal(g.status, 0, `${what}: no response expected`);
      assert.match(g.error, re, `${what}: ${g.error}`);
    }
    assert.equal(plugin.stats().requests, 0, 'no request reached the server unverified');
    // and the right CA still works (so the failures above are the certificate's)
    const d = await h1('1.1', target(port), 1);
    assert.equal((await get(d, '/bytes/10')).status, 200);
    await d.close();
  });
});

test('http1.0 over TLS: N requests = N connections = N full handshakes, none resumed', async () => {
  const N = 12;
  await withPlugin('h1', async (port, plugin) => {
    const d = await h1('1.0', target(port), 3);
    try {
      const got = await Promise.all(Array.from({ length: N }, (_, i) => get(d, `/bytes/${1000 + i}`)));
      got.forEach((g, i) => assert.ok(g.status === 200 && g.body.equals(payload(1000 + i)), `request ${i}: ${g.error}`));
      assert.equal(new Set(got.map((g) => g.connId)).size, N, 'one connection id per request');
      assert.equal(d.connectionsOpened(), N);
      const st = plugin.stats();
      assert.equal(st.connections, N);
      assert.equal(st.requests, N);
      const t = tlsOf(plugin);
      assert.equal(t.full, N, 'every request paid a full handshake');
      assert.equal(t.resumed, 0, 'no session was resumed');
      assert.deepEqual(t.alpn, { 'http/1.1': N });
    } finally {
      await d.close();
    }
  });
});

test('a pool connection that reconnects does a full handshake again (the driver caches no session)', async () => {
  // A server that closes the connection after every response, so one pool slot (one undici
  // Client) reconnects for each request: with undici's default session cache it would resume
  // with the ticket it kept; the driver must not. The raw Client with the default cache shows
  // that the counter does see resumption.
  const N = 4;
  const serve = async (f: (port: number) => Promise<void>): Promise<TlsStats> => {
    const server = https.createServer({ ...tlsServerOptions(cert), ALPNProtocols: ['http/1.1'] }, (_req, res) => {
      res.writeHead(200, { connection: 'close', 'content-length': '100' });
      res.end(payload(100));
    });
    const st = observeTls(server);
    await new Promise<void>((r) => server.listen(0, HOST, () => r()));
    try {
      await f((server.address() as { port: number }).port);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    return st;
  };
  const ours = await serve(async (port) => {
    const d = await h1('1.1', target(port), 1);
    for (let i = 0; i < N; i++) assert.equal((await get(d, '/bytes/100')).status, 200);
    assert.equal(d.connectionsOpened(), N, 'one slot, reconnected for every request');
    await d.close();
  });
  assert.deepEqual([ours.full, ours.resumed], [N, 0], 'the driver resumed a session');
  const cached = await serve(async (port) => {
    const c = new Client(`https://${HOST}:${port}`, { connect: { ca: cert.cert, servername: SERVER_NAME } });
    for (let i = 0; i < N; i++) {
      const r = await c.request({ path: '/bytes/100', method: 'GET' });
      assert.equal(r.statusCode, 200);
      await r.body.arrayBuffer();
    }
    await c.close();
  });
  assert.equal(cached.full + cached.resumed, N);
  assert.ok(cached.resumed >= 1, `undici's default session cache resumed ${cached.resumed} of ${N}`);
});

test('h1 and h2 meet the same TLS: version, cipher suite and key-exchange group', async () => {
  const suites: Record<string, string[]> = {};
  const groups: Record<string, string | undefined> = {};
  for (const name of ['h1', 'h2'] as const) {
    await withPlugin(name, async (port, plugin) => {
      // each protocol's own driver: the suites the server saw
      const d = name === 'h1' ? await h1('1.1', target(port), 1) : await createH2Driver({ target: target(port), connections: 1, requestTimeoutMs: 10_000 });
      assert.equal((await get(d, '/bytes/10')).status, 200);
      await d.close();
      suites[name] = Object.keys(tlsOf(plugin).suites);
      // the group is visible on the client side only: a client with Node's defaults, as both drivers use
      groups[name] = await new Promise<string | undefined>((resolve, reject) => {
        const s = tls.connect({ host: HOST, port, ca: cert.cert, servername: SERVER_NAME, ALPNProtocols: [name === 'h1' ? 'http/1.1' : 'h2'] }, () => {
          resolve((s.getEphemeralKeyInfo() as { name?: string } | null)?.name);
          s.destroy();
        });
        s.on('error', reject);
      });
    });
  }
  assert.equal(suites.h1!.length, 1);
  assert.deepEqual(suites.h1, suites.h2);
  assert.match(suites.h1![0]!, /^TLSv1\.3 TLS_/);
  assert.ok(groups.h1, 'a key-exchange group was negotiated');
  assert.equal(groups.h1, groups.h2);
});

test('cleartext by choice: h1-clear serves the cleartext driver, and neither side speaks the other', async () => {
  await withPlugin('h1-clear', async (port, plugin) => {
    for (const version of ['1.0', '1.1'] as const) {
      const d = await h1(version, target(port, { tls: false, caPem: undefined, servername: undefined }), 2);
      const got = await Promise.all([get(d, '/bytes/5000'), get(d, '/bytes/6000')]);
      await d.close();
      got.forEach((g, i) => assert.ok(g.status === 200 && g.body.equals(payload(5000 + 1000 * i)), `http${version}: ${g.error}`));
    }
    assert.equal(plugin.stats().tls, undefined, 'no TLS on the cleartext plugin');
    assert.equal(plugin.stats().requests, 4);
    // a TLS client on the cleartext port fails (the port is what the runner picks by the job's choice)
    const d = await h1('1.1', target(port), 1);
    const g = await get(d, '/bytes/10');
    await d.close();
    assert.equal(g.status, 0);
    assert.notEqual(g.error, '');
  });
  await withPlugin('h1', async (port, plugin) => {
    const d = await h1('1.1', target(port, { tls: false }), 1);
    const g = await get(d, '/bytes/10');
    await d.close();
    assert.equal(g.status, 0, 'a cleartext request on the TLS port gets no HTTP response');
    assert.equal(plugin.stats().requests, 0);
  });
});

test('the h1 driver refuses a target that does not say TLS or cleartext', async () => {
  await assert.rejects(h1('1.1', { host: HOST, port: 1 }, 1), /target\.tls must say/);
});
