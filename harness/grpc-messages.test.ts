// gRPC client streaming (grpc-client-stream on grpc-js, grpc-h3-client-stream) and gRPC over
// HTTP/3 (grpc-h3-*) end to end: `holbench run` through real namespaces with the helper
// backend, as a user runs it. Checks: every message delivered once with a per-message
// latency at least the path delay, wire bytes per message above the payload, one
// connection; an outage noticed by gRPC keepalive (h2) / the QUIC idle timeout (h3) on both
// sides; a pattern a protocol cannot carry is exit 2 naming the protocol and what fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holbench as holbenchCli, runScenario as runIn, scenarioFile as scenarioIn } from './testdata/cli.ts';
import { PROTOCOL_TABLE, protocolsWithPattern } from './protocols.ts';

const holbench = (args: string[]) => holbenchCli(args, { timeoutMs: 300_000 });
const scenarioFile = (yaml: string) => scenarioIn(yaml, 'holbench-grpc-');
const runScenario = (yaml: string) => runIn(yaml, { prefix: 'holbench-grpc-' });

function assertOneRowPerJob(summary: Record<string, string>[], protocols: readonly string[]): void {
  assert.deepEqual(summary.map((r) => r.protocol).sort(), [...protocols].sort(), 'one summary row per protocol');
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('upload (client streaming) over grpc-js and over HTTP/3: every message counted by the server, one-way latency per message', { timeout: 300_000 }, async () => {
  const protocols = protocolsWithPattern('upload');
  assert.deepEqual(protocols, ['grpc-client-stream', 'grpc-h3-client-stream']);
  const r = await runScenario(`name: grpc-upload
protocols: [${protocols.join(', ')}]
workload: { kind: messages, pattern: upload, messages: 60, interval_ms: 10, message_bytes: 120, duration_s: 30 }
network: { delay_ms: 8 }
repetitions: 1
`);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assertOneRowPerJob(r.summary, protocols);
  for (const row of r.summary) {
    const p = row.protocol;
    assert.equal(row.status, 'SUCCEEDED', `${p}: ${row.reason}`);
    assert.equal(row.msgs_sent, '60', p);
    assert.equal(row.msgs_received, '60', `${p}: the server's count (its checksum matched, or the job would have failed)`);
    assert.equal(row.msgs_lost, '0', p);
    assert.equal(row.connections_used, '1', p);
    assert.ok(Number(row.wire_bytes_per_msg) > 120 + 42, `${p} wire bytes/msg ${row.wire_bytes_per_msg}`);
    const rows = r.messages.filter((m) => m.protocol === p);
    assert.deepEqual(rows.map((m) => Number(m.seq)), range(60), `${p}: arrivals in order, each once`);
    // client -> server one way over an 8 ms path, measured on the server's clock
    for (const m of rows) assert.ok(Number(m.latency_ms) >= 7.5 && Number(m.latency_ms) < 5000, `${p} seq ${m.seq} latency ${m.latency_ms}`);
    assert.ok(Number(row.msg_p50_ms) >= 7.5, `${p} p50 ${row.msg_p50_ms}`);
  }
});

test('grpc-h3 unary, bidi (echo) and server streaming (push) through the runner, next to grpc-js', { timeout: 300_000 }, async () => {
  const echo = ['grpc-unary', 'grpc-h3-unary', 'grpc-h3-bidi'];
  const e = await runScenario(`name: grpc-h3-echo
protocols: [${echo.join(', ')}]
workload: { kind: messages, pattern: echo, messages: 60, interval_ms: 5, window: 16, message_bytes: 100, duration_s: 30 }
network: { delay_ms: 10 }
repetitions: 1
`);
  assert.equal(e.code, 0, e.stderr.slice(-2000));
  assertOneRowPerJob(e.summary, echo);
  for (const row of e.summary) {
    const p = row.protocol;
    assert.equal(row.status, 'SUCCEEDED', `${p}: ${row.reason}`);
    assert.equal(row.msgs_received, '60', p);
    assert.equal(row.msgs_lost, '0', p);
    assert.equal(row.connections_used, '1', `${p}: every call on one connection`);
    assert.ok(Number(row.msg_p50_ms) >= 19, `${p}: a round trip crosses the 2 x 10 ms path (p50 ${row.msg_p50_ms})`);
    assert.ok(Number(row.wire_bytes_per_msg) > 200 + 42, `${p} wire bytes/msg ${row.wire_bytes_per_msg}`);
  }
  const push = ['grpc-stream', 'grpc-h3-stream'];
  const s = await runScenario(`name: grpc-h3-push
protocols: [${push.join(', ')}]
workload: { kind: messages, pattern: push, messages: 50, interval_ms: 10, message_bytes: 64, duration_s: 30 }
network: { delay_ms: 5 }
repetitions: 1
`);
  assert.equal(s.code, 0, s.stderr.slice(-2000));
  assertOneRowPerJob(s.summary, push);
  for (const row of s.summary) {
    assert.equal(row.status, 'SUCCEEDED', `${row.protocol}: ${row.reason}`);
    assert.equal(row.msgs_received, '50', row.protocol);
    assert.equal(row.msgs_dup, '0', row.protocol);
    const rows = s.messages.filter((m) => m.protocol === row.protocol);
    assert.deepEqual(rows.map((m) => Number(m.seq)).sort((a, b) => a - b), range(50), row.protocol);
  }
});

test('an outage is noticed by the QUIC idle timeout (grpc-h3-*, both sides) and gRPC keepalive (grpc-client-stream)', { timeout: 300_000 }, async () => {
  const r = await runScenario(`name: grpc-dead
protocols: [grpc-h3-stream]
workload:
  kind: messages
  pattern: push
  messages: 60
  interval_ms: 100
  message_bytes: 64
  duration_s: 25
  keepalive: { ping_ms: 500, ping_timeout_ms: 500, quic_idle_timeout_ms: 1500, retry_ms: 300 }
network:
  delay_ms: 5
  outages: [{ from_s: 2, to_s: 6, direction: both }]
repetitions: 1
timeouts: { request_ms: 3000, cell_s: 60 }
`);
  const row = r.summary[0]!;
  assert.equal(row.protocol, 'grpc-h3-stream');
  assert.equal(row.detect_mech_client, 'quic-idle');
  assert.equal(row.detect_mech_server, 'quic-idle');
  for (const k of ['detect_ms_client', 'detect_ms_server'] as const) {
    // the idle timer starts at the last packet received: not much before 1.5 s, well before the outage ends
    assert.ok(row[k] !== '' && Number(row[k]) > 1200 && Number(row[k]) < 3900, `${k} ${row[k]}`);
  }
  assert.ok(Number(row.reconnects) >= 1, 'reopened the stream after the outage');
  assert.equal(row.msgs_received, '60', 'resumed after the last message seen: nothing missing');
  assert.equal(row.msgs_dup, '0');

  const echo = ['grpc-h3-unary', 'grpc-h3-bidi'];
  const e = await runScenario(`name: grpc-dead-echo
protocols: [${echo.join(', ')}]
workload:
  kind: messages
  pattern: echo
  messages: 100
  interval_ms: 100
  window: 4
  message_bytes: 64
  duration_s: 20
  keepalive: { ping_ms: 500, ping_timeout_ms: 500, quic_idle_timeout_ms: 1500, retry_ms: 300 }
network:
  delay_ms: 5
  outages: [{ from_s: 2, to_s: 6, direction: both }]
repetitions: 1
timeouts: { request_ms: 3000, cell_s: 60 }
`);
  assertOneRowPerJob(e.summary, echo);
  const by = Object.fromEntries(e.summary.map((x) => [x.protocol, x]));
  const want: Record<string, string> = { 'grpc-h3-unary': 'quic-idle', 'grpc-h3-bidi': 'quic-idle' };
  for (const [p, mech] of Object.entries(want)) {
    const x = by[p]!;
    assert.equal(x.detect_mech_client, mech, `${p} client mechanism`);
    assert.ok(x.detect_ms_client !== '' && Number(x.detect_ms_client) < 3900, `${p} client detection ${x.detect_ms_client}`);
    assert.ok(Number(x.msgs_received) > 50, `${p}: echoes flow again after the outage (${x.msgs_received} of 100)`);
  }

  // an upload has no resume: the call dies with the path, noticed by the same mechanisms
  const upload = ['grpc-client-stream', 'grpc-h3-client-stream'];
  const u = await runScenario(`name: grpc-dead-upload
protocols: [${upload.join(', ')}]
workload:
  kind: messages
  pattern: upload
  messages: 60
  interval_ms: 100
  message_bytes: 64
  duration_s: 15
  keepalive: { ping_ms: 500, ping_timeout_ms: 500, quic_idle_timeout_ms: 1500 }
network:
  delay_ms: 5
  outages: [{ from_s: 2, to_s: 6, direction: both }]
repetitions: 1
timeouts: { request_ms: 3000, cell_s: 60 }
`);
  assertOneRowPerJob(u.summary, upload);
  const ub = Object.fromEntries(u.summary.map((x) => [x.protocol, x]));
  for (const [p, mech] of Object.entries({ 'grpc-client-stream': 'grpc-keepalive', 'grpc-h3-client-stream': 'quic-idle' })) {
    const x = ub[p]!;
    assert.equal(x.detect_mech_client, mech, `${p} client mechanism (${x.reason})`);
    assert.ok(x.detect_ms_client !== '' && Number(x.detect_ms_client) < 3900, `${p} client detection ${x.detect_ms_client}`);
    assert.equal(x.msgs_received, '0', `${p}: the upload died, no answer`);
  }
});

test('a pattern a protocol cannot carry is exit 2 naming the protocol and what fits, before anything runs', { timeout: 60_000 }, async () => {
  const cases = [
    { protocol: 'grpc-client-stream', pattern: 'echo' },
    { protocol: 'grpc-h3-client-stream', pattern: 'push' },
    { protocol: 'grpc-h3-unary', pattern: 'upload' },
  ] as const;
  for (const c of cases) {
    const { file } = await scenarioFile(`name: bad\nprotocols: [${c.protocol}]\nworkload: { kind: messages, pattern: ${c.pattern}, messages: 5 }\n`);
    const r = await holbench(['run', file, '--backend', 'helper', '--quiet', '--no-report']);
    assert.equal(r.code, 2, `${c.protocol}/${c.pattern}: exit ${r.code} ${r.stderr}`);
    const def = PROTOCOL_TABLE[c.protocol];
    assert.ok(def.family === 'messages');
    assert.match(r.stderr, new RegExp(`${c.protocol} cannot carry pattern ${c.pattern} \\(${c.protocol} carries ${def.patterns.join(', ')}; ${c.pattern} works with ${protocolsWithPattern(c.pattern).join(', ')}\\)`), r.stderr);
  }
});
