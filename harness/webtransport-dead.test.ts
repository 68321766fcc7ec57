// WebTransport dead-peer detection through real namespaces: a blackhole mid-stream is noticed
// on both ends by QUIC's idle timeout (with PINGs keeping the quiet-but-live connection up);
// the stream variants reconnect and resume after the last message, the datagram variant
// cannot resume and loses what was due after the outage began.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { protocolDef } from './protocols.ts';
import { runScenario, WT } from './testdata/wt-run.ts';

test('a blackhole mid-stream: both ends detect it by the QUIC idle timeout; stream and uni resume without loss, datagrams lose the outage', { timeout: 240_000 }, async () => {
  const resumable = WT.filter((p) => (protocolDef(p) as { resume?: false }).resume !== false);
  // resume on for the variants that can; the datagram variant runs separately (resume: false)
  const scenario = (protocols: readonly string[], resume: boolean) => `name: wt-dead
protocols: [${protocols.join(', ')}]
workload:
  kind: messages
  pattern: push
  messages: 60
  interval_ms: 100
  message_bytes: 64
  duration_s: 25
  resume: ${resume}
  keepalive: { ping_ms: 500, quic_idle_timeout_ms: 1500, retry_ms: 300 }
network:
  delay_ms: 5
  outages: [{ from_s: 2, to_s: 6, direction: both }]
repetitions: 1
timeouts: { request_ms: 3000, cell_s: 60 }
`;
  const a = await runScenario(scenario(resumable, true));
  const b = await runScenario(scenario(['webtransport-datagram'], false));
  const rows = [...a.summary, ...b.summary];
  assert.deepEqual(rows.map((r) => r.protocol).sort(), [...WT].sort());
  for (const row of rows) {
    const p = row.protocol;
    const d = Number(row.detect_ms_client);
    // the idle timer starts at the last packet received: not much before 1.5 s, well before the outage ends
    assert.ok(row.detect_ms_client !== '' && d > 1200 && d < 3900, `${p} client detection ${row.detect_ms_client} ms (${row.detect_mech_client})`);
    assert.equal(row.detect_mech_client, 'quic-idle', p);
    assert.ok(row.detect_ms_server !== '' && Number(row.detect_ms_server) < 3900, `${p} server detection ${row.detect_ms_server}`);
    assert.equal(row.detect_mech_server, 'quic-idle', `${p} server mechanism`);
  }
  for (const row of a.summary) {
    assert.ok(Number(row.reconnects) >= 1, `${row.protocol} reconnected`);
    assert.equal(row.msgs_received, '60', `${row.protocol}: every message after resuming`);
    assert.equal(row.msgs_lost, '0', row.protocol);
  }
  // no resume: the messages due during and after the outage never arrive
  const dg = b.summary[0]!;
  assert.equal(dg.reconnects, '0');
  assert.ok(Number(dg.msgs_lost) >= 30, `datagram lost ${dg.msgs_lost} of 60 (the outage starts at 2 s of 6 s)`);
});
