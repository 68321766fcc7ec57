// End to end through real namespaces with the helper backend: `holbench run` on a small
// scenario writes every output, counts connections the way each protocol should use them,
// and an interrupted run keeps its finished jobs and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { hostNetSnapshot } from '../netem/hostcheck.ts';
import { run } from '../proc/exec.ts';
import { h3Support } from '../h3/binding.ts';
import { loadScenario } from './scenario/load.ts';
import { holbench as holbenchCli } from './testdata/cli.ts';
import { tempDir } from '../proc/testdata/tmp.ts';


const holbench = (args: string[], onStderr?: (line: string, kill: (s: NodeJS.Signals) => void) => void) => holbenchCli(args, { onStderr });

async function leftoverNamespaces(runJsonPath: string): Promise<string[]> {
  const { run_id } = JSON.parse(await readFile(runJsonPath, 'utf8'));
  assert.match(run_id, /^[0-9a-f]+$/);
  const list = (await run('ip', ['netns', 'list'])).stdout;
  return list.split('\n').filter((l) => l.startsWith(`holbench-${run_id}-`));
}

const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Record<string, string>[];

test('run: smoke scenario end to end with the helper backend', async () => {
  // what the run must produce comes from the scenario file itself
  const smoke = await loadScenario('scenarios/smoke.yaml');
  const w = smoke.scenario.workload;
  assert.equal(w.kind, 'page');
  if (w.kind !== 'page' || typeof w.object_bytes !== 'number') throw new Error('smoke.yaml: expected a page of equal-sized objects');
  const labels = smoke.protocols.map((p) => p.label);
  assert.deepEqual(labels, ['http1.0', 'http1.1x6', 'h2', 'h3'], 'the protocols this test knows how to check');
  assert.equal(smoke.cells.length, 1);
  assert.equal(smoke.scenario.repetitions, 1);
  // HTTP/3 needs the quiche binding; where it loads, h3 must work like the others
  const h3 = h3Support();

  const out = await tempDir('holbench-e2e-');
  const before = await hostNetSnapshot();
  const r = await holbench(['run', 'scenarios/smoke.yaml', '--backend', 'helper', '--out', join(out, 'results'), '--report-dir', join(out, 'rep'), '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  const dir = res.outDir as string;
  // the report goes where --report-dir says, in a folder named like the results folder
  assert.equal(res.reportDir, join(out, 'rep', basename(dir)));
  assert.ok(existsSync(join(res.reportDir, 'index.html')), 'report written to --report-dir');
  assert.deepEqual((await readdir(dir)).sort(), ['chunks.csv', 'drops.csv', 'requests.csv', 'run.json', 'summary.csv']);
  const summary = await csv(join(dir, 'summary.csv'));
  // one row per protocol (one cell, one repetition)
  assert.deepEqual(summary.map((s) => s.protocol).sort(), [...labels].sort());
  const by = Object.fromEntries(summary.map((s) => [s.protocol, s]));
  const reqs = await csv(join(dir, 'requests.csv'));
  const chunks = await csv(join(dir, 'chunks.csv'));
  const working = h3.ok ? labels : labels.filter((p) => p !== 'h3');
  if (!h3.ok) {
    // only the binding's own reason may make h3 UNSUPPORTED
    assert.equal(by.h3!.status, 'UNSUPPORTED', by.h3!.reason);
    assert.ok(by.h3!.reason.includes(h3.reason!.split('\n')[0]!), `h3 reason "${by.h3!.reason}" is not the binding's "${h3.reason}"`);
  }
  for (const p of working) {
    assert.equal(by[p]!.status, 'SUCCEEDED', `${p}: ${by[p]!.reason}`);
    assert.ok(Number(by[p]!.page_ms) > 10, `${p} page time includes at least one 10 ms RTT`);
    assert.equal(by[p]!.errors, '0', p);
    assert.equal(by[p]!.requests, String(w.objects), p);
    // one request row per object, each with all its bytes; the chunks add up to the page
    const pr = reqs.filter((q) => q.protocol === p);
    assert.equal(pr.length, w.objects, `${p} request rows`);
    assert.ok(pr.every((q) => q.bytes === String(w.object_bytes) && q.status === '200' && q.error === ''), `${p} every object complete with 200`);
    const bytes = chunks.filter((c) => c.protocol === p).reduce((s, c) => s + Number(c.bytes), 0);
    assert.equal(bytes, w.objects * w.object_bytes, `${p} chunk bytes`);
  }
  // connection patterns, counted by the client and by the server
  assert.equal(by['http1.0']!.connections_used, String(w.objects));
  assert.equal(by['http1.0']!.server_connections, String(w.objects));
  assert.ok(Number(by['http1.1x6']!.connections_used) <= 6 && Number(by['http1.1x6']!.connections_used) >= 2);
  assert.equal(by['http1.1x6']!.server_connections, by['http1.1x6']!.connections_used);
  // h2 and h3 multiplex the page on one connection, every request on its own stream
  for (const p of ['h2', 'h3'].filter((x) => working.includes(x))) {
    assert.equal(by[p]!.connections_used, '1', `${p} client connections`);
    assert.equal(by[p]!.server_connections, '1', `${p} server connections`);
    const pr = reqs.filter((q) => q.protocol === p);
    assert.equal(new Set(pr.map((q) => q.conn_id)).size, 1, `${p} one connection id`);
    assert.equal(new Set(pr.map((q) => q.stream_id)).size, w.objects, `every ${p} request on its own stream`);
  }
  // provenance
  const runJson = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
  assert.equal(runJson.backend, 'helper');
  assert.equal(runJson.tcp_cc, 'cubic');
  assert.deepEqual(runJson.tcp_cc_measured, { client: 'cubic', server: 'cubic' });
  assert.equal(runJson.quic_cc, 'cubic');
  assert.match(runJson.kernel, /^\d+\.\d+/);
  assert.equal(runJson.seed, 7);
  // the load the run met, at its start and end: 3 load averages each (1, 5, 15 min)
  for (const k of ['load_avg_started', 'load_avg_finished']) {
    assert.equal(runJson[k].length, 3, k);
    for (const x of runJson[k]) assert.ok(Number.isFinite(x) && x >= 0, `${k}: ${x}`);
  }
  assert.ok(runJson.versions.undici && runJson.versions.node);
  assert.equal(runJson.scenario.name, 'smoke');
  assert.deepEqual(await leftoverNamespaces(join(dir, 'run.json')), []);
  assert.deepEqual(await hostNetSnapshot(), before, 'the host network config is unchanged');
});

test('run: HTTP/1.x over TLS by default and cleartext by choice, side by side on namespaces', async () => {
  const out = await tempDir('holbench-https-');
  const f = join(out, 'https-h1.yaml');
  // smoke-sized, no loss: the TLS and cleartext jobs then differ by the handshakes alone
  await writeFile(
    f,
    'name: https-h1\nprotocols: [http1.0, {protocol: http1.0, tls: false}, http1.1x6, http1.1x6-clear]\n' +
      'workload: {kind: page, objects: 10, object_bytes: 5000}\nnetwork: {delay_ms: 5, rate_bps: 50mbit}\nrepetitions: 1\nseed: 7\n',
  );
  const loaded = await loadScenario(f);
  const w = loaded.scenario.workload;
  if (w.kind !== 'page' || typeof w.object_bytes !== 'number') throw new Error('expected a page of equal-sized objects');
  const specs = loaded.protocols;
  assert.deepEqual(specs.map((p) => [p.label, p.tls]), [['http1.0', true], ['http1.0-clear', false], ['http1.1x6', true], ['http1.1x6-clear', false]]);
  const before = await hostNetSnapshot();
  const r = await holbench(['run', f, '--backend', 'helper', '--out', join(out, 'results'), '--no-report', '--json', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const dir = JSON.parse(r.stdout).outDir as string;
  const by = Object.fromEntries((await csv(join(dir, 'summary.csv'))).map((s) => [s.protocol, s]));
  const reqs = await csv(join(dir, 'requests.csv'));
  assert.deepEqual(Object.keys(by).sort(), specs.map((p) => p.label).sort(), 'the summary labels carry the TLS choice');
  for (const { label } of specs) {
    const s = by[label]!;
    assert.equal(s.status, 'SUCCEEDED', `${label}: ${s.reason}`);
    assert.equal(s.requests, String(w.objects), label);
    const pr = reqs.filter((q) => q.protocol === label);
    assert.equal(pr.length, w.objects, `${label} request rows`);
    assert.ok(pr.every((q) => q.status === '200' && q.bytes === String(w.object_bytes) && q.error === ''), `${label}: every object complete`);
    // the server counts on the plugin the runner chose for the job's TLS choice: h1 counts a
    // connection once its TLS handshake completed, h1-clear on accept
    assert.equal(s.server_connections, s.connections_used, `${label}: server and client count the same connections`);
  }
  assert.equal(by['http1.0']!.connections_used, String(w.objects), 'http1.0: a TLS connection per request');
  assert.equal(by['http1.0-clear']!.connections_used, String(w.objects));
  // the handshakes are on the wire: per connection, the server's flight (certificate,
  // finished, session tickets) and the ClientHello add well over 500 bytes each way's sum
  const wire = (l: string) => Number(by[l]!.wire_bytes_down) + Number(by[l]!.wire_bytes_up);
  const extra = wire('http1.0') - wire('http1.0-clear');
  assert.ok(extra > 500 * w.objects, `TLS added ${extra} bytes over ${w.objects} connections`);
  // run.json says what every label stands for
  const runJson = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
  assert.deepEqual(runJson.protocols, [
    { label: 'http1.0', protocol: 'http1.0', connections: 6, tls: true, plugin: 'h1' },
    { label: 'http1.0-clear', protocol: 'http1.0', connections: 6, tls: false, plugin: 'h1-clear' },
    { label: 'http1.1x6', protocol: 'http1.1', connections: 6, tls: true, plugin: 'h1' },
    { label: 'http1.1x6-clear', protocol: 'http1.1', connections: 6, tls: false, plugin: 'h1-clear' },
  ]);
  assert.deepEqual(runJson.server_unsupported, {});
  assert.deepEqual(await leftoverNamespaces(join(dir, 'run.json')), []);
  assert.deepEqual(await hostNetSnapshot(), before);
  process.stderr.write(`# https-h1: TLS added ${extra} wire bytes over ${w.objects} http1.0 connections; page_ms ${specs.map((p) => `${p.label} ${by[p.label]!.page_ms}`).join(', ')}\n`);
});

test('run: Ctrl-C keeps finished jobs, exits 130 and cleans up', async () => {
  const out = await tempDir('holbench-int-');
  const f = join(out, 'long.yaml');
  await writeFile(f, 'protocols: [http1.1, h2]\nworkload: {kind: page, objects: 20, object_bytes: 20000}\nnetwork: {delay_ms: 10}\nrepetitions: 20\n');
  const before = await hostNetSnapshot();
  let sent = false;
  const r = await holbench(['run', f, '--backend', 'helper', '--out', join(out, 'results'), '--no-report'], (line, kill) => {
    if (!sent && /^ ?2\/40 /.test(line)) {
      sent = true;
      kill('SIGINT');
    }
  });
  assert.ok(sent, r.stderr);
  assert.equal(r.code, 130, r.stderr);
  const [name] = await readdir(join(out, 'results'));
  const summary = await csv(join(out, 'results', name!, 'summary.csv'));
  assert.ok(summary.length >= 2 && summary.length < 40, `kept ${summary.length} finished jobs`);
  assert.ok(summary.every((s) => s.status === 'SUCCEEDED'));
  assert.deepEqual(await leftoverNamespaces(join(out, 'results', name!, 'run.json')), []);
  assert.deepEqual(await hostNetSnapshot(), before);
});
