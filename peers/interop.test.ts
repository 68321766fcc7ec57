// Interop with real peers on 127.0.0.1: our client against Caddy (quic-go), and ngtcp2's
// gtlsclient (ngtcp2 + nghttp3) against our server. Skips, with the reason printed, only if
// the peer binary is not installed. Child processes are always killed in finally.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, listen, type H3Server } from '../h3/index.ts';
import { makeTls, startCaddy, type TestTls } from './peers.ts';
import { payloadHandler } from '../servers/h3-payload.ts';
import { payload } from '../servers/payload.ts';
import { haveCommand, run } from '../proc/exec.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MB50 = 50 * 1024 * 1024;
let tls: TestTls;

before(async () => {
  tls = await makeTls();
});
after(async () => {
  if (tls) await rm(tls.dir, { recursive: true, force: true });
});

test('our client against Caddy (quic-go) over HTTP/3: 1 B, 50 MB, 100 x 100 KB', { timeout: 120_000 }, async (t) => {
  if (!(await haveCommand('caddy'))) {
    console.log('# SKIP: caddy is not installed');
    return t.skip('caddy is not installed');
  }
  const caddy = await startCaddy(tls, [1, 102400, MB50]);
  try {
    const c = await connect('127.0.0.1', caddy.port, { servername: tls.servername, caPem: tls.caPem });
    try {
      const one = await c.get('/bytes/1');
      assert.equal(one.status, 200);
      assert.equal(sha(one.body), sha(payload(1)));
      const h = createHash('sha256');
      let n = 0;
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) =>
        c.request('GET', `/bytes/${MB50}`, {}, { data: (d) => (h.update(d), (n += d.length)), end: resolve, error: reject }),
      );
      const mbps = n / 1e6 / ((performance.now() - t0) / 1000);
      console.log(`# caddy -> our client: 50 MB at ${mbps.toFixed(1)} MB/s`);
      assert.equal(n, MB50);
      assert.equal(h.digest('hex'), sha(payload(MB50)));
      const want = sha(payload(102400));
      const all = await Promise.all(Array.from({ length: 100 }, () => c.get('/bytes/102400')));
      assert.ok(all.every((r) => r.status === 200 && sha(r.body) === want));
    } finally {
      await c.close();
    }
  } finally {
    await caddy.stop();
  }
});

async function gtlsclient(port: number, dir: string, uris: string[], extra: string[] = []) {
  const args = ['--quiet', '--exit-on-all-streams-close', '--no-quic-dump', '--no-http-dump', '--download', dir, '--timeout', '20s', ...extra, '127.0.0.1', String(port), ...uris];
  return run('gtlsclient', args, { allowFail: true, timeoutMs: 90_000 });
}

test('ngtcp2 gtlsclient against our server: 1 B, 50 MB, 100 x 100 KB', { timeout: 150_000 }, async (t) => {
  if (!(await haveCommand('gtlsclient'))) {
    console.log('# SKIP: gtlsclient (ngtcp2-client) is not installed');
    return t.skip('gtlsclient is not installed');
  }
  const server: H3Server = await listen('127.0.0.1', 0, { key: tls.key, cert: tls.cert }, payloadHandler);
  const dir = await mkdtemp(path.join(tmpdir(), 'h3gtls-'));
  try {
    const base = `https://127.0.0.1:${server.port}`;
    const r1 = await gtlsclient(server.port, dir, [`${base}/bytes/1`]);
    assert.equal(r1.exitCode, 0, r1.stderr.slice(-2000));
    assert.equal(sha(await readFile(path.join(dir, '1'))), sha(payload(1)));

    const r2 = await gtlsclient(server.port, dir, [`${base}/bytes/${MB50}`]);
    assert.equal(r2.exitCode, 0, r2.stderr.slice(-2000));
    assert.equal(sha(await readFile(path.join(dir, String(MB50)))), sha(payload(MB50)));

    const sub = path.join(dir, 'many');
    await run('mkdir', ['-p', sub]);
    const uris = Array.from({ length: 100 }, (_, k) => `${base}/obj/${k}/bytes/102400`);
    const before = server.stats().requests;
    const r3 = await gtlsclient(server.port, sub, uris);
    assert.equal(r3.exitCode, 0, r3.stderr.slice(-2000));
    // every file is named 102400 (last path component): all 100 were served and one file
    // (written by possibly several streams) must equal the payload
    assert.equal(server.stats().requests - before, 100);
    const files = await readdir(sub);
    assert.deepEqual(files, ['102400']);
    assert.equal(sha(await readFile(path.join(sub, '102400'))), sha(payload(102400)));
  } finally {
    await server.close(300);
    await rm(dir, { recursive: true, force: true });
  }
});
