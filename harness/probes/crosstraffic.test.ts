// Competing traffic on real namespaces: an iperf3 TCP flow shares a rate-limited bottleneck
// with a page load (its goodput is measured, above 0 and below the bottleneck, and the page is
// slower than without it), nothing of iperf3 survives the run (also when the job fails), and
// bad cross_traffic input is refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from '../../proc/exec.ts';
import { holbench } from '../testdata/cli.ts';
import { parseScenarioText } from '../scenario/load.ts';
import { clientArgs, IPERF_PORT_BASE, parseIperf } from './crosstraffic.ts';
import { crossFlows, MAX_CROSS_ENTRIES } from '../scenario/crosstraffic.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Record<string, string>[];

/** iperf3 processes of ours: the ports this probe uses (other agents' iperf3 use others). */
async function ourIperf(): Promise<string[]> {
  const r = await run('ps', ['-eo', 'pid=,args='], { allowFail: true });
  const ports = Array.from({ length: MAX_CROSS_ENTRIES }, (_, i) => String(IPERF_PORT_BASE + i));
  return r.stdout.split('\n').filter((l) => /\biperf3\b/.test(l) && ports.some((p) => l.includes(` -p ${p}`)) && !/\bdefunct\b/.test(l));
}

async function runScenario(yaml: string) {
  const dir = await tempDir('holbench-cross-');
  const f = join(dir, 's.yaml');
  await writeFile(f, yaml);
  const r = await holbench(['run', f, '--backend', 'helper', '--out', join(dir, 'results'), '--no-report', '--json', '--quiet'], { timeoutMs: 300_000 });
  return { dir, r };
}

const RATE_MBPS = 4;
const page = (cellS: number) => `name: cross-test
protocols: [h2]
workload: {kind: page, objects: 8, object_bytes: 125000}
network: {delay_ms: 10, rate_bps: ${RATE_MBPS}mbit}
cross_traffic:
  - {kind: tcp, flows: 1, cc: cubic, direction: downlink, start_s: -1, stop_s: 6}
sweep: {cross_traffic: [off, on]}
repetitions: 1
timeouts: {request_ms: 30000, cell_s: ${cellS}}
`;

test('a TCP flow shares the bottleneck: goodput > 0 and below the rate, the page is slower, no iperf3 left', async () => {
  assert.deepEqual(await ourIperf(), [], 'no iperf3 of ours before the run');
  const { dir, r } = await runScenario(page(60));
  try {
    assert.equal(r.code, 0, r.stderr);
    const rows = await csv(join(JSON.parse(r.stdout).outDir, 'summary.csv'));
    assert.equal(rows.length, 2);
    const off = rows.find((x) => x.cell === 'cross_traffic=off')!;
    const on = rows.find((x) => x.cell === 'cross_traffic=on')!;
    assert.equal(off.status, 'SUCCEEDED', off.reason);
    assert.equal(on.status, 'SUCCEEDED', on.reason);
    assert.equal(off.cross_goodput_mbps, '');
    assert.equal(off.cross_traffic, '');
    assert.equal(on.cross_error, '');
    assert.equal(on.cross_traffic, 'tcp x1 cubic down -1..6s');
    const g = Number(on.cross_goodput_mbps);
    assert.ok(g > 0 && g < RATE_MBPS, `cross goodput ${g} Mbit/s within (0, ${RATE_MBPS})`);
    assert.ok(Number(on.cross_retransmits) >= 0);
    // 1 MB page: ~2 s alone at 4 Mbit/s; sharing with a bulk flow must make it slower
    assert.ok(Number(on.page_ms) > Number(off.page_ms), `page ${on.page_ms} ms with vs ${off.page_ms} ms without`);
    process.stderr.write(`cross goodput ${g} Mbit/s, retransmits ${on.cross_retransmits}; page ${off.page_ms} ms without, ${on.page_ms} ms with\n`);
    const runJson = JSON.parse(await readFile(join(JSON.parse(r.stdout).outDir, 'run.json'), 'utf8'));
    assert.deepEqual(runJson.scenario.cross_traffic[0].kind, 'tcp');
    assert.deepEqual(await ourIperf(), [], 'no iperf3 left after the run');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failed job (cell timeout) still stops and reaps its iperf3 processes', async () => {
  // a 1 s cell cannot load 1 MB at 4 Mbit/s: the job fails, the flow runs on to its stop_s
  const { dir, r } = await runScenario(page(1).replace('sweep: {cross_traffic: [off, on]}\n', ''));
  try {
    assert.equal(r.code, 1, r.stderr);
    const rows = await csv(join(JSON.parse(r.stdout).outDir, 'summary.csv'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'FAILED');
    assert.deepEqual(await ourIperf(), [], 'no iperf3 left after a failed job');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a constant-rate UDP flow uplink: its goodput is about its rate, its loss is reported', async () => {
  const { dir, r } = await runScenario(`name: cross-udp
protocols: [h2]
workload: {kind: page, objects: 2, object_bytes: 10000}
network: {delay_ms: 10, rate_bps: ${RATE_MBPS}mbit}
cross_traffic:
  - {kind: udp, rate_bps: 1mbit, direction: uplink, start_s: 0, stop_s: 3}
repetitions: 1
`);
  try {
    assert.equal(r.code, 0, r.stderr);
    const [row] = await csv(join(JSON.parse(r.stdout).outDir, 'summary.csv'));
    assert.equal(row!.status, 'SUCCEEDED', row!.reason);
    assert.equal(row!.cross_error, '');
    const g = Number(row!.cross_goodput_mbps);
    // 1 Mbit/s offered into a 4 Mbit/s uplink: nearly all of it arrives
    assert.ok(g > 0.5 && g <= 1.1, `udp goodput ${g} Mbit/s`);
    assert.ok(Number(row!.cross_udp_lost_pct) >= 0 && row!.cross_udp_lost_pct !== '');
    assert.equal(row!.cross_retransmits, '');
    process.stderr.write(`udp goodput ${g} Mbit/s, lost ${row!.cross_udp_lost_pct}%\n`);
    assert.deepEqual(await ourIperf(), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C while competing flows run: exit 130, no iperf3 left', async () => {
  const dir = await tempDir('holbench-cross-');
  try {
    const f = join(dir, 's.yaml');
    await writeFile(f, page(60).replace('stop_s: 6', 'stop_s: 60').replace('sweep: {cross_traffic: [off, on]}\n', ''));
    let seen = false;
    const r = await holbench(['run', f, '--backend', 'helper', '--out', join(dir, 'results'), '--no-report'], {
      timeoutMs: 240_000,
      onStderr: (line, kill) => {
        // the job has started: its flows are running (they started 1 s before it)
        if (!seen && /cross-test|h2/.test(line) && /rep|job|\//.test(line)) {
          seen = true;
          setTimeout(() => kill('SIGINT'), 3000);
        }
      },
    });
    assert.ok(seen, 'saw the job start');
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(await ourIperf(), [], 'no iperf3 left after Ctrl-C');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('iperf3 arguments and output: argument arrays per kind, results from end.sum_received', () => {
  const [tcp, udp] = crossFlows([
    { kind: 'tcp', flows: 2, direction: 'uplink', start_s: 1, stop_s: 4 },
    { kind: 'udp', rate_bps: 2e6, direction: 'downlink', start_s: 0, stop_s: 3 },
  ], 'reno');
  assert.deepEqual(clientArgs(tcp!, '10.0.0.1', 15201), ['-c', '10.0.0.1', '-p', '15201', '-t', '3', '-J', '--connect-timeout', '5000', '-P', '2', '-C', 'reno']);
  assert.deepEqual(clientArgs(udp!, '10.0.0.2', 15202), ['-c', '10.0.0.2', '-p', '15202', '-t', '3', '-J', '--connect-timeout', '5000', '-u', '-b', '2000000']);
  assert.deepEqual(parseIperf(JSON.stringify({ end: { sum_sent: { retransmits: 7 }, sum_received: { bits_per_second: 3e6 } } })), { receivedBps: 3e6, retransmits: 7, lostPct: null });
  assert.throws(() => parseIperf(JSON.stringify({ error: 'unable to connect to server' })), /unable to connect/);
});

test('bad cross_traffic input is refused naming the field', () => {
  const base = 'protocols: [h2]\nworkload: {kind: page, objects: 1, object_bytes: 100}\n';
  const bad: [string, RegExp][] = [
    ['cross_traffic: [{kind: tcp, start_s: 5, stop_s: 5}]', /cross_traffic\.0\.stop_s: stop_s must be greater than start_s/],
    ['cross_traffic: [{kind: tcp, stop_s: 2.5}]', /cross_traffic\.0\.stop_s/],
    ['cross_traffic: [{kind: udp, stop_s: 5}]', /cross_traffic\.0\.rate_bps/],
    ['cross_traffic: [{kind: sctp, stop_s: 5}]', /cross_traffic\.0\.kind/],
    ['cross_traffic: [{kind: tcp, cc: vegas, stop_s: 5}]', /cross_traffic\.0\.cc/],
    ['sweep: {cross_traffic: [off, on]}', /sweep\.cross_traffic: the scenario has no cross_traffic/],
  ];
  let n = 0;
  for (const [y, re] of bad) {
    assert.throws(() => parseScenarioText(`${base}${y}\n`, 'x.yaml'), re, y);
    n++;
  }
  assert.equal(n, bad.length);
});
