// Echo through an outage, end to end (`holbench run`, helper backend, real namespaces), on
// every protocol that carries echo and resumes (from the protocol table): a 3 s blackhole
// mid-run; each client detects the dead connection (ws ping, gRPC keepalive, QUIC idle
// timeout), the messages outstanding on it are settled lost at that moment (messages.csv
// lost_ms / lost_by), the window frees, and the schedule goes on over the new connection:
// every message is attempted within the run, none counted twice, the late ones delivered.
// Before the window rule, sending stopped after the outage until request_ms (30 s) and a
// run sent about a quarter of its messages. The server side detects too, grpc-h3-unary
// included (QUIC PINGs make an idle timeout a dead peer with no request open, as grpc-js's
// keepalive does for grpc-unary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { protocolsWithPattern, resumableProtocols } from './protocols.ts';
import { runScenario } from './testdata/wt-run.ts';

const N = 200;
const WINDOW = 4;
const INTERVAL_MS = 45; // the schedule runs 9 s; the outage is 1.5-4.5 s into the job

/** each side's liveness mechanism under this scenario's keepalive */
const MECH: Record<string, string> = {
  ws: 'ws-ping',
  'grpc-unary': 'grpc-keepalive',
  'grpc-bidi': 'grpc-keepalive',
  'grpc-h3-unary': 'quic-idle',
  'grpc-h3-bidi': 'quic-idle',
  'webtransport-stream': 'quic-idle',
  'webtransport-uni': 'quic-idle',
};

test('echo through a 3 s blackhole: outstanding messages lost at the detection, every message attempted, the rest delivered; both sides detect', { timeout: 240_000 }, async (t) => {
  const resumable = new Set<string>(resumableProtocols());
  const protocols = protocolsWithPattern('echo').filter((p) => resumable.has(p));
  assert.deepEqual(protocols.filter((p) => !MECH[p]), [], 'every echo protocol has an expected mechanism here');
  const r = await runScenario(`name: echo-outage
protocols: [${protocols.join(', ')}]
workload:
  kind: messages
  pattern: echo
  messages: ${N}
  interval_ms: ${INTERVAL_MS}
  window: ${WINDOW}
  message_bytes: 64
  duration_s: 18
  resume: true
  keepalive: { ping_ms: 500, ping_timeout_ms: 500, quic_idle_timeout_ms: 1500, retry_ms: 300 }
network:
  delay_ms: 5
  outages: [{ from_s: 1.5, to_s: 4.5, direction: both }]
repetitions: 1
`);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.deepEqual(r.summary.map((s) => s.protocol).sort(), [...protocols].sort(), 'one summary row per protocol');
  for (const row of r.summary) {
    const p = row.protocol!;
    const rows = r.messages.filter((m) => m.protocol === p);
    const lost = rows.filter((m) => m.lost_by !== '');
    t.diagnostic(`${p}: sent ${row.msgs_sent} received ${row.msgs_received} lost ${row.msgs_lost} (${[...new Set(lost.map((m) => m.lost_by))].map((b) => `${b} ${lost.filter((m) => m.lost_by === b).length}`).join(', ')}); detect client ${row.detect_ms_client} ms ${row.detect_mech_client}, server ${row.detect_ms_server} ms ${row.detect_mech_server}; reconnects ${row.reconnects}`);
    assert.equal(row.status, 'SUCCEEDED', `${p}: ${row.reason}`);
    // every message attempted, and accounted for exactly once: delivered or lost
    assert.equal(row.msgs_sent, String(N), `${p} sent`);
    assert.equal(row.msgs_dup, '0', `${p} dup`);
    const seqs = rows.map((m) => Number(m.seq)).sort((a, b) => a - b);
    assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i + 1), `${p}: one row per message`);
    assert.equal(Number(row.msgs_lost), lost.length, `${p}: msgs_lost = the lost rows`);
    assert.equal(Number(row.msgs_received), N - lost.length, `${p} received`);

    // the client's detection settles what was outstanding on the dead connection, at once
    const mech = MECH[p]!;
    assert.equal(row.detect_mech_client, mech, `${p} client mechanism`);
    const atDetection = lost.filter((m) => m.lost_by === mech);
    assert.ok(atDetection.length >= 1 && atDetection.length <= WINDOW, `${p}: ${atDetection.length} lost at the detection (window ${WINDOW})`);
    const detectedMs = Number(atDetection[0]!.lost_ms);
    assert.ok(atDetection.every((m) => Number(m.lost_ms) === detectedMs), `${p}: all at one moment`);
    const outstanding = rows.filter((m) => Number(m.sent_ms) <= detectedMs && !(m.lost_by === '' && Number(m.recv_ms) <= detectedMs));
    assert.deepEqual(outstanding.map((m) => m.seq), atDetection.map((m) => m.seq), `${p}: exactly the messages outstanding at ${detectedMs} ms`);
    // a detection inside the outage (job time; the outage starts 1.5 s in, the probe's clock
    // starts slightly before the job's): generous bounds
    assert.ok(detectedMs > 1000 && detectedMs < 6000, `${p}: detected at ${detectedMs} ms`);
    // little else lost: at most one window's worth of calls that met a failed reconnect
    assert.ok(lost.length - atDetection.length <= WINDOW, `${p}: lost besides the detection: ${JSON.stringify(lost.filter((m) => m.lost_by !== mech).map((m) => [m.seq, m.lost_by]))}`);
    // the messages sent well after the outage all came back, on the new connection
    const late = rows.filter((m) => Number(m.seq) > (N * 3) / 4);
    assert.ok(late.every((m) => m.lost_by === '' && Number(m.latency_ms) > 0), `${p}: the last quarter delivered`);
    assert.ok(Number(row.reconnects) >= 1, `${p} reconnected`);

    // the server side notices the dead client too (grpc-h3-unary: with no request open)
    assert.equal(row.detect_mech_server, mech, `${p} server mechanism (detect_ms_server ${row.detect_ms_server})`);
    assert.ok(Number(row.detect_ms_server) > 0 && Number(row.detect_ms_server) < 4000, `${p} server detection ${row.detect_ms_server} ms`);
  }
});
