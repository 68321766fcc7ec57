// Scenario validation: every problem at once, with its YAML path and line:column; the CLI
// exits 2 and changes nothing on the system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseScenarioText, ScenarioError } from './load.ts';
import { protocolsWithPattern } from '../protocols.ts';
import { hostNetSnapshot } from '../../netem/hostcheck.ts';
import { holbench as holbenchCli } from '../testdata/cli.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';


const cli = async (args: string[]) => {
  const r = await holbenchCli(args, { timeoutMs: 60_000 });
  return { ...r, code: r.code ?? -1 };
};

test('a good scenario expands sweeps and protocol shorthands', () => {
  const s = parseScenarioText(
    `protocols: [http1.0, http1.1, http1.1x6, {protocol: h2}]
workload: { kind: page, objects: 10, object_bytes: [1000, 5000] }
network: { delay_ms: 25, rate_bps: 20mbit, uplink: { delay_ms: 5 } }
sweep: { loss_pct: [0, 2], rtt_ms: [20, 100] }
`,
    'x.yaml',
  );
  assert.deepEqual(s.protocols.map((p) => [p.label, p.connections]), [['http1.0', 6], ['http1.1', 1], ['http1.1x6', 6], ['h2', 1]]);
  assert.deepEqual(s.cells.map((c) => c.id), ['loss_pct=0,rtt_ms=20', 'loss_pct=0,rtt_ms=100', 'loss_pct=2,rtt_ms=20', 'loss_pct=2,rtt_ms=100']);
  const last = s.cells[3]!.profile;
  // a swept RTT splits evenly and overrides the per-direction delay
  assert.equal(last.uplink.delayMs, 50);
  assert.equal(last.downlink.delayMs, 50);
  assert.deepEqual(last.downlink.loss, { kind: 'random', pct: 2 });
  assert.equal(last.uplink.rateBps, 20e6);
  // default queue holds at least the bandwidth-delay product (20 Mbit/s x 100 ms = 167 packets)
  assert.ok(last.uplink.queuePackets >= 167, `queue ${last.uplink.queuePackets}`);
});

test('every problem is reported at once, with path and line:column', () => {
  const text = `protocols: [http1.1x6, h4]
workload:
  kind: page
  objects: -1
  object_bytes: 10
network:
  delay_ms: -5
  loss_pct: 120
  bogus: 1
  loss_ge: { p: 2, r: 0.5 }
  rate_bps: 0
colour: blue
`;
  assert.throws(
    () => parseScenarioText(text, 'bad.yaml'),
    (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      const p = e.problems.join('\n');
      for (const want of [
        /^1:\d+ protocols\.1: /m,
        /^4:12 workload\.objects: .*>=1/m,
        /^7:13 network\.delay_ms: .*>=0/m,
        /^8:13 network\.loss_pct: .*<=100/m,
        /^9:3 network\.bogus: unknown key/m,
        /^10:\d+ network\.loss_ge\.p: .*<=1/m,
        /^11:\d+ network\.rate_bps: /m,
        /^12:1 colour: unknown key/m,
      ]) {
        assert.match(p, want);
      }
      return true;
    },
  );
});

test('GE loss and random loss together are rejected, naming the field', () => {
  assert.throws(
    () => parseScenarioText(`protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nnetwork: {loss_pct: 1, loss_ge: {p: 0.1}}\n`, 'x.yaml'),
    /network: set either loss_pct or loss_ge, not both/,
  );
});

test('fixed-rate load needs rate_rps; YAML syntax errors carry a position', () => {
  assert.throws(() => parseScenarioText(`protocols: [h2]\nworkload: {kind: load, mode: fixed-rate}\n`, 'x.yaml'), /workload\.rate_rps: rate_rps is required/);
  assert.throws(() => parseScenarioText(`protocols: [h2\nworkload: x`, 'x.yaml'), /\d+:\d+ YAML syntax/);
});

test('CLI: bad scenario exits 2, names fields, and touches nothing', async () => {
  const dir = await tempDir('holbench-test-');
  const f = join(dir, 'bad.yaml');
  await writeFile(f, 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 1}\nnetwork: {delay_ms: -1, loss_ge: {p: 1.5}}\n');
  const before = await hostNetSnapshot();
  const v = await cli(['validate', f]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /network\.delay_ms/);
  assert.match(v.stderr, /network\.loss_ge\.p/);
  const r = await cli(['run', f, '--out', join(dir, 'out')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /3:\d+ network\.delay_ms/);
  assert.match(r.stderr, /nothing was changed/);
  assert.deepEqual(await hostNetSnapshot(), before);
  const u = await cli(['run', 'scenarios/smoke.yaml', '--repetitions', '0']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /--repetitions/);
});

test('CLI: every shipped scenario validates', async () => {
  // the list comes from the folder itself, so a new scenario is checked without editing this test
  const dir = new URL('../../scenarios/', import.meta.url).pathname;
  const files = (await readdir(dir)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort().map((n) => join(dir, n));
  assert.ok(files.length > 0, `no scenario files in ${dir}`);
  const r = await cli(['validate', ...files]);
  assert.equal(r.code, 0, r.stderr);
  // one "ok" line per file, naming it: every file was validated, none skipped
  const validated = r.stdout.split('\n').filter((l) => /: ok \(/.test(l)).map((l) => l.slice(0, l.indexOf(': ok (')));
  assert.deepEqual(validated, files);
});

test('messages workloads: defaults, keepalive, and protocol/pattern fit named with their position', () => {
  const s = parseScenarioText(
    `protocols: [ws, sse, grpc-stream]
workload: { kind: messages, keepalive: { ping_ms: 1000 } }
`,
    'm.yaml',
  );
  const w = s.scenario.workload;
  assert.equal(w.kind, 'messages');
  if (w.kind !== 'messages') return;
  assert.equal(w.pattern, 'push');
  assert.equal(w.message_bytes, 64);
  assert.equal(w.keepalive.ping_ms, 1000);
  assert.deepEqual(s.protocols.map((p) => [p.label, p.connections]), [['ws', 1], ['sse', 1], ['grpc-stream', 1]]);

  const bad = (text: string) => {
    try {
      parseScenarioText(text, 'b.yaml');
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      return e.problems;
    }
    assert.fail('expected a ScenarioError');
  };
  // sse cannot echo; h2 does not carry messages; ws does not carry pages
  const p1 = bad(`protocols: [ws, sse, h2]\nworkload: { kind: messages, pattern: echo }\n`);
  assert.equal(p1.length, 2, p1.join('\n'));
  // the protocols that fit come from the table (ws, grpc-unary, grpc-bidi, the WebTransport variants...)
  assert.ok(p1[0]!.startsWith('1:') && p1[0]!.includes(` protocols.1: sse cannot carry pattern echo (sse carries push; echo works with ${protocolsWithPattern('echo').join(', ')})`), p1[0]);
  assert.match(p1[1]!, /protocols\.2: h2 does not carry messages/);
  const p2 = bad(`protocols: [h2, ws]\nworkload: { kind: page, objects: 1, object_bytes: 1 }\n`);
  assert.match(p2.join('\n'), /protocols\.1: ws carries messages only \(workload kind page takes http1\.0, http1\.1, h2, h3\)/);
  // message_bytes must hold the sequence number and timestamp; unknown keepalive keys are errors
  const p3 = bad(`protocols: [ws]\nworkload: { kind: messages, message_bytes: 8, keepalive: { pingms: 5 } }\n`);
  assert.match(p3.join('\n'), /workload\.message_bytes/);
  assert.match(p3.join('\n'), /workload\.keepalive\.pingms: unknown key/);
});

test('scheduling: top-level (default browser) and a sweep axis of strings; an unknown value exits 2 naming the field', async () => {
  const page = 'protocols: [h2, h3]\nworkload: {kind: page, objects: 1, object_bytes: 1}\n';
  assert.equal(parseScenarioText(page, 'd.yaml').cells[0]!.scheduling, 'browser');
  const fixed = parseScenarioText(`${page}scheduling: round-robin\nsweep: {loss_pct: [0, 2]}\n`, 'f.yaml');
  assert.deepEqual(fixed.cells.map((c) => c.scheduling), ['round-robin', 'round-robin']);
  const s = parseScenarioText(`${page}scheduling: browser\nsweep: {loss_pct: [0, 2], scheduling: [sequential, round-robin]}\n`, 's.yaml');
  // the sweep's value wins over the top-level one; ids name scheduling first
  assert.deepEqual(
    s.cells.map((c) => [c.id, c.scheduling, c.params.scheduling, c.profile.downlink.loss.kind]),
    [
      ['scheduling=sequential,loss_pct=0', 'sequential', 'sequential', 'none'],
      ['scheduling=sequential,loss_pct=2', 'sequential', 'sequential', 'random'],
      ['scheduling=round-robin,loss_pct=0', 'round-robin', 'round-robin', 'none'],
      ['scheduling=round-robin,loss_pct=2', 'round-robin', 'round-robin', 'random'],
    ],
  );
  const dir = await tempDir('holbench-test-');
  const f = join(dir, 'bad.yaml');
  await writeFile(f, `${page}scheduling: fifo\nsweep: {scheduling: [sequential, fair]}\n`);
  const before = await hostNetSnapshot();
  for (const cmd of ['validate', 'run']) {
    const r = await cli([cmd, f, '--out', join(dir, 'out')].slice(0, cmd === 'run' ? 4 : 2));
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /(^\s*|problems: )3:\d+ scheduling: .*sequential.*round-robin.*browser/m);
    assert.match(r.stderr, /(^\s*|problems: )4:\d+ sweep\.scheduling\.1: /m);
  }
  assert.deepEqual(await hostNetSnapshot(), before);
});
