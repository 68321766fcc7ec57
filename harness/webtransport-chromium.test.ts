// Interop: Chromium's WebTransport API (Debian's chromium, headless, in the client namespace)
// against our h3 server process in the server namespace (plugin h3, the per-run certificate
// pinned with serverCertificateHashes). The page echoes messages on a bidirectional stream,
// on unidirectional streams and as datagrams, and receives a push schedule as datagrams
// (testdata/wt-chromium.ts); the server's stats must show the sessions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { startTs } from '../proc/exec.ts';
import type { Topology } from '../netem/topology.ts';
import { h3Support } from '../h3/binding.ts';
import { serverInTopology, serverStats, teardown, type ServerChannel } from './drivers/testdata/fixtures.ts';
import type { H3ServerStats } from '../servers/h3.ts';
import type { WtChromiumJob, WtChromiumResult } from './drivers/testdata/wt-chromium.ts';
import { existsSync } from 'node:fs';

const SCRIPT = new URL('./drivers/testdata/wt-chromium.ts', import.meta.url).pathname;
const skip = !h3Support().ok ? `h3 unsupported: ${h3Support().reason}` : !existsSync('/usr/bin/chromium') ? 'no /usr/bin/chromium' : false;
const N = 10;
const range = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix}${i + 1}`);

let topo: Topology;
let server: ServerChannel;
let port: number;
let cert: string;

before(async () => {
  if (skip) return;
  ({ topo, server, port, cert } = await serverInTopology('h3', { keepalive: {}, tls: true }));
});
after(async () => {
  if (topo) await teardown(topo, server);
});

function runChromium(job: WtChromiumJob): Promise<WtChromiumResult> {
  const child = startTs(SCRIPT, [JSON.stringify(job)], { ns: topo.ns.client, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  // SIGTERM: playwright closes the browser before the script exits
  const killer = setTimeout(() => child.kill('SIGTERM'), 90_000);
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) return reject(new Error(`chromium script exited ${code} without a result: ${err}`));
      resolve(JSON.parse(line.slice(7)) as WtChromiumResult);
    }),
  );
}

test('Chromium WebTransport <-> our h3 server: echo on bidi and uni streams and datagrams, push over datagrams', { skip, timeout: 150_000 }, async () => {
  const der = new X509Certificate(cert).raw;
  const r = await runChromium({ origin: `https://${topo.addr.server}:${port}`, certSha256: [...createHash('sha256').update(der).digest()], count: N });
  assert.equal(r.error, undefined, `Chromium ${r.version}: ${r.error}`);
  assert.deepEqual(r.bidi, range('bidi-'), 'bidi echo, in order');
  assert.deepEqual([...r.uni].sort(), range('uni-').sort(), 'uni echo, one stream each');
  // no loss configured on the path: every datagram comes back exactly once
  assert.deepEqual([...r.datagrams].sort(), range('dgram-').sort(), 'datagram echo');
  assert.deepEqual([...r.pushSeqs].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i + 1), 'push over datagrams');
  const st = await serverStats<H3ServerStats>(server, 'h3');
  assert.equal(st.webtransport.sessions, 2, 'one echo and one push session');
  assert.ok(st.messagesSent >= N);
});
