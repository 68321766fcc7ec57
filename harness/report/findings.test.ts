// The report's findings (findings.ts): the sentences with hand-computed numbers, paired vs
// unpaired, which protocol pairs, the conditions a sentence names, and findings.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relChangeCi95 } from '../metrics.ts';
import { buildFindings, findingsMarkdown, HANDSHAKE_COLUMN, pctText } from './findings.ts';
import { sortProtocols } from './labels.ts';
import type { RunInfo } from './load.ts';

type Row = Record<string, string>;

const PAIRED: RunInfo = { scenario: { name: 'hand' }, pairing: { exact: true, note: 'helper: seeded PRNG' } };
const INEXACT: RunInfo = { scenario: { name: 'hand' }, pairing: { exact: false, note: 'netem: no seed option' } };

/** summary.csv rows (as text) of one protocol in one cell: page_ms per repetition, seeds,
 *  statuses and any extra columns per repetition. */
function rows(protocol: string, page: number[], o: { cell?: string; seeds?: (number | null)[]; status?: string[]; extra?: Row[]; workload?: string; metric?: string } = {}): Row[] {
  return page.map((v, i) => ({
    scenario: 'hand', cell: o.cell ?? 'loss_pct=2', protocol, rep: String(i + 1), status: o.status?.[i] ?? 'SUCCEEDED', reason: '', workload: o.workload ?? 'page',
    loss_pct: '2', rtt_ms: '50', rate_mbps: '20', tcp_cc: 'cubic', quic_cc: 'cubic', seed: o.seeds?.[i] === null ? '' : String(o.seeds?.[i] ?? 1000 + i),
    [o.metric ?? 'page_ms']: o.status?.[i] && o.status[i] !== 'SUCCEEDED' ? '' : String(v), ...(o.extra?.[i] ?? {}),
  }));
}

const COND = '2% loss · RTT 50 ms · 20 Mbit/s';
// hand-computed (metrics.ts pairedRelChangeCi95): h2 = 100, 200, 300; h3 = 50, 110, 140;
// R = 100 / 200 = 0.5: -50%; residuals h3 - 0.5 h2 = 0, 10, -10, sd 10;
// half = 4.303 * 10 / (sqrt(3) * 200) = 12.42%: [-62.42%, -37.58%]
const H2 = [100, 200, 300];
const H3 = [50, 110, 140];

test('pctText: whole percent from 10 up, one decimal below, explicit sign, 0% for no change', () => {
  assert.deepEqual([-55.4, -9.96, -3.24, 0.04, 0, 7, 12.5, Infinity].map(pctText), ['-55%', '-10%', '-3.2%', '0%', '0%', '+7%', '+13%', '+inf%']);
});

test('paired: same seeds per repetition and an exact backend give the paired t-interval, by hand', () => {
  const f = buildFindings([...rows('h2', H2), ...rows('h3', H3)], PAIRED, 'hand-1');
  assert.equal(f.cells.length, 1);
  const [x] = f.cells[0]!.findings;
  assert.equal(f.cells[0]!.findings.length, 1);
  assert.equal(x!.text, `h3 page time -50% vs h2 [-62%, -38%], paired, n=3 · ${COND}`);
  assert.deepEqual([x!.change_pct, +x!.lo_pct!.toFixed(2), +x!.hi_pct!.toFixed(2), x!.paired, x!.pairs, x!.mean_baseline, x!.mean_candidate], [-50, -62.42, -37.58, true, 3, 200, 100]);
  assert.equal(f.pairing_exact, true);
  assert.deepEqual(f.notes, [`summary.csv has no ${HANDSHAKE_COLUMN} column: the handshakes' share of page time is not given.`]);
});

test('unpaired: an inexact backend, or different seeds, give the two-sample interval and say "unpaired"', () => {
  // the same numbers unpaired: relChangeCi95's bootstrap (seed 1) gives [-75%, 0%]
  const u = relChangeCi95(H2, H3);
  assert.deepEqual([u.lo, u.hi], [-0.75, 0]);
  const inexact = buildFindings([...rows('h2', H2), ...rows('h3', H3)], INEXACT, 'hand-2');
  const x = inexact.cells[0]!.findings[0]!;
  assert.equal(x.text, `h3 page time -50% vs h2 [-75%, 0%], unpaired, n=3 · ${COND}`);
  assert.equal(x.paired, false);
  assert.match(x.pairing_note, /could not reseed the impairment exactly \(netem: no seed option\)/);
  assert.match(inexact.notes[0]!, /^Every comparison is unpaired: the backend could not reseed/);
  // exact backend, but repetition 2 ran under other seeds: unpaired, and the notes say why
  const seeds = buildFindings([...rows('h2', H2, { seeds: [1, 2, 3] }), ...rows('h3', H3, { seeds: [1, 9, 3] })], PAIRED, 'hand-3');
  assert.equal(seeds.cells[0]!.findings[0]!.text, `h3 page time -50% vs h2 [-75%, 0%], unpaired, n=3 · ${COND}`);
  assert.match(seeds.notes.join('\n'), /Unpaired although the backend reseeds exactly: h3 vs h2 \(page_ms, loss_pct=2\): repetition 2 met different seeds \(2 vs 9\)/);
  // a run from before paired repetitions: no seeds, no pairing record
  const old = buildFindings([...rows('h2', H2, { seeds: [null, null, null] }), ...rows('h3', H3, { seeds: [null, null, null] })], { scenario: { name: 'old' } }, 'hand-4');
  assert.match(old.cells[0]!.findings[0]!.text, /, unpaired, n=3 · /);
  assert.match(old.notes[0]!, /records no pairing/);
});

test('a failed repetition: paired over the others, the sentence says who failed', () => {
  // h3's repetition 3 failed: pairs are repetitions 1 and 2: h2 100, 200; h3 50, 110;
  // R = 80 / 150; residuals 50 - R 100 = -3.33, 110 - R 200 = 3.33; sd 4.714;
  // half = 12.706 * 4.714 / (sqrt(2) * 150) = 28.24%: -46.7% [-74.9%, -18.4%]
  const f = buildFindings([...rows('h2', H2), ...rows('h3', H3, { status: ['SUCCEEDED', 'SUCCEEDED', 'FAILED'] })], PAIRED, 'hand-5');
  const x = f.cells[0]!.findings[0]!;
  assert.equal(x.text, `h3 page time -47% vs h2 [-75%, -18%], paired, n=2, h3 failed 1 of 3 · ${COND}`);
  assert.deepEqual([x.n_candidate, x.n_baseline, x.failed_candidate, x.failed_baseline], [2, 3, 1, 0]);
  assert.match(f.notes.join('\n'), /Paired over the repetitions both protocols completed: h3 vs h2 \(page_ms, loss_pct=2\): 1 repetition\(s\) with a value on one side only left out/);
  // every repetition of h3 failed: no number, said so
  const none = buildFindings([...rows('h2', H2), ...rows('h3', H3, { status: ['FAILED', 'FAILED', 'FAILED'] })], PAIRED, 'hand-6');
  assert.equal(none.cells[0]!.findings[0]!.text, `h3 page time vs h2: no successful repetition of h3 (h3 failed 3 of 3) · ${COND}`);
});

test('the sentence names scheduling, connection mode and the handshakes\' share when the run has those columns', () => {
  // handshake share = sum(handshake_ms) / sum(page_ms): h2 (20 + 40 + 60) / 600 = 20%,
  // h3 (5 + 11 + 14) / 300 = 10%
  const extra = (hs: number[]) => hs.map((h) => ({ scheduling: 'browser', connection: 'cold', [HANDSHAKE_COLUMN]: String(h) }));
  const f = buildFindings([...rows('h2', H2, { extra: extra([20, 40, 60]) }), ...rows('h3', H3, { extra: extra([5, 11, 14]) })], PAIRED, 'hand-7');
  const x = f.cells[0]!.findings[0]!;
  assert.equal(x.text, `h3 page time -50% vs h2 [-62%, -38%], paired, n=3 · handshakes 10% of h3's page time, 20% of h2's · ${COND} · scheduling browser · cold`);
  assert.deepEqual([x.handshake_share_candidate, x.handshake_share_baseline], [0.1, 0.2]);
  assert.ok(!f.notes.some((n) => n.includes(HANDSHAKE_COLUMN)), 'no "missing handshake column" note');
});

test('which pairs: page workloads each protocol against the one before it in protocol-table order, newest first; messages each against the first', () => {
  const page = ['h3', 'http1.1x6', 'h2', 'http1.0'];
  const order = sortProtocols(page); // the protocol table's order
  const f = buildFindings(page.flatMap((p) => rows(p, H2)), PAIRED, 'hand-8');
  const got = f.cells[0]!.findings.map((x) => [x.candidate, x.baseline]);
  assert.equal(got.length, page.length - 1);
  assert.deepEqual(got, order.slice(1).map((p, i) => [p, order[i]!]).reverse());
  assert.deepEqual(got[0], ['h3', 'h2']);
  // messages: msg_p50_ms then msg_p99_ms, each protocol against the first of the table
  const msg = ['grpc-stream', 'ws', 'sse'];
  const mo = sortProtocols(msg);
  const mrows = msg.flatMap((p) => rows(p, [10, 11, 12], { workload: 'messages', metric: 'msg_p50_ms', extra: [0, 1, 2].map((i) => ({ msg_p99_ms: String(40 + i) })) }));
  const m = buildFindings(mrows, PAIRED, 'hand-9').cells[0]!.findings;
  assert.equal(m.length, 2 * (msg.length - 1));
  assert.deepEqual(m.map((x) => `${x.metric} ${x.candidate} vs ${x.baseline}`), ['msg_p50_ms', 'msg_p99_ms'].flatMap((c) => mo.slice(1).map((p) => `${c} ${p} vs ${mo[0]}`)));
  assert.match(m[0]!.text, /^sse message latency p50 0% vs ws \[0%, 0%\], paired, n=3 · /);
});

test('which pairs with Chromium: each client against its own predecessor, and Chromium against our client on the same protocol', () => {
  const page = ['h3@chromium', 'h2', 'h3', 'h2@chromium', 'http1.1x6@chromium'];
  const f = buildFindings(page.flatMap((p) => rows(p, H2)), PAIRED, 'hand-10');
  const got = f.cells[0]!.findings.map((x) => `${x.candidate} vs ${x.baseline}`);
  assert.deepEqual(got, ['h3 vs h2', 'h3@chromium vs h2@chromium', 'h2@chromium vs http1.1x6@chromium', 'h2@chromium vs h2', 'h3@chromium vs h3']);
});

test('which pairs with clients and servers: h2 vs h3 within each (client, server) pair; each pair against the one differing in one party', () => {
  const page = ['h2', 'h3', 'h2@chromium', 'h3@chromium', 'h2@caddy', 'h3@caddy', 'h2@chromium@caddy', 'h3@chromium@caddy'];
  const f = buildFindings(page.flatMap((p) => rows(p, H2)), PAIRED, 'hand-11');
  const got = new Set(f.cells[0]!.findings.map((x) => `${x.candidate} vs ${x.baseline}`));
  const want = [
    // the protocol comparison within each pair: never across clients or servers
    'h3 vs h2', 'h3@chromium vs h2@chromium', 'h3@caddy vs h2@caddy', 'h3@chromium@caddy vs h2@chromium@caddy',
    // the client on the same server, the server with the same client
    'h2@chromium vs h2', 'h3@chromium vs h3', 'h2@caddy vs h2', 'h3@caddy vs h3', 'h2@chromium@caddy vs h2@caddy', 'h3@chromium@caddy vs h3@caddy',
  ];
  assert.deepEqual([...got].sort(), want.sort());
});

test('findings.md: a heading per cell in loss order, the same sentences as the JSON, then the method; control characters written out', () => {
  const f = buildFindings(
    [...rows('h2', H2, { cell: 'b' }), ...rows('h3', H3, { cell: 'b' }), ...rows('h2', H2, { cell: 'a\u001b[31m' }).map((r) => ({ ...r, loss_pct: '0' })), ...rows('h3', H2, { cell: 'a\u001b[31m' }).map((r) => ({ ...r, loss_pct: '0' }))],
    PAIRED,
    'hand-10',
  );
  const md = findingsMarkdown(f);
  const bullets = md.split('\n').filter((l) => l.startsWith('- h3'));
  assert.deepEqual(bullets, f.cells.flatMap((c) => c.findings.map((x) => `- ${x.text}`)));
  assert.equal(bullets.length, 2);
  assert.ok(md.indexOf('## loss 0%') < md.indexOf('## loss 2%'), 'cells in loss order');
  assert.ok(md.indexOf('## loss 2%') < md.indexOf('## How these are computed'));
  assert.ok(!md.includes('\u001b'), 'ESC written out');
  assert.match(md, /cell `a\\x1b\[31m`/);
});
