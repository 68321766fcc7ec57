// WebTransport messaging end to end through real namespaces (helper backend): `holbench run`
// with webtransport-stream, -uni and -datagram against the h3 plugin's /wt endpoint.
//  - no loss: push and echo deliver every message once on each variant, one connection,
//    wire bytes above the payload;
//  - 10% loss: the datagram variant loses messages and never retransmits (no message arrives
//    late: its p99 stays below the stream variant's, whose messages wait for retransmissions),
//    the stream variant loses none;
//  - bad input: resume on the datagram variant is exit 2 naming the protocol, nothing applied.
// (Dead-peer detection: webtransport-dead.test.ts; Chromium: webtransport-chromium.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { protocolDef } from './protocols.ts';
import { runScenario, WT } from './testdata/wt-run.ts';
import { tempDir } from '../proc/testdata/tmp.ts';

test('the table has the three WebTransport variants, on the h3 plugin over UDP, only the datagram one without resume', () => {
  assert.deepEqual(WT, ['webtransport-stream', 'webtransport-uni', 'webtransport-datagram']);
  for (const p of WT) {
    const d = protocolDef(p);
    assert.equal(d.plugin, 'h3');
    assert.equal(d.transport, 'udp');
    assert.ok(d.family === 'messages' && d.patterns.includes('echo') && d.patterns.includes('push'), p);
    assert.equal((d as { resume?: false }).resume, p === 'webtransport-datagram' ? false : undefined, p);
  }
});

test('no loss: push and echo deliver every message once on every WebTransport variant', { timeout: 240_000 }, async () => {
  for (const pattern of ['push', 'echo'] as const) {
    const r = await runScenario(`name: wt-${pattern}
protocols: [${WT.join(', ')}]
workload: { kind: messages, pattern: ${pattern}, messages: 40, interval_ms: 20, window: 4, message_bytes: 64, duration_s: 20, resume: false }
network: { delay_ms: 5 }
repetitions: 1
`);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.deepEqual(r.summary.map((x) => x.protocol).sort(), [...WT].sort(), 'one row per protocol');
    // provenance: run.json says which WebTransport wire format and settings ran
    for (const p of r.runJson.protocols) assert.match(p.wire ?? '', /draft-ietf-webtrans-http3-02 wire format.*H3_DATAGRAM=1/, p.protocol);
    for (const row of r.summary) {
      const p = `${row.protocol} ${pattern}`;
      assert.equal(row.status, 'SUCCEEDED', `${p}: ${row.reason}`);
      assert.equal(row.msgs_received, '40', p);
      assert.equal(row.msgs_lost, '0', p);
      assert.equal(row.msgs_dup, '0', p);
      assert.equal(row.connections_used, '1', `${p} keeps one connection`);
      assert.ok(Number(row.msg_p50_ms) >= 4.5 && Number(row.msg_p50_ms) < 500, `${p} p50 ${row.msg_p50_ms}`);
      // 64 payload bytes (128 for echo) plus QUIC, UDP, IP and Ethernet headers per message
      assert.ok(Number(row.wire_bytes_per_msg) > (pattern === 'echo' ? 128 : 64) + 42, `${p} wire bytes/msg ${row.wire_bytes_per_msg}`);
      const seqs = r.messages.filter((m) => m.protocol === row.protocol).map((m) => Number(m.seq)).sort((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1), p);
    }
  }
});

test('10% loss: datagrams are lost and never retransmitted, the stream loses nothing and waits', { timeout: 240_000 }, async () => {
  const N = 150;
  const r = await runScenario(`name: wt-loss
protocols: [webtransport-stream, webtransport-datagram]
workload: { kind: messages, pattern: push, messages: ${N}, interval_ms: 10, message_bytes: 64, duration_s: 25, resume: false }
network: { delay_ms: 20, loss_pct: 10 }
repetitions: 1
seed: 3
`);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const by = Object.fromEntries(r.summary.map((x) => [x.protocol, x]));
  const stream = by['webtransport-stream']!;
  const dgram = by['webtransport-datagram']!;
  assert.equal(stream.status, 'SUCCEEDED', stream.reason);
  assert.equal(dgram.status, 'SUCCEEDED', dgram.reason);
  assert.equal(stream.msgs_lost, '0', 'the stream retransmits: nothing lost');
  const lost = Number(dgram.msgs_lost);
  // 10% of 150 is 15 expected; any loss at all shows the counting, a bound shows nothing else went missing
  assert.ok(lost > 0 && lost < N / 2, `datagram messages lost: ${lost}`);
  assert.equal(Number(dgram.msgs_received) + lost, N);
  assert.equal(dgram.msgs_dup, '0');
  // no retransmission: what arrives arrives once, one path delay late; the stream's late
  // messages wait a round trip or more for their retransmission
  assert.ok(Number(dgram.msg_p99_ms) < Number(stream.msg_p99_ms), `p99 datagram ${dgram.msg_p99_ms} ms vs stream ${stream.msg_p99_ms} ms`);
  const dgramMax = Math.max(...r.messages.filter((m) => m.protocol === 'webtransport-datagram').map((m) => Number(m.latency_ms)));
  assert.ok(dgramMax < 20 + 40 + 200, `a datagram arrived ${dgramMax} ms after its send time: retransmitted?`);
});

test('CLI: resume on webtransport-datagram exits 2 naming the protocol and what fits, before anything is set up', { timeout: 60_000 }, async () => {
  const dir = await tempDir('holbench-wt-bad-');
  const f = join(dir, 'bad.yaml');
  await writeFile(f, 'protocols: [ws, webtransport-datagram]\nworkload: {kind: messages, pattern: push}\n');
  const CLI = new URL('./cli.ts', import.meta.url).pathname;
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', CLI, 'run', f, '--out', join(dir, 'out')], { timeout: 60_000 }, (err, _o, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr })),
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /protocols\.1: webtransport-datagram cannot resume .*set workload\.resume: false \(resume works with ws, .*webtransport-stream, webtransport-uni\)/);
  assert.match(r.stderr, /nothing was changed/);
});
