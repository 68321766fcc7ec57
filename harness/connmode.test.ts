// Connection modes end to end on real namespaces (helper backend), through `holbench run`:
// at 0% loss and RTT 100 ms, cold TTFB(h2) - TTFB(h3) is about one RTT (TCP's handshake);
// warm takes the handshakes out of TTFB for both; resumed h3 sends its requests in 0-RTT
// (first byte after about one RTT, one RTT sooner than cold, zero_rtt = 1) while resumed h2
// resumes its TLS session without saving a round trip (no early data in Node's TLS). The
// handshake columns of summary.csv and requests.csv say what each connection did.
// HTTP/1.x: warm preconnects http1.1x6's six connections, and http1.0's first six.
// Bounds are generous (+-40% of an RTT); `npm run truth` has the precise check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from '../proc/exec.ts';
import { h3Support } from '../h3/binding.ts';
import { PROTOCOL_TABLE } from './protocols.ts';
import { CONNECTION_MODES } from './drivers/types.ts';

const CLI = new URL('./cli.ts', import.meta.url).pathname;
const RTT = 200;
/** Functional, not a precision check (that is `npm run truth` T1, +-30%): a value must round to
 *  the expected number of round trips. A busy machine adds tens of ms (TLS warm-up, scheduling),
 *  never half a round trip; a missing or extra round trip moves it by a whole one. */
const SLACK = 0.49 * RTT;

type Row = Record<string, string>;
const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Row[];

/** `holbench run` on a scenario text; resolves with the results folder. */
async function runScenario(name: string, text: string): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), `holbench-${name}-`));
  const f = join(out, `${name}.yaml`);
  await writeFile(f, text);
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', f, '--backend', 'helper', '--out', join(out, 'results'), '--no-report', '--json', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => (clearTimeout(timer), r(c))));
  assert.equal(code, 0, stderr);
  const dir = JSON.parse(stdout).outDir as string;
  // nothing left behind
  const { run_id } = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
  const ns = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`holbench-${run_id}-`));
  assert.deepEqual(ns, []);
  return dir;
}

// Round trips on the wire: a request's first byte counted from when it was issued or, if its
// connection began later (cold, resumed: inside the page clock), from when the connection
// began. That leaves out the client's own start-up time (first use of TLS and the driver,
// tens of ms, more on a busy machine), which is not a round trip; truth T1 keeps the whole
// TTFB with a +-30% bound.
const wireTtfb = (q: Record<string, string>) => Number(q.start_ms) + Number(q.ttfb_ms) - Math.max(Number(q.start_ms), Number(q.conn_start_ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const near = (x: number, want: number, what: string) => assert.ok(Math.abs(x - want) <= SLACK, `${what}: ${x.toFixed(1)} ms, expected ${want} +- ${SLACK} ms`);

test('h2 and h3: cold, warm and resumed TTFBs, handshake columns, 0-RTT accepted', { timeout: 400_000, skip: !h3Support().ok && 'no quiche binding' }, async () => {
  const reps = 3;
  const dir = await runScenario(
    'connmodes',
    `protocols: [h2, h3]
workload: {kind: page, objects: 4, object_bytes: 1000}
network: {delay_ms: ${RTT / 2}}
sweep: {connection: [${CONNECTION_MODES.join(', ')}]}
repetitions: ${reps}
`,
  );
  const summary = await csv(join(dir, 'summary.csv'));
  const requests = await csv(join(dir, 'requests.csv'));
  assert.equal(summary.length, 2 * CONNECTION_MODES.length * reps);
  for (const r of summary) assert.equal(r.status, 'SUCCEEDED', `${r.cell} ${r.protocol} ${r.rep}: ${r.reason}`);
  const rows = (p: string, m: string) => {
    const rs = summary.filter((r) => r.protocol === p && r.connection === m);
    assert.equal(rs.length, reps, `${p} ${m} rows`);
    assert.ok(rs.every((r) => r.cell === `connection=${m}`));
    return rs;
  };
  const ttfb = (p: string, m: string) => {
    rows(p, m);
    return median(requests.filter((q) => q.protocol === p && q.cell === `connection=${m}`).map(wireTtfb));
  };
  const col = (p: string, m: string, c: string) => rows(p, m).map((r) => r[c]!);

  // cold: h2 pays TCP + TLS 1.3 (2 RTT) before its request, h3 pays the QUIC handshake (1 RTT)
  near(ttfb('h2', 'cold'), 3 * RTT, 'cold h2 TTFB');
  near(ttfb('h3', 'cold'), 2 * RTT, 'cold h3 TTFB');
  near(ttfb('h2', 'cold') - ttfb('h3', 'cold'), RTT, 'cold TTFB(h2) - TTFB(h3)');
  // warm: no handshake inside the page clock, the first byte one RTT after the request
  near(ttfb('h2', 'warm'), RTT, 'warm h2 TTFB');
  near(ttfb('h3', 'warm'), RTT, 'warm h3 TTFB');
  // resumed: h3's requests ride in 0-RTT, one RTT sooner than cold; h2 still needs its 2 RTT
  near(ttfb('h3', 'resumed'), RTT, 'resumed h3 TTFB');
  near(ttfb('h3', 'cold') - ttfb('h3', 'resumed'), RTT, 'cold - resumed h3 TTFB');
  near(ttfb('h2', 'resumed'), ttfb('h2', 'cold'), 'resumed h2 TTFB (TLS resumption saves no round trip)');

  for (const m of CONNECTION_MODES) {
    for (const p of ['h2', 'h3']) {
      assert.deepEqual(col(p, m, 'connections_used'), Array(reps).fill('1'), `${p} ${m} one connection`);
      // the resumed mode's priming connection reaches the server too (closed before the job's own)
      assert.deepEqual(col(p, m, 'server_connections'), Array(reps).fill(m === 'resumed' ? '2' : '1'), `${p} ${m} server connections`);
      assert.deepEqual(col(p, m, 'resumed'), Array(reps).fill(m === 'resumed' ? '1' : '0'), `${p} ${m} resumed`);
    }
    // 0-RTT: only resumed h3 sends requests as early data, and the server takes them
    assert.deepEqual(col('h3', m, 'zero_rtt'), Array(reps).fill(m === 'resumed' ? '1' : ''), `h3 ${m} zero_rtt`);
    assert.deepEqual(col('h2', m, 'zero_rtt'), Array(reps).fill(''), `h2 ${m} zero_rtt`);
    // handshake times are one RTT per round trip, whatever the mode (warm: before the clock)
    const med = (p: string, c: string) => median(col(p, m, c).map(Number));
    near(med('h2', 'tcp_connect_ms'), RTT, `h2 ${m} tcp_connect_ms`);
    near(med('h2', 'tls_handshake_ms'), RTT, `h2 ${m} tls_handshake_ms`);
    near(med('h2', 'handshake_ms'), 2 * RTT, `h2 ${m} handshake_ms`);
    near(med('h3', 'quic_handshake_ms'), RTT, `h3 ${m} quic_handshake_ms`);
    assert.deepEqual(col('h2', m, 'quic_handshake_ms'), Array(reps).fill(''));
    assert.deepEqual(col('h3', m, 'handshake_ms'), col('h3', m, 'quic_handshake_ms'));
    assert.deepEqual([...col('h3', m, 'tcp_connect_ms'), ...col('h3', m, 'tls_handshake_ms')], Array(2 * reps).fill(''));
  }
  // requests.csv: every request carries its connection's facts; warm connections began
  // before the page clock (one handshake earlier), the others at its start
  for (const q of requests) {
    const cell = q.cell!.replace('connection=', '');
    const start = Number(q.conn_start_ms);
    assert.notEqual(q.conn_start_ms, '', `${q.protocol} ${q.cell} request ${q.req_id} has its connection's facts`);
    if (cell === 'warm') assert.ok(start < -0.6 * (q.protocol === 'h2' ? 2 : 1) * RTT, `${q.protocol} warm connection began at ${start} ms`);
    // (inside the page clock; how long after its start is client start-up time, not a check)
    else assert.ok(start >= 0, `${q.protocol} ${cell} connection began at ${start} ms`);
    assert.equal(q.zero_rtt, q.protocol === 'h3' && cell === 'resumed' ? '1' : '');
    assert.equal(q.resumed, cell === 'resumed' ? '1' : '0');
  }
});

test('HTTP/1.x warm: http1.1x6 preconnects its 6 connections, http1.0 its first 6 requests', { timeout: 400_000 }, async () => {
  const objects = 12;
  const dir = await runScenario(
    'connmodes-h1',
    `protocols: [http1.0, http1.1x6]
workload: {kind: page, objects: ${objects}, object_bytes: 1000}
network: {delay_ms: ${RTT / 2}}
sweep: {connection: [cold, warm]}
repetitions: 1
`,
  );
  const summary = await csv(join(dir, 'summary.csv'));
  const requests = await csv(join(dir, 'requests.csv'));
  assert.equal(summary.length, 4);
  for (const r of summary) assert.equal(r.status, 'SUCCEEDED', `${r.cell} ${r.protocol}: ${r.reason}`);
  const of = (p: string, m: string) => ({
    row: summary.find((r) => r.protocol === p && r.connection === m)!,
    reqs: requests.filter((q) => q.protocol === p && q.cell === `connection=${m}`),
  });
  // round trips before the first byte of a cold connection's first request: TCP, TLS, the
  // request (the bare labels run over TLS: the table's default)
  const coldRtts = (p: 'http1.0' | 'http1.1') => 2 + (PROTOCOL_TABLE[p].tls.kind === 'default-on' ? 1 : 0);
  for (const [label, p] of [['http1.0', 'http1.0'], ['http1.1x6', 'http1.1']] as const) {
    const cold = of(label, 'cold');
    const warm = of(label, 'warm');
    assert.equal(cold.reqs.length, objects);
    assert.equal(warm.reqs.length, objects);
    const pre = warm.reqs.filter((q) => Number(q.conn_start_ms) < 0);
    // six preconnected connections, each carrying requests with one RTT to the first byte
    assert.equal(new Set(pre.map((q) => q.conn_id)).size, 6, `${label} warm: preconnected connections`);
    for (const id of new Set(pre.map((q) => q.conn_id))) {
      near(Math.min(...pre.filter((q) => q.conn_id === id).map((q) => Number(q.ttfb_ms))), RTT, `${label} warm: first TTFB on ${id}`);
    }
    near(Math.min(...cold.reqs.map(wireTtfb)), coldRtts(p) * RTT, `${label} cold first TTFB (from its connection's start)`);
    for (const r of [cold.row, warm.row]) {
      near(Number(r.tcp_connect_ms), RTT, `${label} ${r.connection} tcp_connect_ms`);
      assert.equal(r.zero_rtt, '');
      assert.notEqual(r.tls_handshake_ms, '', `${label} ${r.connection}: TLS handshake recorded`);
    }
  }
  // http1.1x6 uses nothing but its six preconnected connections
  assert.equal(of('http1.1x6', 'warm').row.connections_used, '6');
  assert.equal(of('http1.1x6', 'warm').reqs.filter((q) => Number(q.conn_start_ms) >= 0).length, 0);
  // http1.0: a connection per request; the first six were preconnected, the rest opened on demand
  assert.equal(of('http1.0', 'warm').row.connections_used, String(objects));
  assert.equal(of('http1.0', 'warm').reqs.filter((q) => Number(q.conn_start_ms) < 0).length, 6);
});
