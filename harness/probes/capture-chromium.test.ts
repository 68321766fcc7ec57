// Exact head-of-line figures for Chromium page jobs (hol-chromium.ts) on real namespaces
// (helper backend, 2% loss each way, 50 ms RTT, fixed seed), next to the holbench client's on
// the same network: every Chromium request is found in the capture (h2: decrypted HEADERS;
// h3: the server's packets opened with the key log and the client's QPACK :path; HTTP/1.1:
// request lines), every body byte is placed, and the transports differ the way their
// delivery rules say: h2@chromium has cross-stream waits, h3@chromium and HTTP/1.1 none.
// Needs root and /usr/bin/chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { captureBase } from './capture.ts';
import { runScenario } from '../testdata/cli.ts';
import { CHROMIUM_PATH } from '../drivers/chromium.ts';
import { run } from '../../proc/exec.ts';
import { ADDR } from '../../netem/topology.ts';

const hasChromium = await access(CHROMIUM_PATH).then(() => true, () => false);
const OBJECTS = 30;
const OBJECT_BYTES = 20000;
const PROTOCOLS = ['h2', 'h2@chromium', 'h3', 'h3@chromium', 'http1.1@chromium'];

const SCENARIO = `name: capt-chromium
protocols: [${PROTOCOLS.join(', ')}]
workload: {kind: page, objects: ${OBJECTS}, object_bytes: ${OBJECT_BYTES}}
network: {delay_ms: 25, loss_pct: 2, rate_bps: 20mbit}
repetitions: 1
seed: 42
capture: true
`;

test('capture: exact HoL of Chromium jobs (h2, h3, HTTP/1.1): every request found, h2 cross > 0, h3 and HTTP/1.1 none', { skip: !hasChromium && `no ${CHROMIUM_PATH}`, timeout: 180_000 }, async () => {
  const r = await runScenario(SCENARIO, { prefix: 'holbench-capt-chromium-', timeoutMs: 170_000 });
  assert.equal(r.code, 0, r.stderr);
  const by = Object.fromEntries(r.summary.map((x) => [x.protocol!, x]));
  const labels = r.runJson.protocols.map((p: { label?: string; protocol: string }) => p.label ?? p.protocol);
  assert.equal(labels.length, PROTOCOLS.length);
  const info = async (label: string) => JSON.parse(await readFile(`${captureBase(join(r.outDir, 'capture'), 'base', label, 1)}.json`, 'utf8'));
  for (const label of labels) {
    const s = by[label]!;
    assert.equal(s.status, 'SUCCEEDED', `${label}: ${s.reason}`);
    const i = await info(label);
    assert.deepEqual(i.notes, [], `${label}: ${i.notes}`);
    assert.equal(i.hol.streams, OBJECTS, `${label}: every object's stream found in the capture`);
    assert.equal(i.hol.bytes, OBJECTS * OBJECT_BYTES, `${label}: every body byte of every object`);
    assert.ok(i.hol.undelivered_bytes < i.hol.bytes / 100, `${label}: ${i.hol.undelivered_bytes} bytes not placed`);
    for (const c of ['hol_self_ms', 'hol_cross_ms', 'hol_cross_ms_per_stream', 'hol_cross_bytes']) assert.notEqual(s[c], '', `${label}: ${c} filled`);
    // nothing but the page's own traffic leaves the client: no DNS, no Google services
    const pcap = `${captureBase(join(r.outDir, 'capture'), 'base', label, 1)}.pcap`;
    const other = (await run('tshark', ['-r', pcap, '-Y', `ip and not ip.addr==${ADDR.server}`, '-T', 'fields', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'dns.qry.name'], { allowFail: true })).stdout.trim();
    assert.equal(other, '', `${label}: packets to other hosts than the server:\n${other.split('\n').slice(0, 5).join('\n')}`);
  }
  const chrome = (p: string) => labels.find((l: string) => l.startsWith(p) && l.endsWith('@chromium'))!;
  // h2: one TCP connection; at 2% loss some stream waits for another stream's retransmission
  assert.ok(Number(by['h2@chromium']!.hol_cross_ms) > 0, `h2@chromium hol_cross_ms ${by['h2@chromium']!.hol_cross_ms}`);
  assert.ok(Number(by['h2@chromium']!.hol_cross_bytes) > 0);
  assert.ok(Number(by['h2@chromium']!.loss_streams_max) > 1, 'a loss held more than one stream on h2');
  // h3: QUIC delivers each stream on its own; HTTP/1.1: one response at a time per connection
  assert.equal(Number(by['h3@chromium']!.hol_cross_ms), 0);
  assert.equal(Number(by[chrome('http1.1')]!.hol_cross_ms), 0);
  process.stderr.write(`# capture-chromium: ${labels.map((p: string) => `${p} self ${by[p]!.hol_self_ms} cross ${by[p]!.hol_cross_ms} ms`).join('; ')}\n`);
  await rm(join(r.outDir, '..', '..'), { recursive: true, force: true });
});
