// The Chromium client against our servers in real namespaces: Chromium (in the client
// namespace, started by the agent) loads a page over HTTP/1.1, h2 and h3; every object's
// Resource Timing nextHopProtocol must be the asked-for protocol, and a job whose objects
// used another protocol FAILS with that reason. Needs root and /usr/bin/chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run } from '../../proc/exec.ts';
import { createTopology, type Topology } from '../../netem/topology.ts';
import { makeCert, SERVER_NAME } from '../../servers/cert.ts';
import { SERVER_MAIN, type ServerControl } from '../../servers/main.ts';
import { startChild, type ChildChannel } from '../../proc/channel.ts';
import type { PluginName } from '../../servers/registry.ts';
import { AGENT_MAIN, type AgentControl, type Job, type JobResult } from '../agent.ts';
import type { ProtocolName } from '../protocols.ts';
import { CHROMIUM_PATH } from './chromium.ts';
import { CHROMIUM_PROTOCOLS } from '../clients.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const hasChromium = await access(CHROMIUM_PATH).then(() => true, () => false);
const OBJECTS = 6;
const OBJECT_BYTES = 40_000;

let topo: Topology;
let server: ChildChannel<ServerControl>;
let agent: ChildChannel<AgentControl>;
let cert: string;
const PLUGINS: PluginName[] = ['h1', 'h2', 'h3'];

before(async () => {
  if (!hasChromium) return;
  topo = await createTopology();
  const tls = await makeCert(topo.addr.server);
  cert = tls.cert;
  server = await startChild<ServerControl>(SERVER_MAIN, {
    ns: topo.ns.server,
    env: { HOLBENCH_SERVER_CONFIG: JSON.stringify({ host: topo.addr.server, plugins: PLUGINS, tls, quicCc: 'cubic' }) },
  });
  agent = await startChild<AgentControl>(AGENT_MAIN, { ns: topo.ns.client });
});

after(async () => {
  if (!hasChromium) return;
  await agent?.stop();
  await server?.stop();
  await topo?.destroy();
  const list = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!list.includes(topo.runId), `namespaces left behind: ${list}`);
  // no Chromium of ours is left (the agent closed it, or it died with the agent's pipe)
  const left = (await run('pgrep', ['-f', 'holbench-chromium-[0-9]'], { allowFail: true })).stdout.trim();
  assert.equal(left, '', `Chromium processes left: ${left}`);
  const profiles = (await readdir(tmpdir())).filter((f) => /^holbench-chromium-\d+-/.test(f));
  assert.deepEqual(profiles, [], 'fresh profiles are removed after each job');
});

let nextId = 1;
function chromiumJob(protocol: ProtocolName, plugin: PluginName, o: { connection?: Job['connection']; html_bytes?: number } = {}): Job {
  const port = server.ready.ports[plugin]!.port;
  return {
    type: 'job', id: nextId++, cell: 'base', rep: 1,
    protocol: { protocol, connections: protocol === 'http1.1' ? 6 : 1, tls: true, label: `${protocol}@chromium`, client: 'chromium' },
    target: { host: topo.addr.server, port, tls: true, caPem: cert, servername: SERVER_NAME },
    workload: { kind: 'page', objects: OBJECTS, object_bytes: OBJECT_BYTES, ...(o.html_bytes ? { html_bytes: o.html_bytes } : {}) },
    requestTimeoutMs: 20_000, jobTimeoutMs: 60_000, quicCc: 'cubic', connection: o.connection,
  };
}

const PLUGIN_OF: Record<string, PluginName> = { 'http1.1': 'h1', h2: 'h2', h3: 'h3' };
const cases = Object.entries(CHROMIUM_PROTOCOLS) as [ProtocolName, string][];

test('the cases cover every protocol Chromium is offered for', () => {
  assert.deepEqual(cases.map(([p]) => p).sort(), ['h2', 'h3', 'http1.1']);
});

for (const [protocol, hop] of cases) {
  test(`Chromium loads ${OBJECTS} objects over ${protocol}: every object used ${hop}`, { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
    const r: JobResult = await agent.request(chromiumJob(protocol, PLUGIN_OF[protocol]!), 90_000);
    assert.equal(r.status, 'SUCCEEDED', r.reason);
    const objects = r.requests.filter((q) => q.object >= 0);
    assert.equal(objects.length, OBJECTS);
    assert.deepEqual(objects.map((q) => q.object).sort((a, b) => a - b), [...Array(OBJECTS).keys()]);
    for (const q of objects) {
      assert.equal(q.next_hop_protocol, hop, `object ${q.object}`);
      assert.equal(q.bytes, OBJECT_BYTES, `object ${q.object} bytes`);
      assert.equal(q.status, 200);
      assert.ok(q.ttfb_ms !== null && q.ttlb_ms !== null && q.ttfb_ms <= q.ttlb_ms, `object ${q.object} ttfb ${q.ttfb_ms} ttlb ${q.ttlb_ms}`);
      assert.match(q.conn_id, /^chromium\.\d+$/);
      // fetch() at its default priority: Chromium's High, header "u=1, i" on h2/h3, none on HTTP/1.1
      assert.equal(q.priority, protocol === 'http1.1' ? 'High' : 'High (u=1, i)');
    }
    assert.ok(r.page?.pageMs && r.page.pageMs > 0, `page time ${r.page?.pageMs}`);
    const conns = new Set(objects.map((q) => q.conn_id));
    if (protocol === 'http1.1') assert.ok(r.connectionsOpened >= 1 && r.connectionsOpened <= 6, `connections ${r.connectionsOpened}`);
    else assert.equal(r.connectionsOpened, 1);
    assert.ok(conns.size <= r.connectionsOpened, `objects on ${conns.size} connections, ${r.connectionsOpened} opened`);
    // data arrivals of every object add up to its size
    for (const q of objects) {
      const got = r.chunks.filter((c) => c.req_id === q.req_id).reduce((a, c) => a + c.bytes, 0);
      assert.equal(got, OBJECT_BYTES, `chunks of object ${q.object}`);
    }
    // the connection's handshake, from Chromium's timing of the request that opened it
    const c = r.connections![0]!;
    if (protocol === 'h3') assert.ok(c.quicHandshakeMs !== null && c.quicHandshakeMs >= 0, `QUIC handshake ${JSON.stringify(r.connections)}`);
    else assert.ok(c.tcpConnectMs !== null && c.tlsHandshakeMs !== null, `TCP/TLS handshake ${JSON.stringify(r.connections)}`);
  });
}

test('a job whose objects use another protocol FAILS with the reason (h2 asked, the server speaks HTTP/1.1 only)', { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
  const r: JobResult = await agent.request(chromiumJob('h2', 'h1'), 90_000);
  assert.equal(r.status, 'FAILED');
  assert.match(r.reason, /protocol mismatch .*nextHopProtocol.*: 6 of 6 objects; object \d used http\/1\.1, not h2/);
  assert.equal(r.page?.pageMs, null);
  assert.ok(r.requests.every((q) => q.next_hop_protocol === 'http/1.1'));
});

test('warm: the measured page reuses the preconnected h3 connection; html_bytes is fetched over h3 first', { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
  const r: JobResult = await agent.request(chromiumJob('h3', 'h3', { connection: 'warm', html_bytes: 20_000 }), 90_000);
  assert.equal(r.status, 'SUCCEEDED', r.reason);
  assert.equal(r.connectionsOpened, 1);
  assert.equal(r.connections![0]!.preconnected, true);
  const html = r.requests.find((q) => q.object === -1);
  assert.ok(html, 'an HTML row');
  assert.equal(html.bytes, 20_000);
  assert.equal(html.next_hop_protocol, 'h3');
  assert.equal(r.requests.length, OBJECTS + 1);
  // the HTML starts the page: no object starts before it
  assert.ok(r.requests.every((q) => q.start_ms >= html.start_ms), JSON.stringify(r.requests.map((q) => q.start_ms)));
});

test('capture on: Chromium writes its TLS and QUIC secrets to the job\'s key log', { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
  const dir = await tempDir('holbench-keylog-');
  try {
    for (const [protocol, plugin, label] of [['h2', 'h2', 'CLIENT_TRAFFIC_SECRET_0'], ['h3', 'h3', 'CLIENT_TRAFFIC_SECRET_0']] as const) {
      const keylogFile = join(dir, `${protocol}.keys`);
      const job = chromiumJob(protocol, plugin);
      const r: JobResult = await agent.request({ ...job, target: { ...job.target, keylogFile } }, 90_000);
      assert.equal(r.status, 'SUCCEEDED', r.reason);
      assert.match(await readFile(keylogFile, 'utf8'), new RegExp(`^${label} [0-9a-f]{64} [0-9a-f]+$`, 'm'), protocol);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('warm over HTTP/1.1: the page runs on the preconnected connections only', { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
  const r: JobResult = await agent.request(chromiumJob('http1.1', 'h1', { connection: 'warm' }), 90_000);
  assert.equal(r.status, 'SUCCEEDED', r.reason);
  const pre = new Set(r.connections!.filter((c) => c.preconnected).map((c) => c.connId));
  assert.equal(pre.size, 6, `preconnected ${pre.size}`);
  for (const q of r.requests) {
    assert.ok(pre.has(q.conn_id), `object ${q.object} on ${q.conn_id}, not a preconnected one (${[...pre]})`);
    assert.ok(q.conn_start_ms !== null && q.conn_start_ms !== undefined && q.conn_start_ms < 0, `object ${q.object}: its connection opened before the page clock (${q.conn_start_ms})`);
  }
});

test('resumed: primed connections closed, the page opens new ones that resume (h2: TLS ticket; h3: ticket and 0-RTT), by the server\'s count', { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
  for (const [protocol, plugin] of [['h2', 'h2'], ['h3', 'h3'], ['http1.1', 'h1']] as const) {
    const before = (await server.request({ type: 'stats' }, 10_000))[plugin]!;
    const r: JobResult = await agent.request(chromiumJob(protocol, plugin, { connection: 'resumed' }), 90_000);
    const after = (await server.request({ type: 'stats' }, 10_000))[plugin]!;
    assert.equal(r.status, 'SUCCEEDED', `${protocol}: ${r.reason}`);
    const primed = r.primedConnections ?? 0;
    const conns = r.connections!;
    assert.ok(primed >= 1, `${protocol}: primed ${primed}`);
    assert.ok(conns.length >= 1 && conns.every((c) => !c.preconnected && c.startMs >= 0), `${protocol}: the page's connections open on its clock: ${JSON.stringify(conns)}`);
    const full = after.tls!.full - before.tls!.full;
    const resumed = after.tls!.resumed - before.tls!.resumed;
    // every handshake of the job is a priming one (full) or one of the page's; on HTTP/1.1
    // Chromium may also open spares no response uses (late binding), which only the server sees
    const seen = `${protocol}: server saw ${full} full + ${resumed} resumed, client ${primed} primed + ${conns.length}`;
    if (protocol !== 'http1.1') assert.equal(full + resumed, primed + conns.length, seen);
    else assert.ok(full + resumed >= primed + conns.length && full + resumed <= 12, seen);
    assert.ok(resumed >= 1, `${protocol}: no page connection resumed (server: ${full} full, ${resumed} resumed)`);
    if (protocol === 'h3') assert.ok(after.zeroRtt! - before.zeroRtt! >= 1, `h3: no 0-RTT (${before.zeroRtt} -> ${after.zeroRtt})`);
    console.log(`${seen}${protocol === 'h3' ? ` 0-RTT ${after.zeroRtt! - before.zeroRtt!}` : ''}`);
  }
});

test('an agent killed mid-page (SIGKILL) takes its Chromium with it; the next job removes the dead profile', { skip: !hasChromium && 'no /usr/bin/chromium', timeout: 120_000 }, async () => {
  const doomed = await startChild<AgentControl>(AGENT_MAIN, { ns: topo.ns.client });
  const pgrep = async () => (await run('pgrep', ['-f', 'holbench-chromium-[0-9]'], { allowFail: true })).stdout.trim();
  // a page big enough to be in flight for a while on this path
  const job = { ...chromiumJob('h2', 'h2'), workload: { kind: 'page' as const, objects: 200, object_bytes: 2_000_000 } };
  const pending = doomed.request(job, 90_000).catch((e: Error) => e);
  let running = '';
  for (let i = 0; i < 100 && !running; i++) {
    await new Promise((r) => setTimeout(r, 200));
    running = await pgrep();
  }
  assert.ok(running, 'Chromium started');
  doomed.kill();
  assert.ok((await pending) instanceof Error, 'the job did not finish');
  let left = running;
  for (let i = 0; i < 50 && left; i++) {
    await new Promise((r) => setTimeout(r, 200));
    left = await pgrep();
  }
  assert.equal(left, '', 'Chromium exits once its agent is gone');
  const profiles = async () => (await readdir(tmpdir())).filter((f) => /^holbench-chromium-\d+-/.test(f));
  assert.equal((await profiles()).length, 1, 'the killed agent could not remove its profile');
  // the next job (any agent) removes the profiles of agents that are gone
  const r: JobResult = await agent.request(chromiumJob('h2', 'h2'), 90_000);
  assert.equal(r.status, 'SUCCEEDED', r.reason);
  assert.deepEqual(await profiles(), []);
});
