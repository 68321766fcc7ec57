// Messaging end to end through real namespaces with the helper backend: `holbench run` with a
// messages workload over WebSocket, SSE (HTTP/1.1, HTTP/2, HTTP/3), long polling and gRPC writes messages.csv and the
// summary columns (every message once, wire bytes above the payload, one connection), and
// an outage mid-stream is noticed by each side's liveness mechanism and recovered from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario as runIn } from './testdata/cli.ts';

const runScenario = (yaml: string) => runIn(yaml, { prefix: 'holbench-msg-' });

/** The summary has exactly one row per protocol x repetition, so the loops below cover
 *  every job and nothing can pass by producing fewer rows. */
function assertOneRowPerJob(summary: Record<string, string>[], protocols: readonly string[], reps: number): void {
  const want = protocols.flatMap((p) => Array.from({ length: reps }, (_, i) => `${p}#${i + 1}`)).sort();
  assert.equal(summary.length, protocols.length * reps, `summary rows: ${summary.map((r) => r.protocol).join(', ')}`);
  assert.deepEqual(summary.map((r) => `${r.protocol}#${r.rep}`).sort(), want);
}

test('messages: push and echo over ws, sse (HTTP/1.1, /2, /3), longpoll and gRPC, every message once', { timeout: 300_000 }, async () => {
  const pushProtocols = ['ws', 'sse', 'sse-h2', 'sse-h3', 'longpoll', 'grpc-stream'];
  const push = await runScenario(`name: msg-push
protocols: [${pushProtocols.join(', ')}]
workload: { kind: messages, pattern: push, messages: 40, interval_ms: 25, message_bytes: 64, duration_s: 20 }
network: { delay_ms: 5 }
repetitions: 1
`);
  assert.equal(push.code, 0, push.stderr.slice(-2000));
  assertOneRowPerJob(push.summary, pushProtocols, 1);
  for (const row of push.summary) {
    const p = row.protocol;
    assert.equal(row.status, 'SUCCEEDED', `${p}: ${row.reason}`);
    assert.equal(row.msgs_received, '40', p);
    assert.equal(row.msgs_lost, '0', p);
    assert.equal(row.msgs_dup, '0', p);
    assert.equal(row.connections_used, '1', `${p} keeps one connection`);
    // one-way latency over a 5 ms each-way path: at least the path delay, far below a second
    assert.ok(Number(row.msg_p50_ms) >= 4.5 && Number(row.msg_p50_ms) < 500, `${p} p50 ${row.msg_p50_ms}`);
    // every message carries 64 payload bytes plus framing, TCP/UDP, IP and Ethernet headers
    assert.ok(Number(row.wire_bytes_per_msg) > 64 + 54, `${p} wire bytes/msg ${row.wire_bytes_per_msg}`);
    const rows = push.messages.filter((m) => m.protocol === p && m.dup === '0');
    assert.deepEqual(rows.map((m) => Number(m.seq)).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1), p);
  }
  const by = Object.fromEntries(push.summary.map((r) => [r.protocol, Number(r.wire_bytes_per_msg)]));
  // a long poll pays an HTTP request and response per message; a WebSocket frame does not
  assert.ok(by.longpoll! > by.ws! + 100, `longpoll ${by.longpoll} vs ws ${by.ws} bytes/msg`);

  const echoProtocols = ['ws', 'grpc-unary', 'grpc-bidi'];
  const echo = await runScenario(`name: msg-echo
protocols: [${echoProtocols.join(', ')}]
workload: { kind: messages, pattern: echo, messages: 30, interval_ms: 10, window: 4, message_bytes: 100, duration_s: 20 }
network: { delay_ms: 10 }
repetitions: 1
`);
  assert.equal(echo.code, 0, echo.stderr.slice(-2000));
  assertOneRowPerJob(echo.summary, echoProtocols, 1);
  for (const row of echo.summary) {
    assert.equal(row.status, 'SUCCEEDED', `${row.protocol}: ${row.reason}`);
    assert.equal(row.msgs_received, '30', row.protocol);
    // a round trip crosses the 2 x 10 ms path
    assert.ok(Number(row.msg_p50_ms) >= 19, `${row.protocol} echo p50 ${row.msg_p50_ms}`);
  }
});

test('messages: a blackhole mid-stream is detected by ping/keepalive/heartbeat/idle timeout, and SSE resumes without loss', { timeout: 300_000 }, async () => {
  const deadProtocols = ['ws', 'grpc-stream', 'sse', 'sse-h2', 'sse-h3'];
  const r = await runScenario(`name: msg-dead
protocols: [${deadProtocols.join(', ')}]
workload:
  kind: messages
  pattern: push
  messages: 60
  interval_ms: 100
  message_bytes: 64
  duration_s: 25
  keepalive: { ping_ms: 500, ping_timeout_ms: 500, heartbeat_ms: 300, quic_idle_timeout_ms: 1500, retry_ms: 300 }
network:
  delay_ms: 5
  outages: [{ from_s: 2, to_s: 6, direction: both }]
repetitions: 1
timeouts: { request_ms: 3000, cell_s: 60 }
`);
  assertOneRowPerJob(r.summary, deadProtocols, 1);
  const by = Object.fromEntries(r.summary.map((row) => [row.protocol, row]));
  const expect: Record<string, string> = { ws: 'ws-ping', 'grpc-stream': 'grpc-keepalive', sse: 'sse-heartbeat', 'sse-h2': 'h2-ping', 'sse-h3': 'quic-idle' };
  for (const [p, mech] of Object.entries(expect)) {
    const row = by[p]!;
    assert.ok(row, `${p} missing`);
    const d = Number(row.detect_ms_client);
    assert.ok(row.detect_ms_client !== '' && d > 0 && d < 3900, `${p} client detection ${row.detect_ms_client} ms (${row.detect_mech_client})`);
    assert.equal(row.detect_mech_client, mech, p);
    assert.ok(Number(row.reconnects) >= 1, `${p} reconnected`);
  }
  // the server side notices too where the protocol pings from there (or QUIC idles out)
  for (const [p, mech] of [['ws', 'ws-ping'], ['sse-h2', 'h2-ping'], ['sse-h3', 'quic-idle']]) {
    const row = by[p!]!;
    assert.ok(row.detect_ms_server !== '' && Number(row.detect_ms_server) < 3900, `${p} server detection ${row.detect_ms_server}`);
    assert.equal(row.detect_mech_server, mech, `${p} server mechanism`);
  }
  // QUIC's idle timer starts at the last packet received, so it cannot fire much before
  // the 1.5 s idle timeout (the last packet came at most one 100 ms message before the outage)
  assert.ok(Number(by['sse-h3']!.detect_ms_client) > 1200, `sse-h3 detection ${by['sse-h3']!.detect_ms_client} ms is shorter than the idle timeout`);
  // Last-Event-ID: everything after the outage arrives, nothing twice, on every HTTP version
  for (const p of ['sse', 'sse-h2', 'sse-h3']) {
    assert.equal(by[p]!.msgs_lost, '0', `${p} lost`);
    assert.equal(by[p]!.msgs_dup, '0', `${p} duplicated`);
    assert.equal(by[p]!.msgs_received, '60', p);
  }
});
