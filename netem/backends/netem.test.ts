// Pure tests of the tc-netem argument builder and the stats parser (no kernel needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProfile, type LinkImpairment } from '../profile.ts';
import type { Topology } from '../topology.ts';
import {
  ASSUMED_LINE_BPS,
  createNetemBackend,
  delayLinePackets,
  directionSeed,
  fmtPct,
  needsReAdd,
  netemArgs,
  netemAvailable,
  netemUnsupported,
  netemUnsupportedProfile,
  netemQdiscArgv,
  netemReseedArgv,
  parseQdiscSeed,
  parseQdiscStats,
  seedUnsupportedNote,
} from './netem.ts';

const link = (over: Partial<LinkImpairment> = {}): LinkImpairment => ({
  delayMs: 20,
  jitterMs: 0,
  jitterDist: 'uniform',
  loss: { kind: 'none' },
  rateBps: null,
  queuePackets: 1000,
  reorder: false,
  ...over,
});

test('plain delay: limit covers queue + a 1 Gbit/s delay line', () => {
  // 1e9 bit/s * 20 ms / 8 / 1500 B = 1667 packets
  assert.equal(delayLinePackets(link()), 1667);
  assert.deepEqual(netemArgs(link()), ['limit', '2667', 'delay', '20ms']);
});

test('random loss in percent', () => {
  assert.deepEqual(netemArgs(link({ loss: { kind: 'random', pct: 10 } })), ['limit', '2667', 'delay', '20ms', 'loss', 'random', '10%']);
  assert.deepEqual(netemArgs(link({ loss: { kind: 'random', pct: 0.1 } })).slice(4), ['loss', 'random', '0.1%']);
  assert.equal(fmtPct(0.123456789), '12.345679%');
  assert.equal(fmtPct(0.07), '7%'); // no 7.000000000000001%
});

test('Gilbert-Elliott: all four parameters, probabilities as percents', () => {
  const a = netemArgs(link({ loss: { kind: 'ge', p: 0.01, r: 0.2, oneMinusH: 1, oneMinusK: 0 } }));
  assert.deepEqual(a.slice(4), ['loss', 'gemodel', '1%', '20%', '100%', '0%']);
  // via the profile parser (netem defaults r = 1-p, 1-h = 1, 1-k = 0)
  const p = parseProfile({ delay_ms: 5, loss_ge: { p: 0.05 } });
  assert.deepEqual(netemArgs(p.uplink).slice(4), ['loss', 'gemodel', '5%', '95%', '100%', '0%']);
});

test('uniform jitter: no distribution keyword, in-order release via a high rate', () => {
  const a = netemArgs(link({ jitterMs: 5 }));
  // delay line sized for 20 + 5 ms
  assert.deepEqual(a, ['limit', String(1000 + Math.ceil((ASSUMED_LINE_BPS * 25) / 1000 / 8 / 1500)), 'delay', '20ms', '5ms', 'rate', '100000000000bit']);
  assert.ok(!a.includes('distribution'));
});

test('normal jitter: distribution normal, delay line sized for ±4 sigma', () => {
  const a = netemArgs(link({ jitterMs: 2, jitterDist: 'normal' }));
  assert.deepEqual(a.slice(2), ['delay', '20ms', '2ms', 'distribution', 'normal', 'rate', '100000000000bit']);
  assert.equal(a[1], String(1000 + Math.ceil((ASSUMED_LINE_BPS * 28) / 1000 / 8 / 1500)));
});

test('reorder: true leaves the rate out so netem reorders by jitter', () => {
  assert.deepEqual(netemArgs(link({ jitterMs: 5, reorder: true })).slice(2), ['delay', '20ms', '5ms']);
});

test('reorder knob: native `reorder P% gap G`; without it tc sends gap 0 (netem: no reordering)', () => {
  const p = parseProfile({ delay_ms: 10, uplink: { reorder_pct: 25, reorder_gap: 5 } });
  const a = netemArgs(p.uplink);
  assert.deepEqual(a.slice(a.indexOf('reorder'), a.indexOf('reorder') + 4), ['reorder', '25%', 'gap', '5']);
  assert.ok(!netemArgs(p.downlink).includes('reorder'));
  assert.deepEqual(netemUnsupported(p.uplink), []);
  assert.equal(netemUnsupportedProfile(p), null);
});

test('UNSUPPORTED on netem, with the reason per field: trace, time-based burst loss, byte/ms queues, codel, reorder with a rate', () => {
  const p = parseProfile({
    delay_ms: 10,
    uplink: { trace: 'step-12-3.trace', loss_burst: { mean_good_ms: 200, mean_bad_ms: 50 }, queue_bytes: 30000, queue_ms: 20, aqm: 'codel' },
    downlink: { rate_bps: '10mbit', reorder_pct: 5 },
  });
  const up = netemUnsupported(p.uplink);
  const fields = ['trace', 'loss_burst', 'queue_bytes', 'queue_ms', 'aqm'];
  assert.equal(up.length, fields.length);
  fields.forEach((f, i) => assert.match(up[i]!, new RegExp(`^${f}: `)));
  assert.match(up[0]!, /no trace replay/);
  assert.match(up[1]!, /per packet/);
  assert.deepEqual(netemUnsupported(p.downlink).map((m) => m.split(':')[0]), ['reorder_pct with rate_bps']);
  const msg = netemUnsupportedProfile(p)!;
  assert.match(msg, /^UNSUPPORTED on netem: uplink: trace: /);
  assert.match(msg, /downlink: reorder_pct with rate_bps/);
});

test('rate + limit: limit = queue + rate x delay in MTU packets', () => {
  const a = netemArgs(link({ delayMs: 25, rateBps: 20e6, queuePackets: 100 }));
  // 20e6 * 25 ms / 8 / 1500 = 41.67 -> 42
  assert.deepEqual(a, ['limit', '142', 'delay', '25ms', 'rate', '20000000bit']);
  // the profile's default queue (2 x BDP of the 50 ms path = 168) passes straight through
  const p = parseProfile({ delay_ms: 25, rate_bps: '20mbit' });
  assert.equal(p.uplink.queuePackets, 168);
  assert.deepEqual(netemArgs(p.uplink), ['limit', '210', 'delay', '25ms', 'rate', '20000000bit']);
});

test('fractional delays are given in microseconds; seed only when asked', () => {
  assert.deepEqual(netemArgs(link({ delayMs: 0.5, queuePackets: 10 }), { seed: 7 }), ['limit', '52', 'delay', '500us', 'seed', '7']);
  assert.notEqual(directionSeed(3, 'uplink'), directionSeed(3, 'downlink'));
});

test('qdisc argv: add vs change (change clears a rate explicitly)', () => {
  assert.deepEqual(netemQdiscArgv('add', 'to-server', link()), ['qdisc', 'add', 'dev', 'to-server', 'root', 'netem', 'limit', '2667', 'delay', '20ms']);
  assert.deepEqual(netemQdiscArgv('change', 'to-client', link()).slice(-4), ['rate', '0bit', 'reorder', '0%']);
  assert.deepEqual(netemQdiscArgv('change', 'to-client', link({ rateBps: 1e6 })).slice(-4), ['rate', '1000000bit', 'reorder', '0%']);
  assert.ok(!netemQdiscArgv('add', 'to-client', link()).includes('reorder'), 'add names reorder only when asked');
});

test('normal -> uniform jitter needs delete + add', () => {
  assert.equal(needsReAdd(link({ jitterMs: 2, jitterDist: 'normal' }), link({ jitterMs: 2 })), true);
  assert.equal(needsReAdd(link({ jitterMs: 2, jitterDist: 'normal' }), link({ jitterMs: 0 })), false);
  assert.equal(needsReAdd(link({ jitterMs: 2 }), link({ jitterMs: 2, jitterDist: 'normal' })), false);
});

test('parseQdiscStats reads `tc -s -j qdisc show` output', () => {
  const out = JSON.stringify([
    { kind: 'netem', handle: '8001:', root: true, refcnt: 2, options: { limit: 2667 }, bytes: 12345, packets: 90, drops: 10, overlimits: 0, requeues: 0, backlog: 128, qlen: 2 },
  ]);
  assert.deepEqual(parseQdiscStats(out), { sent: 90, drops: 10, qlen: 2 });
  assert.equal(parseQdiscStats('[{"kind":"noqueue","handle":"0:","root":true}]'), null);
  assert.equal(parseQdiscStats('not json'), null);
});

test('netemAvailable answers without throwing and leaves no namespace', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const a = await netemAvailable();
  assert.equal(typeof a.ok, 'boolean');
  assert.ok(a.reason.length > 0);
  t.diagnostic(`netemAvailable: ${JSON.stringify(a)}`);
  const { run } = await import('../../proc/exec.ts');
  const ns = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!ns.includes(`holbench-np${process.pid}-r`));
});

test('reseed: a change to the installed settings plus the direction seed (2s up, 2s+1 down)', () => {
  const installed = link({ jitterMs: 2, jitterDist: 'normal', loss: { kind: 'ge', p: 0.01, r: 0.2, oneMinusH: 1, oneMinusK: 0 } });
  const up = netemReseedArgv('to-server', installed, 21, 'uplink');
  const down = netemReseedArgv('to-client', installed, 21, 'downlink');
  // the loss model is re-sent, so the kernel also resets the GE state to good
  assert.deepEqual(up.slice(0, 6), ['qdisc', 'change', 'dev', 'to-server', 'root', 'netem']);
  assert.ok(up.join(' ').includes('loss gemodel 1% 20% 100% 0%'), up.join(' '));
  const seedOf = (a: string[]) => a[a.indexOf('seed') + 1];
  assert.equal(seedOf(up), '42');
  assert.equal(seedOf(down), '43');
  // nothing but the seed differs from an ordinary change of the same settings
  const withoutSeed = (a: string[]) => a.filter((_, i) => i !== a.indexOf('seed') && i !== a.indexOf('seed') + 1);
  assert.deepEqual(withoutSeed(up), netemQdiscArgv('change', 'to-server', installed));
  assert.throws(() => netemReseedArgv('to-server', installed, -1, 'uplink'), RangeError);
  assert.throws(() => netemReseedArgv('to-server', installed, 2 ** 31, 'uplink'), RangeError);
});

test('reseed: the seed the kernel echoes is read from `tc -j qdisc show`', () => {
  const withSeed = JSON.stringify([{ kind: 'netem', handle: '8001:', root: true, options: { limit: 1000, seed: 43, delay: { delay: 0.02 } } }]);
  assert.equal(parseQdiscSeed(withSeed), 43);
  // an older kernel does not dump TCA_NETEM_PRNG_SEED: no seed, so reseed() reports exact: false
  assert.equal(parseQdiscSeed(JSON.stringify([{ kind: 'netem', root: true, options: { limit: 1000 } }])), null);
  assert.equal(parseQdiscSeed('[{"kind":"noqueue","root":true}]'), null);
  assert.equal(parseQdiscSeed('garbage'), null);
});

test('reseed without seed support: exact false, and the note says why', () => {
  const note = seedUnsupportedNote('tc utility, iproute2-6.1.0, libbpf 1.1.2\n');
  assert.match(note, /^netem: not paired: tc utility, iproute2-6\.1\.0, libbpf 1\.1\.2 has no netem "seed" option/);
  assert.match(seedUnsupportedNote(''), /this tc has no netem "seed"/);
});

test('reseed before apply() or with a bad seed rejects without running tc', async () => {
  // a topology whose namespace does not exist: any tc call would fail differently
  const topo = { ns: { router: 'holbench-none-r' }, egress: { uplink: 'to-server', downlink: 'to-client' } } as unknown as Topology;
  const b = createNetemBackend(topo);
  await assert.rejects(b.reseed(5), /reseed\(\) before apply\(\)/);
  await assert.rejects(b.reseed(-5), RangeError);
});
